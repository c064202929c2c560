ALTER TABLE accounts ADD COLUMN slug text UNIQUE;
