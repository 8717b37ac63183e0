// Writes datasets/corpus/corpus.txt: a generated pre-training corpus (no copyrighted text) of everyday English about
// shops, money and data, descriptions of the task's tables and rows, and SQL with comments. It teaches gemma-micro the
// language of the task, but never the "Question: ... SQL: ..." format the fine-tuning teaches.
// Run: npm run build && node scripts/make-corpus.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { Rng } from '../lib/dist/util/rng.js';

const out = new URL('../datasets/corpus/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const rng = new Rng(7);
const pick = (xs) => xs[Math.floor(rng.next() * xs.length)];
const int = (a, b) => a + Math.floor(rng.next() * (b - a + 1));
const cap = (s) => s[0].toUpperCase() + s.slice(1);

const PEOPLE = ['Ana', 'Ben', 'Chloe', 'David', 'Elena', 'Felix', 'Greta', 'Hugo', 'Iris', 'Jonas', 'Klara', 'Leo', 'Mia', 'Nils', 'Olga', 'Paul', 'Rosa', 'Sami', 'Tara', 'Victor', 'the manager', 'the analyst', 'a customer', 'the cashier', 'my neighbour', 'the accountant'];
const CITIES = ['Paris', 'Lyon', 'Berlin', 'Munich', 'Madrid', 'Lisbon', 'Rome', 'Milan', 'Vienna', 'Prague', 'Dublin', 'Oslo', 'Warsaw', 'Athens', 'Brussels', 'Zurich'];
const THINGS = ['coffee beans', 'a laptop', 'a rain jacket', 'a desk lamp', 'a puzzle', 'green tea', 'sneakers', 'a blender', 'a board game', 'olive oil', 'headphones', 'a wool scarf', 'bath towels', 'a kite', 'pasta', 'a camera'];
const PLACES = ['the market', 'the store', 'the bank', 'the station', 'the office', 'the cafe', 'the warehouse', 'the library', 'the park', 'the airport'];
const TIMES = ['on Monday', 'last week', 'in the morning', 'after lunch', 'in March', 'in the spring of 2023', 'every Friday', 'before the holidays', 'at the end of the quarter', 'in December 2022', 'yesterday', 'in 2024'];
const ADJ = ['busy', 'quiet', 'cheap', 'expensive', 'new', 'old', 'small', 'large', 'popular', 'careful', 'quick', 'late', 'early', 'happy', 'tired'];
const VERBS = ['bought', 'sold', 'returned', 'ordered', 'paid for', 'looked at', 'wanted', 'shipped', 'counted', 'found'];
const FIN = ['the balance', 'the rent', 'the salary', 'the budget', 'the revenue', 'the invoice', 'the savings account', 'the credit card bill', 'the monthly report', 'the average price'];

const english = () => pick([
  () => `${cap(pick(PEOPLE))} ${pick(VERBS)} ${pick(THINGS)} at ${pick(PLACES)} in ${pick(CITIES)} ${pick(TIMES)}.`,
  () => `${cap(pick(PLACES))} was ${pick(ADJ)} ${pick(TIMES)}, so ${pick(PEOPLE)} waited for a while.`,
  () => `${cap(pick(FIN))} went ${pick(['up', 'down'])} by ${int(2, 40)} percent ${pick(TIMES)}.`,
  () => `${cap(pick(PEOPLE))} checked ${pick(FIN)} and wrote the numbers in a table.`,
  () => `In ${pick(CITIES)}, the ${pick(ADJ)} store opened ${pick(TIMES)} and sold ${int(3, 400)} items.`,
  () => `${cap(pick(PEOPLE))} paid ${int(2, 900)} euros for ${pick(THINGS)} and kept the receipt.`,
  () => `Most customers in ${pick(CITIES)} prefer to shop ${pick(['online', 'in store'])}.`,
  () => `The report shows that ${pick(FIN)} was ${pick(['higher', 'lower'])} than ${pick(['expected', 'last year', 'in the previous month'])}.`,
  () => `${cap(pick(PEOPLE))} moved from ${pick(CITIES)} to ${pick(CITIES)} ${pick(TIMES)}.`,
  () => `When ${pick(PEOPLE)} asked how many orders were late, nobody knew the answer at first.`,
])();

const TABLES = {
  customers: ['customer_id', 'name', 'city', 'country', 'segment', 'signup_date'],
  products: ['product_id', 'name', 'category', 'price', 'supplier'],
  stores: ['store_id', 'name', 'city', 'region'],
  orders: ['order_id', 'customer_id', 'store_id', 'order_date', 'status', 'channel'],
  order_items: ['order_id', 'product_id', 'quantity', 'unit_price'],
  accounts: ['account_id', 'customer_id', 'type', 'balance'],
  transactions: ['transaction_id', 'account_id', 'tx_date', 'amount', 'category', 'merchant'],
};
const tableTalk = () => {
  const t = pick(Object.keys(TABLES));
  const cols = TABLES[t];
  return pick([
    () => `The ${t} table has the columns ${cols.slice(0, -1).join(', ')} and ${cols.at(-1)}.`,
    () => `Each row of ${t} is identified by ${cols[0]}.`,
    () => `The column ${pick(cols)} belongs to the ${t} table.`,
    () => `An order links a customer to a store, and order_items lists the products in each order.`,
    () => `A customer can have several accounts, and every transaction belongs to one account.`,
    () => `The status of an order is shipped, delivered, cancelled or returned.`,
    () => `Products are grouped into categories such as electronics, grocery, apparel, home and toys.`,
    () => `Negative amounts in transactions are money going out of the account.`,
    () => `Dates are stored as text in the form year, month, day, for example 2023-04-17.`,
  ])();
};

const sqlLine = () => {
  const t = pick(Object.keys(TABLES));
  const cols = TABLES[t];
  const c1 = pick(cols);
  const c2 = pick(cols);
  return pick([
    () => `-- all rows of ${t}\nSELECT * FROM ${t};`,
    () => `-- the ${c1} of every row in ${t}\nSELECT ${c1} FROM ${t};`,
    () => `-- how many rows ${t} has\nSELECT COUNT(*) FROM ${t};`,
    () => `-- distinct values of ${c1}\nSELECT DISTINCT ${c1} FROM ${t};`,
    () => `SELECT ${c1}, ${c2} FROM ${t} ORDER BY ${c1} LIMIT ${int(1, 20)};`,
    () => `SELECT ${c1}, COUNT(*) FROM ${t} GROUP BY ${c1};`,
    () => `-- orders with their customers\nSELECT o.order_id, c.name FROM orders o JOIN customers c ON o.customer_id = c.customer_id;`,
    () => `-- items with their products\nSELECT i.order_id, p.name FROM order_items i JOIN products p ON i.product_id = p.product_id;`,
    () => `SELECT MAX(price), MIN(price) FROM products;`,
    () => `SELECT type, AVG(balance) FROM accounts GROUP BY type;`,
    () => `SELECT * FROM orders WHERE order_date >= '${int(2022, 2024)}-0${int(1, 9)}-01';`,
    () => `SELECT name FROM customers WHERE city = '${pick(CITIES)}' OR city = '${pick(CITIES)}';`,
    () => `SELECT strftime('%Y', tx_date), SUM(amount) FROM transactions GROUP BY 1;`,
  ])();
};

const rowTalk = () => pick([
  () => `${pick(PEOPLE.slice(0, 20))} lives in ${pick(CITIES)} and has a ${pick(['checking', 'savings', 'credit'])} account.`,
  () => `Order ${int(1, 1500)} was ${pick(['shipped', 'delivered', 'cancelled', 'returned'])} and contained ${int(1, 4)} products.`,
  () => `The ${pick(['electronics', 'grocery', 'apparel', 'home', 'toys'])} category had ${int(10, 500)} orders in ${int(2022, 2024)}.`,
  () => `Account ${int(1, 300)} paid ${int(5, 300)} euros at ${pick(['FreshMart', 'SkyAir', 'PowerNet', 'Bistro 21', 'Noodle Bar'])}.`,
])();

const paragraphs = [];
for (let i = 0; i < 26000; i++) {
  const kind = rng.next();
  const n = int(2, 5);
  const gen = kind < 0.5 ? english : kind < 0.7 ? tableTalk : kind < 0.85 ? rowTalk : sqlLine;
  paragraphs.push(Array.from({ length: n }, gen).join(gen === sqlLine ? '\n' : ' '));
}
const text = paragraphs.join('\n\n') + '\n';
writeFileSync(`${out}corpus.txt`, text);
// the schema text itself is part of the corpus too
writeFileSync(`${out}README.md`, `# Pre-training corpus\n\nGenerated by \`scripts/make-corpus.mjs\` (seeded): ${paragraphs.length} paragraphs, ${text.length} characters of\neveryday English about shops and money, descriptions of the text-to-SQL task's tables and rows, and commented SQL.\nNo copyrighted text. It never uses the task's "Question: ... SQL: ..." format.\n`);
console.log(paragraphs.length, text.length);
