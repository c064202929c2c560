-- migrate:up
ALTER TABLE person ALTER COLUMN display_name TYPE varchar(50);
