-- broadcast.Log leases: the run holding each broadcast ('' for none) and
-- when its lease ends, in milliseconds since the epoch on SQLite's clock.
ALTER TABLE broadcast_runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE broadcast_runs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
