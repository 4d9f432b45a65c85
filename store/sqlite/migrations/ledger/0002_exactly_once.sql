-- payments.Ledger, issue 16's contract: order references (indexed; one-time
-- orders bound to their first charge in miniappkit_payment_orders, with
-- pre-checkout reservations), shipping details, duplicates, refunds waiting
-- for a fulfilment, and the indexes Pending, ByOrder and Since read.
ALTER TABLE miniappkit_payments ADD COLUMN order_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE miniappkit_payments ADD COLUMN shipping_option_id TEXT NOT NULL DEFAULT '';
ALTER TABLE miniappkit_payments ADD COLUMN order_info TEXT;
ALTER TABLE miniappkit_payments ADD COLUMN duplicate_of TEXT NOT NULL DEFAULT '';
ALTER TABLE miniappkit_payments ADD COLUMN refund_requested INTEGER NOT NULL DEFAULT 0;
UPDATE miniappkit_payments SET paid_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000 WHERE paid_at IS NULL;
CREATE INDEX miniappkit_payments_order_ref ON miniappkit_payments (order_ref, seq) WHERE order_ref <> '';
CREATE INDEX miniappkit_payments_pending ON miniappkit_payments (seq)
	WHERE state = 1 OR (state = 3 AND fulfilled_at IS NOT NULL AND refund_hook_done_at IS NULL);
CREATE INDEX miniappkit_payments_paid_at ON miniappkit_payments (paid_at);
CREATE TABLE miniappkit_payment_orders (
	order_ref      TEXT PRIMARY KEY,
	charge_id      TEXT,    -- the charge that paid the order; NULL while unpaid
	holder         TEXT,    -- the pre-checkout query holding the reservation
	reserved_until INTEGER  -- Unix nanoseconds
) WITHOUT ROWID;
