-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY orders_recent_idx ON orders (created_at)
  WHERE created_at > CURRENT_DATE - 30;
