-- migrate:up
CREATE TABLE accounts (id bigint PRIMARY KEY, password_hash text);
