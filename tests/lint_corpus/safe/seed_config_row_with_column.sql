-- migrate:up
ALTER TABLE feature_flags ADD COLUMN description text;
UPDATE settings SET value = 'on' WHERE key = 'new_checkout';
