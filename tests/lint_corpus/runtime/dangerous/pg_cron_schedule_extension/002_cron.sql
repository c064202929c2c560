-- migrate:up
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.schedule('purge-sessions', '0 3 * * *', $$DELETE FROM sessions WHERE expires_at < now()$$);
