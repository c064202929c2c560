CREATE INDEX CONCURRENTLY orders_open_idx ON orders (created_at) WHERE status = 'open' AND created_at > '2025-01-01';
