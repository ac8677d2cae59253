DROP TABLE IF EXISTS order_items;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS products;
DROP TABLE IF EXISTS customers;

CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  city        TEXT,
  signup_date DATE NOT NULL
);

CREATE TABLE products (
  product_id INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  category   TEXT NOT NULL,
  price      NUMERIC(8, 2) NOT NULL
);

CREATE TABLE orders (
  order_id    INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL
              REFERENCES customers (customer_id),
  order_date  DATE NOT NULL,
  status      TEXT NOT NULL
);

CREATE TABLE order_items (
  order_id   INTEGER NOT NULL REFERENCES orders (order_id),
  product_id INTEGER NOT NULL
             REFERENCES products (product_id),
  quantity   INTEGER NOT NULL,
  unit_price NUMERIC(8, 2) NOT NULL,
  PRIMARY KEY (order_id, product_id)
);

INSERT INTO customers VALUES
  (1, 'Ana Silva',    'Lisbon',     '2025-11-03'),
  (2, 'Ben Okafor',   'London',     '2025-12-15'),
  (3, 'Chloe Martin', 'Paris',      '2026-01-08'),
  (4, 'Dev Patel',    'London',     '2026-01-20'),
  (5, 'Elena Rossi',  'Milan',      '2026-02-02'),
  (6, 'Farah Haddad', NULL,         '2026-02-14'),
  (7, 'Gus Jensen',   'Copenhagen', '2026-03-01'),
  (8, 'Hana Sato',    'Paris',      '2026-03-10');

INSERT INTO products VALUES
  (1, 'Monstera',        'Plants',   24.00),
  (2, 'Snake Plant',     'Plants',   18.50),
  (3, 'Pothos',          'Plants',   12.00),
  (4, 'Fiddle Leaf Fig', 'Plants',   35.00),
  (5, 'Ceramic Pot',     'Pots',     15.00),
  (6, 'Terracotta Pot',  'Pots',      9.50),
  (7, 'Potting Mix',     'Supplies',  8.00),
  (8, 'Plant Mister',    'Supplies', 11.00);

INSERT INTO orders VALUES
  (101, 1, '2026-01-05', 'delivered'),
  (102, 2, '2026-01-12', 'delivered'),
  (103, 1, '2026-01-28', 'delivered'),
  (104, 3, '2026-02-03', 'delivered'),
  (105, 4, '2026-02-10', 'cancelled'),
  (106, 2, '2026-02-18', 'delivered'),
  (107, 5, '2026-02-25', 'delivered'),
  (108, 6, '2026-03-02', 'delivered'),
  (109, 3, '2026-03-09', 'delivered'),
  (110, 7, '2026-03-15', 'shipped'),
  (111, 1, '2026-03-20', 'shipped'),
  (112, 4, '2026-03-28', 'delivered');

INSERT INTO order_items VALUES
  (101, 1, 1, 24.00), (101, 5, 1, 15.00),
  (102, 2, 2, 18.50),
  (103, 3, 3, 12.00), (103, 7, 2,  8.00),
  (104, 4, 1, 35.00), (104, 5, 1, 15.00),
  (105, 1, 1, 24.00),
  (106, 6, 3,  9.50), (106, 7, 1,  8.00),
  (107, 1, 1, 24.00), (107, 2, 1, 18.50),
  (107, 6, 2,  9.50),
  (108, 3, 1, 12.00),
  (109, 2, 2, 18.50), (109, 5, 2, 15.00),
  (110, 4, 1, 35.00),
  (111, 1, 2, 22.00),
  (112, 3, 4, 12.00), (112, 6, 4,  9.50);
