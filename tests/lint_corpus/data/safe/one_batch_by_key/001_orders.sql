-- migrate:up
CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL);
INSERT INTO orders SELECT g, 'open' FROM generate_series(1, 60000) g;
