-- migrate:up
ALTER TABLE users ADD COLUMN country text;
UPDATE users SET country = 'unknown' WHERE country IS NULL;

-- migrate:down
ALTER TABLE users DROP COLUMN country;
