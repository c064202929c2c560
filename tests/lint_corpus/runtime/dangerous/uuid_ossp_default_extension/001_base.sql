-- migrate:up
CREATE TABLE api_keys (id bigint PRIMARY KEY);
