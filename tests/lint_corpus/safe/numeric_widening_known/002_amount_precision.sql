-- migrate:up
ALTER TABLE payments ALTER COLUMN amount TYPE numeric(14,2);
