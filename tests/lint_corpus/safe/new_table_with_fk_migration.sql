-- migrate:up
CREATE TABLE order_notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE order_notes ADD CONSTRAINT order_notes_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
CREATE INDEX order_notes_order_id_idx ON order_notes (order_id);

-- migrate:down
DROP TABLE order_notes;
