-- migrate:up
VACUUM ANALYZE orders;
