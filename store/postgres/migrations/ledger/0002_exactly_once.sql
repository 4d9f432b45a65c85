-- payments.Ledger, issue 16's contract: order references (indexed; one-time
-- orders bound to their first charge in payment_orders, with pre-checkout
-- reservations), shipping details, duplicates, refunds waiting for a
-- fulfilment, and the indexes Pending, ByOrder and Since read.
ALTER TABLE {schema}.payments
	ADD COLUMN order_ref          text    NOT NULL DEFAULT '',
	ADD COLUMN shipping_option_id text    NOT NULL DEFAULT '',
	ADD COLUMN order_info         jsonb,
	ADD COLUMN duplicate_of       text    NOT NULL DEFAULT '',
	ADD COLUMN refund_requested   boolean NOT NULL DEFAULT false;
UPDATE {schema}.payments SET paid_at = now() WHERE paid_at IS NULL;
ALTER TABLE {schema}.payments ALTER COLUMN paid_at SET NOT NULL;
CREATE INDEX payments_order_ref ON {schema}.payments (order_ref, seq) WHERE order_ref <> '';
CREATE INDEX payments_pending ON {schema}.payments (seq)
	WHERE state = 1 OR (state = 3 AND fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL);
CREATE INDEX payments_paid_at ON {schema}.payments (paid_at);
CREATE TABLE {schema}.payment_orders (
	order_ref      text PRIMARY KEY,
	charge_id      text,        -- the charge that paid the order; NULL while unpaid
	holder         text,        -- the pre-checkout query holding the reservation
	reserved_until timestamptz
);
