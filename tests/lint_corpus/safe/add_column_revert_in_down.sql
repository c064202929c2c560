-- migrate:up
ALTER TABLE users ADD COLUMN phone text;
ALTER TABLE users ADD COLUMN phone_verified_at timestamptz;

-- migrate:down
ALTER TABLE users DROP COLUMN phone_verified_at;
ALTER TABLE users DROP COLUMN phone;
