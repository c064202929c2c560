-- ids are running out
ALTER TABLE orders ALTER COLUMN id TYPE bigint;
