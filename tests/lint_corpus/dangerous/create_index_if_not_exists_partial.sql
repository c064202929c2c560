CREATE INDEX IF NOT EXISTS idx_jobs_pending ON jobs (created_at) WHERE status = 'pending';
