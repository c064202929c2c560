-- migrate:up
CREATE TABLE person (id bigint PRIMARY KEY, display_name varchar(255));
