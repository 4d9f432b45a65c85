-- broadcast.Log: one row per broadcast (its chat list's fingerprint) and
-- one per entry in flight (outcome 0) or finished (its broadcast.Outcome).
CREATE TABLE {schema}.broadcast_runs (
	id   text PRIMARY KEY,
	list text NOT NULL
);
CREATE TABLE {schema}.broadcast_entries (
	id      text     NOT NULL,
	idx     integer  NOT NULL,
	outcome smallint NOT NULL,
	PRIMARY KEY (id, idx)
);
