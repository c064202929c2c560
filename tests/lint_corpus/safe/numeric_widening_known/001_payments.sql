-- migrate:up
CREATE TABLE payments (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL);
