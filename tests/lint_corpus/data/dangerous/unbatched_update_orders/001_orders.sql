-- migrate:up
CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, created_at date NOT NULL);
INSERT INTO orders SELECT g, 'open', DATE '2024-01-01' + g % 700 FROM generate_series(1, 60000) g;
