BEGIN;

-- Running upgrade 8e -> 9f

ALTER TABLE orders ADD COLUMN currency VARCHAR(3);

UPDATE orders SET currency = 'USD' WHERE currency IS NULL;

UPDATE alembic_version SET version_num='9f' WHERE alembic_version.version_num = '8e';

COMMIT;
