-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
