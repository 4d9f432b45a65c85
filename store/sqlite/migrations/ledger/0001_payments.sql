-- payments.Ledger: one row per charge; seq keeps record order.
-- Times are Unix nanoseconds, NULL when zero.
CREATE TABLE miniappkit_payments (
	seq                     INTEGER PRIMARY KEY AUTOINCREMENT,
	charge_id               TEXT    NOT NULL UNIQUE,
	provider_charge_id      TEXT    NOT NULL DEFAULT '',
	user_id                 INTEGER NOT NULL DEFAULT 0,
	currency                TEXT    NOT NULL DEFAULT '',
	amount                  INTEGER NOT NULL DEFAULT 0,
	payload                 TEXT    NOT NULL DEFAULT '',
	is_recurring            INTEGER NOT NULL DEFAULT 0,
	is_first_recurring      INTEGER NOT NULL DEFAULT 0,
	subscription_expiration INTEGER,
	state                   INTEGER NOT NULL,
	paid_at                 INTEGER,
	fulfilled_at            INTEGER,
	refunded_at             INTEGER,
	refund_hook_done_at     INTEGER,
	claim_until             INTEGER,
	claim_owner             TEXT
);
