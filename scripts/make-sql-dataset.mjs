// Writes datasets/sql/: a retail/finance SQLite schema with seeded rows (schema.sql, data.sql) and natural-language
// questions paired with SQL from templates (train/valid/test JSONL). Every split is decided by a hash of the SQL, so
// no test SQL (and hence no test question) appears in training. Run: npm run build && node scripts/make-sql-dataset.mjs [out-dir]
// (out-dir defaults to datasets/sql/; another folder lets a check compare the output with the shipped files).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  ACCOUNT_TYPES, CATEGORIES, CHANNELS, CITIES, MERCHANTS, REGIONS, SEGMENTS, STATUSES, SUPPLIERS, TX_CATEGORIES, YEARS, shippedTaskRows, sqlString, taskRowsToSql,
} from '../lib/dist/sql/taskRows.js';

const out = process.argv[2] ? `${process.argv[2].replace(/\/$/, '')}/` : new URL('../datasets/sql/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const pad = (n) => String(n).padStart(2, '0');
const q = (s) => sqlString(String(s));

// ---------------------------------------------------------------- schema and rows
const SCHEMA = `-- LoRA Lab text-to-SQL task: a small retail and personal-finance database.
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
`;

// The rows come from the task's one generator (lib/src/sql/taskRows.ts), which the grader's test suite also uses to
// re-draw variants of this database; the questions below continue from the same Rng.
const { rows, rng } = shippedTaskRows();
const data = taskRowsToSql(rows);
const pick = (xs) => xs[Math.floor(rng.next() * xs.length)];
const int = (a, b) => a + Math.floor(rng.next() * (b - a + 1));
writeFileSync(`${out}schema.sql`, SCHEMA);
writeFileSync(`${out}data.sql`, data);

// ---------------------------------------------------------------- questions and SQL
// Each template: slots -> [paraphrases of the question], sql. Slots are filled from the values above.
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const cap = (s) => s[0].toUpperCase() + s.slice(1);
const templates = [
  () => { const c = pick(CITIES); return [[`List the names of customers in ${c}.`, `Which customers live in ${c}? Give their names.`, `Show the names of all customers from ${c}.`], `SELECT name FROM customers WHERE city = ${q(c)};`]; },
  () => { const c = pick(CITIES); return [[`How many customers are in ${c}?`, `Count the customers located in ${c}.`, `What is the number of customers from ${c}?`], `SELECT COUNT(*) FROM customers WHERE city = ${q(c)};`]; },
  () => { const s = pick(SEGMENTS); return [[`How many ${s} customers are there?`, `Count customers in the ${s} segment.`], `SELECT COUNT(*) FROM customers WHERE segment = ${q(s)};`]; },
  () => { const k = pick(CATEGORIES); return [[`List all ${k} products and their prices.`, `Show the name and price of every product in ${k}.`, `What ${k} products do we sell, with prices?`], `SELECT name, price FROM products WHERE category = ${q(k)};`]; },
  () => { const k = pick(CATEGORIES); return [[`What is the average price of ${k} products?`, `Give the mean price in the ${k} category.`], `SELECT AVG(price) FROM products WHERE category = ${q(k)};`]; },
  () => { const k = pick(CATEGORIES); const n = pick([3, 5]); return [[`What are the ${n} most expensive ${k} products?`, `Show the top ${n} ${k} products by price.`], `SELECT name, price FROM products WHERE category = ${q(k)} ORDER BY price DESC LIMIT ${n};`]; },
  () => { const p = pick([20, 50, 100, 200]); return [[`Which products cost more than ${p}?`, `List products priced above ${p}.`, `Show products with a price over ${p}.`], `SELECT name FROM products WHERE price > ${p};`]; },
  () => { const s = pick(SUPPLIERS); return [[`How many products does ${s} supply?`, `Count the products from supplier ${s}.`], `SELECT COUNT(*) FROM products WHERE supplier = ${q(s)};`]; },
  () => { const y = pick(YEARS); return [[`How many orders were placed in ${y}?`, `Count the orders from ${y}.`, `What was the number of orders in ${y}?`], `SELECT COUNT(*) FROM orders WHERE strftime('%Y', order_date) = '${y}';`]; },
  () => { const y = pick(YEARS); const m = int(1, 12); return [[`How many orders were placed in ${MONTHS[m - 1]} ${y}?`, `Count orders made during ${MONTHS[m - 1]} ${y}.`], `SELECT COUNT(*) FROM orders WHERE strftime('%Y-%m', order_date) = '${y}-${pad(m)}';`]; },
  () => { const st = pick(STATUSES); return [[`How many orders have the status ${st}?`, `Count ${st} orders.`, `What is the number of ${st} orders?`], `SELECT COUNT(*) FROM orders WHERE status = ${q(st)};`]; },
  () => { const ch = pick(CHANNELS); const y = pick(YEARS); return [[`How many ${ch} orders were there in ${y}?`, `Count ${y} orders placed ${ch === 'online' ? 'online' : 'in store'}.`], `SELECT COUNT(*) FROM orders WHERE channel = ${q(ch)} AND strftime('%Y', order_date) = '${y}';`]; },
  () => { const c = pick(CITIES); return [[`How many orders did customers from ${c} place?`, `Count the orders made by customers living in ${c}.`], `SELECT COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE c.city = ${q(c)};`]; },
  () => { const r = pick(REGIONS); return [[`How many orders were placed at stores in the ${r} region?`, `Count orders from ${r} region stores.`], `SELECT COUNT(*) FROM orders o JOIN stores s ON o.store_id = s.store_id WHERE s.region = ${q(r)};`]; },
  () => { const n = pick([3, 5, 10]); return [[`Which ${n} customers placed the most orders?`, `Show the top ${n} customers by number of orders.`, `List the ${n} customers with the highest order counts.`], `SELECT c.name, COUNT(*) AS orders FROM orders o JOIN customers c ON o.customer_id = c.customer_id GROUP BY c.customer_id ORDER BY orders DESC LIMIT ${n};`]; },
  () => { return [[`How many orders did each store receive?`, `Count orders per store.`, `Show the number of orders for every store.`], `SELECT s.name, COUNT(*) FROM orders o JOIN stores s ON o.store_id = s.store_id GROUP BY s.store_id;`]; },
  () => { return [[`How many customers are in each city?`, `Count customers per city.`], `SELECT city, COUNT(*) FROM customers GROUP BY city;`]; },
  () => { return [[`How many orders are there for each status?`, `Count orders by status.`], `SELECT status, COUNT(*) FROM orders GROUP BY status;`]; },
  () => { const k = pick(CATEGORIES); const y = pick(YEARS); return [[`What was the total revenue from ${k} products in ${y}?`, `Compute ${y} sales revenue for the ${k} category.`, `How much did we earn selling ${k} in ${y}?`], `SELECT SUM(i.quantity * i.unit_price) FROM order_items i JOIN products p ON i.product_id = p.product_id JOIN orders o ON i.order_id = o.order_id WHERE p.category = ${q(k)} AND strftime('%Y', o.order_date) = '${y}';`]; },
  () => { const y = pick(YEARS); return [[`What was the total revenue in ${y}?`, `Compute total sales for ${y}.`], `SELECT SUM(i.quantity * i.unit_price) FROM order_items i JOIN orders o ON i.order_id = o.order_id WHERE strftime('%Y', o.order_date) = '${y}';`]; },
  () => { return [[`What is the revenue of each product category?`, `Show total sales per category.`, `Compute revenue by product category.`], `SELECT p.category, SUM(i.quantity * i.unit_price) FROM order_items i JOIN products p ON i.product_id = p.product_id GROUP BY p.category;`]; },
  () => { const n = pick([3, 5]); return [[`What are the ${n} best-selling products by quantity?`, `Which ${n} products sold the most units?`], `SELECT p.name, SUM(i.quantity) AS units FROM order_items i JOIN products p ON i.product_id = p.product_id GROUP BY p.product_id ORDER BY units DESC LIMIT ${n};`]; },
  () => { const p = pick(rows.products)[1]; return [[`How many units of ${p} were sold?`, `What is the total quantity sold of ${p}?`], `SELECT SUM(i.quantity) FROM order_items i JOIN products p ON i.product_id = p.product_id WHERE p.name = ${q(p)};`]; },
  () => { const c = pick(CITIES); return [[`Which stores are in ${c}?`, `List the stores located in ${c}.`], `SELECT name FROM stores WHERE city = ${q(c)};`]; },
  () => { const y = pick([2019, 2020, 2021, 2022, 2023]); return [[`How many customers signed up after ${y}?`, `Count customers who joined after the end of ${y}.`], `SELECT COUNT(*) FROM customers WHERE signup_date > '${y}-12-31';`]; },
  () => { const t = pick(ACCOUNT_TYPES); return [[`What is the total balance of ${t} accounts?`, `Sum the balances of all ${t} accounts.`], `SELECT SUM(balance) FROM accounts WHERE type = ${q(t)};`]; },
  () => { const t = pick(ACCOUNT_TYPES); return [[`How many ${t} accounts are there?`, `Count the ${t} accounts.`], `SELECT COUNT(*) FROM accounts WHERE type = ${q(t)};`]; },
  () => { const b = pick([1000, 5000, 10000]); return [[`Which accounts have a balance above ${b}?`, `List account ids with more than ${b} in balance.`], `SELECT account_id FROM accounts WHERE balance > ${b};`]; },
  () => { return [[`Which accounts are overdrawn?`, `List accounts with a negative balance.`], `SELECT account_id FROM accounts WHERE balance < 0;`]; },
  () => { const k = pick(TX_CATEGORIES); const y = pick(YEARS); return [[`How much was spent on ${k} in ${y}?`, `What is the total amount of ${k} transactions in ${y}?`], `SELECT SUM(amount) FROM transactions WHERE category = ${q(k)} AND strftime('%Y', tx_date) = '${y}';`]; },
  () => { const k = pick(TX_CATEGORIES); return [[`How many ${k} transactions are there?`, `Count transactions in the ${k} category.`], `SELECT COUNT(*) FROM transactions WHERE category = ${q(k)};`]; },
  () => { const k = pick(TX_CATEGORIES); return [[`What is the average ${k} transaction amount?`, `Give the mean amount of ${k} transactions.`], `SELECT AVG(amount) FROM transactions WHERE category = ${q(k)};`]; },
  () => { const m = pick(Object.values(MERCHANTS).flat()); return [[`How many transactions were made with ${m}?`, `Count transactions at merchant ${m}.`], `SELECT COUNT(*) FROM transactions WHERE merchant = ${q(m)};`]; },
  () => { return [[`What is the total transaction amount per category?`, `Sum transaction amounts by category.`], `SELECT category, SUM(amount) FROM transactions GROUP BY category;`]; },
  () => { const n = pick([3, 5, 10]); return [[`Which ${n} accounts have the largest balances?`, `Show the top ${n} accounts by balance.`], `SELECT account_id, balance FROM accounts ORDER BY balance DESC LIMIT ${n};`]; },
  () => { const c = pick(CITIES); return [[`What is the total balance held by customers in ${c}?`, `Sum account balances of customers from ${c}.`], `SELECT SUM(a.balance) FROM accounts a JOIN customers c ON a.customer_id = c.customer_id WHERE c.city = ${q(c)};`]; },
  () => { const s = pick(SEGMENTS); const y = pick(YEARS); return [[`How many orders did ${s} customers place in ${y}?`, `Count ${y} orders from the ${s} segment.`], `SELECT COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE c.segment = ${q(s)} AND strftime('%Y', o.order_date) = '${y}';`]; },
  () => { const y = pick(YEARS); return [[`How many orders were placed each month of ${y}?`, `Count ${y} orders per month.`], `SELECT strftime('%m', order_date) AS month, COUNT(*) FROM orders WHERE strftime('%Y', order_date) = '${y}' GROUP BY month ORDER BY month;`]; },
  () => { const c = pick(CITIES); const st = pick(STATUSES); return [[`How many ${st} orders came from customers in ${c}?`, `Count ${st} orders by customers living in ${c}.`], `SELECT COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE c.city = ${q(c)} AND o.status = ${q(st)};`]; },
  () => { const k = pick(CATEGORIES); const c = pick(CITIES); return [[`How many ${k} items were bought by customers in ${c}?`, `Total quantity of ${k} products ordered by customers from ${c}.`], `SELECT SUM(i.quantity) FROM order_items i JOIN products p ON i.product_id = p.product_id JOIN orders o ON i.order_id = o.order_id JOIN customers c ON o.customer_id = c.customer_id WHERE p.category = ${q(k)} AND c.city = ${q(c)};`]; },
  () => { const c = pick(CITIES); const s = pick(SEGMENTS); return [[`How many ${s} customers live in ${c}?`, `Count ${s} customers from ${c}.`, `What is the number of ${s} customers in ${c}?`], `SELECT COUNT(*) FROM customers WHERE city = ${q(c)} AND segment = ${q(s)};`]; },
  () => { const c = pick(CITIES); const y = pick(YEARS); const st = pick(STATUSES); return [[`How many ${st} orders did customers in ${c} place in ${y}?`, `Count ${y} ${st} orders from customers living in ${c}.`], `SELECT COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE c.city = ${q(c)} AND o.status = ${q(st)} AND strftime('%Y', o.order_date) = '${y}';`]; },
  () => { const k = pick(CATEGORIES); const y = pick(YEARS); const m = int(1, 12); return [[`What was the ${k} revenue in ${MONTHS[m - 1]} ${y}?`, `Compute sales of ${k} products during ${MONTHS[m - 1]} ${y}.`], `SELECT SUM(i.quantity * i.unit_price) FROM order_items i JOIN products p ON i.product_id = p.product_id JOIN orders o ON i.order_id = o.order_id WHERE p.category = ${q(k)} AND strftime('%Y-%m', o.order_date) = '${y}-${pad(m)}';`]; },
  () => { const k = pick(TX_CATEGORIES); const y = pick(YEARS); const m = int(1, 12); return [[`How much was spent on ${k} in ${MONTHS[m - 1]} ${y}?`, `Total ${k} transaction amount for ${MONTHS[m - 1]} ${y}.`], `SELECT SUM(amount) FROM transactions WHERE category = ${q(k)} AND strftime('%Y-%m', tx_date) = '${y}-${pad(m)}';`]; },
  () => { const t = pick(ACCOUNT_TYPES); const c = pick(CITIES); return [[`How many ${t} accounts belong to customers in ${c}?`, `Count ${t} accounts held by customers from ${c}.`], `SELECT COUNT(*) FROM accounts a JOIN customers c ON a.customer_id = c.customer_id WHERE a.type = ${q(t)} AND c.city = ${q(c)};`]; },
  () => { const k = pick(CATEGORIES); const p = pick([10, 25, 50, 100]); return [[`Which ${k} products cost less than ${p}?`, `List ${k} products priced below ${p}.`], `SELECT name FROM products WHERE category = ${q(k)} AND price < ${p};`]; },
  () => { const n = pick([3, 5, 10]); const c = pick(CITIES); return [[`Which ${n} customers from ${c} placed the most orders?`, `Top ${n} customers in ${c} by number of orders.`], `SELECT c.name, COUNT(*) AS orders FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE c.city = ${q(c)} GROUP BY c.customer_id ORDER BY orders DESC LIMIT ${n};`]; },
  () => { const st = pick(rows.stores); const y = pick(YEARS); const m = int(1, 12); return [[`How many orders did the ${st[1]} store receive in ${MONTHS[m - 1]} ${y}?`, `Count orders at ${st[1]} during ${MONTHS[m - 1]} ${y}.`], `SELECT COUNT(*) FROM orders o JOIN stores s ON o.store_id = s.store_id WHERE s.name = ${q(st[1])} AND strftime('%Y-%m', o.order_date) = '${y}-${pad(m)}';`]; },
  () => { const id = int(1, 200); return [[`How much has customer ${id} spent in total?`, `What is the total amount spent by customer ${id}?`, `Compute the lifetime spending of customer ${id}.`], `SELECT SUM(i.quantity * i.unit_price) FROM order_items i JOIN orders o ON i.order_id = o.order_id WHERE o.customer_id = ${id};`]; },
  () => { const id = int(1, 200); return [[`How many orders has customer ${id} placed?`, `Count the orders of customer ${id}.`], `SELECT COUNT(*) FROM orders WHERE customer_id = ${id};`]; },
  () => { const id = int(1, 300); return [[`What is the balance of account ${id}?`, `Show the current balance of account ${id}.`], `SELECT balance FROM accounts WHERE account_id = ${id};`]; },
  () => { const id = int(1, 300); const y = pick(YEARS); return [[`How many transactions did account ${id} make in ${y}?`, `Count ${y} transactions of account ${id}.`], `SELECT COUNT(*) FROM transactions WHERE account_id = ${id} AND strftime('%Y', tx_date) = '${y}';`]; },
  () => { const id = int(1, 300); return [[`What is the net amount of all transactions on account ${id}?`, `Sum the transaction amounts of account ${id}.`], `SELECT SUM(amount) FROM transactions WHERE account_id = ${id};`]; },
  () => { const id = int(1, 1500); return [[`How many items are in order ${id}?`, `What is the total quantity in order ${id}?`], `SELECT SUM(quantity) FROM order_items WHERE order_id = ${id};`]; },
  () => { const id = int(1, 1500); return [[`What is the value of order ${id}?`, `Compute the total price of order ${id}.`], `SELECT SUM(quantity * unit_price) FROM order_items WHERE order_id = ${id};`]; },
  () => { const r = pick(REGIONS); const y = pick(YEARS); const ch = pick(CHANNELS); return [[`How many ${ch} orders did ${r} region stores get in ${y}?`, `Count ${y} ${ch} orders at stores in the ${r} region.`], `SELECT COUNT(*) FROM orders o JOIN stores s ON o.store_id = s.store_id WHERE s.region = ${q(r)} AND o.channel = ${q(ch)} AND strftime('%Y', o.order_date) = '${y}';`]; },
  () => { const c = pick(CITIES); const y = pick([2019, 2020, 2021, 2022, 2023]); return [[`How many customers from ${c} signed up after ${y}?`, `Count ${c} customers who joined after ${y}.`], `SELECT COUNT(*) FROM customers WHERE city = ${q(c)} AND signup_date > '${y}-12-31';`]; },
];

const byHash = (s) => createHash('sha256').update(s).digest()[0] / 256;
const pairs = new Map(); // question -> sql
const sqlSeen = new Map();
for (let attempt = 0; attempt < 400000 && pairs.size < 6000; attempt++) {
  const [phrasings, sql] = pick(templates)();
  const question = cap(pick(phrasings));
  if (pairs.has(question)) continue;
  pairs.set(question, sql);
  sqlSeen.set(sql, (sqlSeen.get(sql) ?? 0) + 1);
}
const splits = { train: [], valid: [], test: [] };
for (const [question, sql] of pairs) {
  const h = byHash(sql);
  splits[h < 0.86 ? 'train' : h < 0.93 ? 'valid' : 'test'].push({ question, sql });
}
for (const [name, list] of Object.entries(splits)) {
  // deterministic shuffle
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  writeFileSync(`${out}${name}.jsonl`, list.map((x) => JSON.stringify(x)).join('\n') + '\n');
}
writeFileSync(`${out}README.md`, `# Text-to-SQL task

Generated by \`scripts/make-sql-dataset.mjs\` (seeded; run \`npm run build && node scripts/make-sql-dataset.mjs\`).

- \`schema.sql\`: seven tables of a retail chain and its customers' bank accounts; \`data.sql\`: seeded rows.
- \`train.jsonl\` (${splits.train.length}), \`valid.jsonl\` (${splits.valid.length}), \`test.jsonl\` (${splits.test.length}):
  \`{"question", "sql"}\` pairs from ${templates.length} templates with paraphrases (filters, joins, aggregates, grouping,
  ordering, dates). Splits are chosen by a hash of the SQL, so no test SQL or question appears in training.
- Graded by execution accuracy: \`npx loralab eval --data datasets/sql/test.jsonl --db datasets/sql\` runs predicted and
  gold SQL in SQLite and compares result sets.
`);
console.log(Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.length])), 'distinct SQL', sqlSeen.size);
