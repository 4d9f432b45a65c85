-- broadcast.Log: one row per broadcast (its chat list's fingerprint) and
-- one per entry in flight (outcome 0) or finished (its broadcast.Outcome).
CREATE TABLE broadcast_runs (
	id   TEXT PRIMARY KEY,
	list TEXT NOT NULL
);
CREATE TABLE broadcast_entries (
	id      TEXT    NOT NULL,
	idx     INTEGER NOT NULL,
	outcome INTEGER NOT NULL,
	PRIMARY KEY (id, idx)
) WITHOUT ROWID;
