-- migrate:up
ALTER TABLE tokens ALTER COLUMN id TYPE varchar(36);
