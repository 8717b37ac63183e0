-- LoRA Lab text-to-SQL task: a small retail and personal-finance database.
CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  segment TEXT NOT NULL,          -- consumer, corporate, small business
  signup_date TEXT NOT NULL       -- YYYY-MM-DD
);
CREATE TABLE products (
  product_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  category TEXT NOT NULL,         -- electronics, grocery, apparel, home, toys
  price REAL NOT NULL,
  supplier TEXT NOT NULL
);
CREATE TABLE stores (
  store_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  region TEXT NOT NULL            -- north, south, east, west
);
CREATE TABLE orders (
  order_id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
  store_id INTEGER NOT NULL REFERENCES stores(store_id),
  order_date TEXT NOT NULL,
  status TEXT NOT NULL,           -- shipped, delivered, cancelled, returned
  channel TEXT NOT NULL           -- online, in-store
);
CREATE TABLE order_items (
  order_id INTEGER NOT NULL REFERENCES orders(order_id),
  product_id INTEGER NOT NULL REFERENCES products(product_id),
  quantity INTEGER NOT NULL,
  unit_price REAL NOT NULL
);
CREATE TABLE accounts (
  account_id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
  type TEXT NOT NULL,             -- checking, savings, credit
  balance REAL NOT NULL
);
CREATE TABLE transactions (
  transaction_id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(account_id),
  tx_date TEXT NOT NULL,
  amount REAL NOT NULL,           -- negative = money out
  category TEXT NOT NULL,         -- groceries, rent, salary, travel, utilities, dining, transfer
  merchant TEXT NOT NULL
);
