-- migrate:up
UPDATE orders SET status = 'archived' WHERE created_at < '2025-06-01';
