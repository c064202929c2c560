-- migrate:up
CREATE TABLE orders (id bigint PRIMARY KEY, total integer);
CREATE TABLE orders_archive (id bigint PRIMARY KEY, total integer);
INSERT INTO orders SELECT g, g FROM generate_series(1, 50000) g;
