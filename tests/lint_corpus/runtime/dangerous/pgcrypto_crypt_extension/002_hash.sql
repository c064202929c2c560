-- migrate:up
CREATE EXTENSION IF NOT EXISTS pgcrypto;
UPDATE accounts SET password_hash = crypt('changeme', gen_salt('bf')) WHERE id = 1;
