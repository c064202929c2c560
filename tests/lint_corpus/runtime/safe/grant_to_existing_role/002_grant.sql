-- migrate:up
DO $$ BEGIN CREATE ROLE report_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT SELECT ON reports TO report_reader;
