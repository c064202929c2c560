ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_legacy_check;
