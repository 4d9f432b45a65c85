-- payments.Ledger: one row per charge; seq keeps record order.
CREATE TABLE {schema}.payments (
	seq                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	charge_id               text        NOT NULL UNIQUE,
	provider_charge_id      text        NOT NULL DEFAULT '',
	user_id                 bigint      NOT NULL DEFAULT 0,
	currency                text        NOT NULL DEFAULT '',
	amount                  bigint      NOT NULL DEFAULT 0,
	payload                 text        NOT NULL DEFAULT '',
	is_recurring            boolean     NOT NULL DEFAULT false,
	is_first_recurring      boolean     NOT NULL DEFAULT false,
	subscription_expiration timestamptz,
	state                   smallint    NOT NULL,
	paid_at                 timestamptz,
	fulfilled_at            timestamptz,
	refunded_at             timestamptz,
	refund_hook_done_at     timestamptz,
	claim_until             timestamptz,
	claim_owner             text
);
