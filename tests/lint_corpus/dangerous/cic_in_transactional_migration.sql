-- migrate:up
CREATE INDEX CONCURRENTLY idx_payments_invoice ON payments (invoice_id);

-- migrate:down
DROP INDEX CONCURRENTLY idx_payments_invoice;
