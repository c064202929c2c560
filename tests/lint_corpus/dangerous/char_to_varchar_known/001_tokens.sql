-- migrate:up
CREATE TABLE tokens (id char(36) PRIMARY KEY, owner text);
