-- migrate:up
ALTER TABLE invoices ADD COLUMN paid_at timestamptz;
CREATE INDEX invoices_paid_at_idx ON invoices (paid_at);

-- migrate:down
DROP INDEX invoices_paid_at_idx;
ALTER TABLE invoices DROP COLUMN paid_at;
