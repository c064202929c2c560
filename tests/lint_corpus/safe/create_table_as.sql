CREATE TABLE orders_2019_archive AS SELECT * FROM orders WHERE created_at < '2020-01-01';
