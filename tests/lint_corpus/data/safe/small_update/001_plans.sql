-- migrate:up
CREATE TABLE plans (id bigint PRIMARY KEY, name text);
INSERT INTO plans SELECT g, 'p' || g FROM generate_series(1, 200) g;
