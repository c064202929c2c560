-- migrate:up
CREATE ROLE audit_writer NOLOGIN;
GRANT INSERT ON audit_trail TO audit_writer;
