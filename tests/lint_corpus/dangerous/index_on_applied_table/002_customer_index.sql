-- migrate:up
CREATE INDEX orders_customer_idx ON orders (customer_id);
-- migrate:down
DROP INDEX orders_customer_idx;
