-- migrate:up
UPDATE plans SET name = upper(name) WHERE id < 50;
