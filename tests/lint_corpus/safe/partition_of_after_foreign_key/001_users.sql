-- migrate:up
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE audit_logs (id bigint GENERATED ALWAYS AS IDENTITY, user_id bigint, created_at timestamptz NOT NULL,
  PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
