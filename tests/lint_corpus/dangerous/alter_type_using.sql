ALTER TABLE tickets ALTER COLUMN priority TYPE integer USING priority::integer;
