-- migrate:up
INSERT INTO orders_archive (id, total) SELECT o.id, o.total FROM orders o WHERE o.total > 100;
