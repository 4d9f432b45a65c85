-- webhook.Store: one row per key in flight (state 1) or done (state 2);
-- expires_at (Unix milliseconds on SQLite's clock) is the lease's end or
-- the TTL's. A row past expires_at counts as absent.
CREATE TABLE miniappkit_webhook_keys (
	key        TEXT    PRIMARY KEY,
	state      INTEGER NOT NULL,
	owner      TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	data       BLOB
) WITHOUT ROWID;
