-- migrate:up
CREATE TABLE audit_logs_2026 PARTITION OF audit_logs FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
-- migrate:down
DROP TABLE audit_logs_2026;
