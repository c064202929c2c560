BEGIN;
SET LOCAL lock_timeout = '3s';
CREATE INDEX CONCURRENTLY idx_events_user ON events (user_id);
COMMIT;
