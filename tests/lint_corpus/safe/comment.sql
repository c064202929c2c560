COMMENT ON COLUMN users.email IS 'login address, lower-cased';
