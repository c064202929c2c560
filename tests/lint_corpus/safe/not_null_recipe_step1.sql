-- migrate:up
ALTER TABLE users ADD CONSTRAINT users_phone_not_null CHECK (phone IS NOT NULL) NOT VALID;

-- migrate:down
ALTER TABLE users DROP CONSTRAINT users_phone_not_null;
