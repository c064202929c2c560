-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_phone_idx ON users (phone);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS users_phone_idx;
