BEGIN;

-- Running upgrade 1a2b3c4d5e6f -> 3c4d5e6f7a8b

ALTER TABLE users ADD COLUMN nickname VARCHAR(50);

UPDATE alembic_version SET version_num='3c4d5e6f7a8b' WHERE alembic_version.version_num = '1a2b3c4d5e6f';

COMMIT;
