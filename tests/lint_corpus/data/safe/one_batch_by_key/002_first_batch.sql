-- migrate:up
UPDATE orders SET status = 'archived' WHERE id BETWEEN 1 AND 5000;
