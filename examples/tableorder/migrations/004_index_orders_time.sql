-- Orders are listed by time on the kitchen screen; build the index without blocking writes.
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_time ON orders (order_time);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_order_history_time ON order_history (completed_time);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS idx_order_history_time;
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_time;
