-- migrate:up
CREATE TABLE orders (
    order_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id   uuid   NOT NULL REFERENCES table_sessions (session_id) ON DELETE CASCADE,
    table_id     bigint NOT NULL REFERENCES tables (table_id) ON DELETE CASCADE,
    store_id     bigint NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    order_time   timestamptz NOT NULL DEFAULT now(),
    total_amount integer NOT NULL CHECK (total_amount > 0),
    status       varchar(20) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'preparing', 'done'))
);
CREATE INDEX idx_orders_session_id ON orders (session_id);
CREATE INDEX idx_orders_table_id ON orders (table_id);
CREATE INDEX idx_orders_store_id ON orders (store_id);

CREATE TABLE order_items (
    order_item_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id      bigint NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    menu_id       bigint NOT NULL REFERENCES menus (menu_id) ON DELETE CASCADE,
    quantity      integer NOT NULL CHECK (quantity > 0),
    unit_price    integer NOT NULL CHECK (unit_price > 0)
);
CREATE INDEX idx_order_items_order_id ON order_items (order_id);

CREATE TABLE order_history (
    history_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id          uuid   NOT NULL,
    table_id            bigint NOT NULL,
    store_id            bigint NOT NULL,
    completed_time      timestamptz NOT NULL DEFAULT now(),
    archived_order_data jsonb  NOT NULL
);
CREATE INDEX idx_order_history_store_id ON order_history (store_id);

-- migrate:down
DROP TABLE order_history;
DROP TABLE order_items;
DROP TABLE orders;
