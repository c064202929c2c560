-- migrate:up
CREATE TABLE people (id bigint PRIMARY KEY, updated_at timestamptz);
