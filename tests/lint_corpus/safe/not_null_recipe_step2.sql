ALTER TABLE users VALIDATE CONSTRAINT users_phone_not_null;
ALTER TABLE users ALTER COLUMN phone SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_phone_not_null;
