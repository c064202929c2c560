-- migrate:up
CREATE TABLE blobs (id bigint PRIMARY KEY, body bytea);
