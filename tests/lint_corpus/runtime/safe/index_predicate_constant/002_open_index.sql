-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY orders_open_idx ON orders (created_at) WHERE status = 'open';
