-- migrate:up
CREATE TABLE products (id bigint PRIMARY KEY, description varchar(500));
