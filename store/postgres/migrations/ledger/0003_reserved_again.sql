-- payments.Ledger: the holder that reserved an order again while holding it
-- (its pre_checkout_query delivered again, maybe after an ok answer that
-- landed); ReleaseReservation by that holder changes nothing, so the
-- reservation ends with its ttl. NULL for a holder that reserved it once.
ALTER TABLE {schema}.payment_orders ADD COLUMN reserved_again_by text;
