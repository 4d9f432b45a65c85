-- webhook.Queue: one row per queued update of a named queue. state 0 is
-- ready (or popped, until visible_at: the pop lease) and 1 dead. token
-- names the current pop, so a worker whose lease passed changes nothing.
CREATE TABLE {schema}.webhook_queue (
	queue      text        NOT NULL,
	id         bigint      NOT NULL,
	body       bytea       NOT NULL,
	attempt    integer     NOT NULL DEFAULT 1,
	state      smallint    NOT NULL DEFAULT 0,
	visible_at timestamptz NOT NULL DEFAULT now(),
	token      text,
	reason     text,
	buried_at  timestamptz,
	PRIMARY KEY (queue, id)
);
CREATE INDEX webhook_queue_ready ON {schema}.webhook_queue (queue, visible_at) WHERE state = 0;
CREATE INDEX webhook_queue_dead ON {schema}.webhook_queue (queue, buried_at) WHERE state = 1;
