-- broadcast.Log leases: the run holding each broadcast ('' for none) and
-- when its lease ends, on the server's clock.
ALTER TABLE {schema}.broadcast_runs
	ADD COLUMN owner       text        NOT NULL DEFAULT '',
	ADD COLUMN lease_until timestamptz NOT NULL DEFAULT '-infinity';
