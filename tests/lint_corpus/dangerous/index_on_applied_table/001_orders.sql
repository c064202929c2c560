-- migrate:up
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total_cents integer);
