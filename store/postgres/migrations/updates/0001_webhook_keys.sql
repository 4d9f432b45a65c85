-- webhook.Store: one row per key in flight (state 1) or done (state 2);
-- expires_at (on the server's clock) is the lease's end or the TTL's. A
-- row past expires_at counts as absent.
CREATE TABLE {schema}.webhook_keys (
	key        text        PRIMARY KEY,
	state      smallint    NOT NULL,
	owner      text        NOT NULL,
	expires_at timestamptz NOT NULL,
	data       bytea
);
