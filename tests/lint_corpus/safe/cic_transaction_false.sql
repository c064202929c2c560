-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY idx_orders_created_at ON orders (created_at);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_created_at;
