-- migrate:up
CREATE TABLE orders (id bigint PRIMARY KEY, status text, created_at date NOT NULL);
