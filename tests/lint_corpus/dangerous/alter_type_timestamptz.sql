ALTER TABLE sessions ALTER COLUMN created_at TYPE timestamptz;
