-- migrate:up
CREATE TABLE audit_events (event_id bigint PRIMARY KEY, kind text, payload text);
INSERT INTO audit_events SELECT g, 'login', repeat('x', 200) FROM generate_series(1, 40000) g;
