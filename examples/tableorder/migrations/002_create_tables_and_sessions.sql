-- migrate:up
CREATE TABLE tables (
    table_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id            bigint NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    table_number        integer NOT NULL,
    table_password_hash varchar(255) NOT NULL,
    current_session_id  uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (store_id, table_number)
);
CREATE INDEX idx_tables_store_id ON tables (store_id);

CREATE TABLE table_sessions (
    session_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    table_id   bigint NOT NULL REFERENCES tables (table_id) ON DELETE CASCADE,
    start_time timestamptz NOT NULL DEFAULT now(),
    end_time   timestamptz,
    is_active  boolean NOT NULL DEFAULT true
);
CREATE INDEX idx_table_sessions_table_id ON table_sessions (table_id);
CREATE INDEX idx_table_sessions_active ON table_sessions (is_active) WHERE is_active;

-- A new active session becomes the table's current session.
CREATE FUNCTION update_table_current_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.is_active THEN
        UPDATE tables SET current_session_id = NEW.session_id WHERE table_id = NEW.table_id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_update_table_session
    AFTER INSERT ON table_sessions
    FOR EACH ROW EXECUTE FUNCTION update_table_current_session();

-- migrate:down
DROP TRIGGER trg_update_table_session ON table_sessions;
DROP FUNCTION update_table_current_session();
DROP TABLE table_sessions;
DROP TABLE tables;
