-- migrate:up
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
