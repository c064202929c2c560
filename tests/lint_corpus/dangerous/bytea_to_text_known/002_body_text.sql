-- migrate:up
ALTER TABLE blobs ALTER COLUMN body TYPE text;
