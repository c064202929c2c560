-- migrate:up
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey;
