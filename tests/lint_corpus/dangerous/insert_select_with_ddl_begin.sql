BEGIN;
ALTER TABLE orders ADD COLUMN archived boolean;
INSERT INTO orders_archive SELECT * FROM orders WHERE created_at < '2020-01-01';
COMMIT;
