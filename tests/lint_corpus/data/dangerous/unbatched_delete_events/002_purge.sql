-- migrate:up
DELETE FROM audit_events WHERE kind = 'login';
