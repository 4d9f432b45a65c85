-- webhook.Queue: one row per queued update of a named queue. state 0 is
-- ready (or popped, until visible_at, Unix milliseconds on SQLite's clock:
-- the pop lease) and 1 dead. token names the current pop, so a worker
-- whose lease passed changes nothing.
CREATE TABLE miniappkit_webhook_queue (
	queue      TEXT    NOT NULL,
	id         INTEGER NOT NULL,
	body       BLOB    NOT NULL,
	attempt    INTEGER NOT NULL DEFAULT 1,
	state      INTEGER NOT NULL DEFAULT 0,
	visible_at INTEGER NOT NULL,
	token      TEXT,
	reason     TEXT,
	buried_at  INTEGER,
	PRIMARY KEY (queue, id)
) WITHOUT ROWID;
CREATE INDEX miniappkit_webhook_queue_ready ON miniappkit_webhook_queue (queue, state, visible_at);
