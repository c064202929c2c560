-- migrate:up transaction:false
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_slug_key ON accounts (slug);

-- migrate:down
DROP INDEX IF EXISTS accounts_slug_key;
