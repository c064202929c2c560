-- migrate:up
CREATE TABLE audit_trail (id bigint PRIMARY KEY, what text);
