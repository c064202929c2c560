-- migrate:up
CREATE TABLE stores (
    store_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_name          varchar(100) NOT NULL,
    admin_username      varchar(50)  NOT NULL UNIQUE,
    admin_password_hash varchar(255) NOT NULL,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE categories (
    category_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id      bigint NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    category_name varchar(50) NOT NULL,
    display_order integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (store_id, category_name)
);
CREATE INDEX idx_categories_store_id ON categories (store_id);

CREATE TABLE menus (
    menu_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id      bigint NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    category_id   bigint NOT NULL REFERENCES categories (category_id) ON DELETE CASCADE,
    menu_name     varchar(100) NOT NULL,
    price         integer NOT NULL CHECK (price > 0),
    description   text,
    display_order integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_menus_store_id ON menus (store_id);
CREATE INDEX idx_menus_category_id ON menus (category_id);

-- migrate:down
DROP TABLE menus;
DROP TABLE categories;
DROP TABLE stores;
