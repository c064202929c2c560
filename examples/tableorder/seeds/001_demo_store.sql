-- A store with a few menus and tables, for local development.
INSERT INTO stores (store_name, admin_username, admin_password_hash)
VALUES ('Demo Bistro', 'demo_admin', 'not-a-real-hash');

INSERT INTO categories (store_id, category_name, display_order)
SELECT store_id, c.name, c.ord FROM stores, (VALUES ('Mains', 1), ('Drinks', 2)) AS c(name, ord)
WHERE admin_username = 'demo_admin';

INSERT INTO menus (store_id, category_id, menu_name, price)
SELECT c.store_id, c.category_id, m.name, m.price
FROM categories c JOIN (VALUES ('Mains', 'Bibimbap', 12000), ('Mains', 'Bulgogi', 15000),
                               ('Drinks', 'Barley tea', 2000)) AS m(category, name, price)
  ON m.category = c.category_name;

INSERT INTO tables (store_id, table_number, table_password_hash)
SELECT store_id, n, 'not-a-real-hash' FROM stores, generate_series(1, 8) AS n
WHERE admin_username = 'demo_admin';
