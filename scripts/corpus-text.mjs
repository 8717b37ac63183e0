// The paragraph generators of LoRA Lab's pre-training corpus (scripts/make-corpus.mjs) and of its copy probe
// (scripts/make-copy-probe.mjs), each drawing from a seeded Rng passed in, so that the two scripts write the same kinds
// of text from different seeds. No copyrighted text; never the task's "Question: ... SQL: ..." format.
//
// A copy item states a value and later repeats it. `copyItem(g, kind)` returns { prefix, target, suffix }: the text is
// prefix + target + suffix, and `target` (which starts with a space, so it begins a word for the tokenizer) is the
// last repetition: it can only be written by copying from the prefix, never guessed from the kind's few values alone.

// ---------------------------------------------------------------- the task's values (as in scripts/make-sql-dataset.mjs)
export const CITIES = ['Paris', 'Lyon', 'Berlin', 'Munich', 'Madrid', 'Lisbon', 'Rome', 'Milan', 'Vienna', 'Prague', 'Dublin', 'Oslo', 'Warsaw', 'Athens', 'Brussels', 'Zurich'];
export const FIRST = ['Ana', 'Ben', 'Chloe', 'David', 'Elena', 'Felix', 'Greta', 'Hugo', 'Iris', 'Jonas', 'Klara', 'Leo', 'Mia', 'Nils', 'Olga', 'Paul', 'Rosa', 'Sami', 'Tara', 'Victor'];
export const LAST = ['Novak', 'Schmidt', 'Garcia', 'Rossi', 'Dubois', 'Silva', 'Berg', 'Kowalski', 'Murphy', 'Papas', 'Weber', 'Costa'];
export const SEGMENTS = ['consumer', 'corporate', 'small business'];
export const CATEGORIES = ['electronics', 'grocery', 'apparel', 'home', 'toys'];
export const PRODUCTS = ['headphones', 'laptop', 'tablet', 'phone charger', 'smart watch', 'camera', 'speaker', 'keyboard', 'coffee beans', 'olive oil', 'green tea', 'pasta', 'dark chocolate', 'rice', 'honey', 'granola', 'rain jacket', 'wool scarf', 'sneakers', 'denim jeans', 'linen shirt', 'winter boots', 'sun hat', 'hoodie', 'desk lamp', 'cookware set', 'bath towel', 'coffee maker', 'plant pot', 'bed sheets', 'wall clock', 'blender', 'puzzle', 'building blocks', 'board game', 'teddy bear', 'kite', 'toy train', 'card game', 'yo-yo'];
export const SUPPLIERS = ['Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli'];
export const REGIONS = ['north', 'south', 'east', 'west'];
export const STATUSES = ['shipped', 'delivered', 'cancelled', 'returned'];
export const CHANNELS = ['online', 'in-store'];
export const TX_CATEGORIES = ['groceries', 'rent', 'salary', 'travel', 'utilities', 'dining', 'transfer'];
export const MERCHANTS = ['FreshMart', 'GreenGrocer', 'City Homes', 'Employer', 'SkyAir', 'RailCo', 'PowerNet', 'AquaCo', 'Bistro 21', 'Noodle Bar', 'Bank Transfer'];
export const ACCOUNT_TYPES = ['checking', 'savings', 'credit'];
export const YEARS = [2022, 2023, 2024];
export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const STORE_SUFFIXES = ['Central', 'Market', 'Plaza', 'Station'];
export const STORES = CITIES.slice(0, 12).flatMap((c) => STORE_SUFFIXES.map((s) => `${c} ${s}`));

/** Every kind of copy item; the probe covers each. */
export const COPY_KINDS = ['id', 'number', 'name', 'city', 'product', 'category', 'segment', 'status', 'channel', 'region', 'supplier', 'merchant', 'tx_category', 'account_type', 'store', 'month', 'year', 'amount', 'quoted', 'list', 'key_value', 'span'];

// ---------------------------------------------------------------- drawing
/** Drawing helpers over one seeded generator (an object with next() in [0, 1), e.g. lib's Rng). */
export function drawer(rng) {
  const g = {
    rng,
    u: () => rng.next(),
    pick: (xs) => xs[Math.floor(rng.next() * xs.length)],
    int: (a, b) => a + Math.floor(rng.next() * (b - a + 1)),
    chance: (p) => rng.next() < p,
    /** k distinct values drawn by `draw` (gives up on duplicates after many tries). */
    distinct: (k, draw) => {
      const out = [];
      for (let t = 0; out.length < k && t < 100 * k; t++) {
        const v = draw();
        if (!out.includes(v)) out.push(v);
      }
      return out;
    },
  };
  return g;
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'dor', 'vik', 'sa', 'tel', 'bru', 'na', 'zo', 'fen', 'gar', 'li', 'mo', 'pe', 'rus', 'ta', 'vel', 'xi', 'yo', 'ul', 'an', 'es', 'or', 'bi', 'du', 'ke', 'lin', 'mar', 'nor', 'pa', 'qui', 'ro', 'sen', 'tor', 'va', 'wen', 'za', 'hel', 'jo', 'ki', 'lu', 'me', 'ni', 'ost', 'pri', 'sto', 'tu', 'ber'];
const cap = (s) => s[0].toUpperCase() + s.slice(1);
const pad2 = (n) => String(n).padStart(2, '0');
/** A made-up word of 2–3 syllables: values the model cannot have memorised. */
const word = (g) => Array.from({ length: g.int(2, 3) }, () => g.pick(SYLLABLES)).join('');
const GOODS = ['lamp', 'kettle', 'chair', 'jacket', 'blanket', 'radio', 'bottle', 'backpack', 'notebook', 'mug', 'candle', 'clock', 'pillow', 'bicycle', 'printer', 'cushion', 'basket', 'umbrella'];
const COMPANY = ['Works', 'Group', 'Trading', 'Supply', 'Partners', 'Foods', 'Labs', 'Goods'];
const SHOP = ['Corner', 'Shop', 'Store', 'Deli', 'Cafe', 'Outlet', 'Kiosk', 'Market'];
const COMMON = ['blue', 'river', 'seven', 'table', 'quiet', 'paper', 'window', 'orange', 'stone', 'garden', 'silver', 'cloud', 'bread', 'yellow', 'north', 'little', 'winter', 'apple', 'music', 'green', 'road', 'letter', 'salt', 'hill', 'glass', 'forest', 'coin', 'summer', 'light', 'tower', 'wolf', 'copper'];

// values: the task's lists mixed with random ones
const V = {
  first: (g) => (g.chance(0.4) ? g.pick(FIRST) : cap(word(g))),
  last: (g) => (g.chance(0.3) ? g.pick(LAST) : cap(word(g))),
  name: (g) => `${V.first(g)} ${V.last(g)}`,
  person: (g) => (g.chance(0.5) ? V.first(g) : V.name(g)),
  city: (g) => (g.chance(0.6) ? g.pick(CITIES) : cap(word(g))),
  product: (g) => (g.chance(0.5) ? g.pick(PRODUCTS) : `${word(g)} ${g.pick(GOODS)}`),
  supplier: (g) => (g.chance(0.5) ? g.pick(SUPPLIERS) : g.chance(0.5) ? cap(word(g)) : `${cap(word(g))} ${g.pick(COMPANY)}`),
  merchant: (g) => (g.chance(0.5) ? g.pick(MERCHANTS) : g.chance(0.5) ? `${cap(word(g))} ${g.pick(SHOP)}` : `${cap(word(g))} ${g.int(1, 99)}`),
  store: (g) => (g.chance(0.5) ? g.pick(STORES) : `${cap(word(g))} ${g.pick(STORE_SUFFIXES)}`),
  id: (g) => String(g.chance(0.6) ? g.int(1, 1500) : g.int(1, 99999)),
  /** 3 to 9 digits, spelled digit by digit by the tokenizer. */
  number: (g) => String(g.int(1, 9)) + Array.from({ length: g.int(2, 8) }, () => g.int(0, 9)).join(''),
  amount: (g) => (g.chance(0.3) ? String(g.int(1, 9999)) : `${g.int(0, 9999)}.${pad2(g.int(0, 99))}`),
  year: (g) => String(g.chance(0.5) ? g.pick(YEARS) : g.int(1950, 2049)),
  code: (g) => (g.chance(0.6) ? String(g.int(100, 999999)) : `${String.fromCharCode(65 + g.int(0, 25))}${String.fromCharCode(65 + g.int(0, 25))}-${g.int(100, 9999)}`),
  word: (g) => (g.chance(0.5) ? g.pick(COMMON) : word(g)),
};

// ---------------------------------------------------------------- everyday English, table talk, SQL (as before)
const PEOPLE = [...FIRST, 'the manager', 'the analyst', 'a customer', 'the cashier', 'my neighbour', 'the accountant'];
const THINGS = ['coffee beans', 'a laptop', 'a rain jacket', 'a desk lamp', 'a puzzle', 'green tea', 'sneakers', 'a blender', 'a board game', 'olive oil', 'headphones', 'a wool scarf', 'bath towels', 'a kite', 'pasta', 'a camera'];
const PLACES = ['the market', 'the store', 'the bank', 'the station', 'the office', 'the cafe', 'the warehouse', 'the library', 'the park', 'the airport'];
const TIMES = ['on Monday', 'last week', 'in the morning', 'after lunch', 'in March', 'in the spring of 2023', 'every Friday', 'before the holidays', 'at the end of the quarter', 'in December 2022', 'yesterday', 'in 2024'];
const ADJ = ['busy', 'quiet', 'cheap', 'expensive', 'new', 'old', 'small', 'large', 'popular', 'careful', 'quick', 'late', 'early', 'happy', 'tired'];
const VERBS = ['bought', 'sold', 'returned', 'ordered', 'paid for', 'looked at', 'wanted', 'shipped', 'counted', 'found'];
const FIN = ['the balance', 'the rent', 'the salary', 'the budget', 'the revenue', 'the invoice', 'the savings account', 'the credit card bill', 'the monthly report', 'the average price'];

export const english = (g) => g.pick([
  () => `${cap(g.pick(PEOPLE))} ${g.pick(VERBS)} ${g.pick(THINGS)} at ${g.pick(PLACES)} in ${g.pick(CITIES)} ${g.pick(TIMES)}.`,
  () => `${cap(g.pick(PLACES))} was ${g.pick(ADJ)} ${g.pick(TIMES)}, so ${g.pick(PEOPLE)} waited for a while.`,
  () => `${cap(g.pick(FIN))} went ${g.pick(['up', 'down'])} by ${g.int(2, 40)} percent ${g.pick(TIMES)}.`,
  () => `${cap(g.pick(PEOPLE))} checked ${g.pick(FIN)} and wrote the numbers in a table.`,
  () => `In ${g.pick(CITIES)}, the ${g.pick(ADJ)} store opened ${g.pick(TIMES)} and sold ${g.int(3, 400)} items.`,
  () => `${cap(g.pick(PEOPLE))} paid ${g.int(2, 900)} euros for ${g.pick(THINGS)} and kept the receipt.`,
  () => `Most customers in ${g.pick(CITIES)} prefer to shop ${g.pick(['online', 'in store'])}.`,
  () => `The report shows that ${g.pick(FIN)} was ${g.pick(['higher', 'lower'])} than ${g.pick(['expected', 'last year', 'in the previous month'])}.`,
  () => `${cap(g.pick(PEOPLE))} moved from ${g.pick(CITIES)} to ${g.pick(CITIES)} ${g.pick(TIMES)}.`,
  () => `When ${g.pick(PEOPLE)} asked how many orders were late, nobody knew the answer at first.`,
])();

export const TABLES = {
  customers: ['customer_id', 'name', 'city', 'country', 'segment', 'signup_date'],
  products: ['product_id', 'name', 'category', 'price', 'supplier'],
  stores: ['store_id', 'name', 'city', 'region'],
  orders: ['order_id', 'customer_id', 'store_id', 'order_date', 'status', 'channel'],
  order_items: ['order_id', 'product_id', 'quantity', 'unit_price'],
  accounts: ['account_id', 'customer_id', 'type', 'balance'],
  transactions: ['transaction_id', 'account_id', 'tx_date', 'amount', 'category', 'merchant'],
};

export const tableTalk = (g) => {
  const t = g.pick(Object.keys(TABLES));
  const cols = TABLES[t];
  return g.pick([
    () => `The ${t} table has the columns ${cols.slice(0, -1).join(', ')} and ${cols.at(-1)}.`,
    () => `Each row of ${t} is identified by ${cols[0]}.`,
    () => `The column ${g.pick(cols)} belongs to the ${t} table.`,
    () => `An order links a customer to a store, and order_items lists the products in each order.`,
    () => `A customer can have several accounts, and every transaction belongs to one account.`,
    () => `The status of an order is shipped, delivered, cancelled or returned.`,
    () => `Products are grouped into categories such as electronics, grocery, apparel, home and toys.`,
    () => `Negative amounts in transactions are money going out of the account.`,
    () => `Dates are stored as text in the form year, month, day, for example ${g.pick(YEARS)}-${pad2(g.int(1, 12))}-${pad2(g.int(1, 28))}.`,
  ])();
};

export const sqlLine = (g) => {
  const t = g.pick(Object.keys(TABLES));
  const cols = TABLES[t];
  const c1 = g.pick(cols);
  const c2 = g.pick(cols);
  return g.pick([
    () => `-- all rows of ${t}\nSELECT * FROM ${t};`,
    () => `-- the ${c1} of every row in ${t}\nSELECT ${c1} FROM ${t};`,
    () => `-- how many rows ${t} has\nSELECT COUNT(*) FROM ${t};`,
    () => `-- distinct values of ${c1}\nSELECT DISTINCT ${c1} FROM ${t};`,
    () => `SELECT ${c1}, ${c2} FROM ${t} ORDER BY ${c1} LIMIT ${g.int(1, 20)};`,
    () => `SELECT ${c1}, COUNT(*) FROM ${t} GROUP BY ${c1};`,
    () => `-- orders with their customers\nSELECT o.order_id, c.name FROM orders o JOIN customers c ON o.customer_id = c.customer_id;`,
    () => `-- items with their products\nSELECT i.order_id, p.name FROM order_items i JOIN products p ON i.product_id = p.product_id;`,
    () => `SELECT MAX(price), MIN(price) FROM products;`,
    () => `SELECT type, AVG(balance) FROM accounts GROUP BY type;`,
    () => `SELECT * FROM orders WHERE order_date >= '${g.pick(YEARS)}-${pad2(g.int(1, 12))}-01';`,
    () => `SELECT name FROM customers WHERE city = '${g.pick(CITIES)}' OR city = '${g.pick(CITIES)}';`,
    () => `SELECT strftime('%Y', tx_date), SUM(amount) FROM transactions GROUP BY 1;`,
    () => `SELECT COUNT(*) FROM ${t} WHERE ${c1} = ${g.int(1, 1500)};`,
  ])();
};

export const rowTalk = (g) => g.pick([
  () => `${g.pick(FIRST)} lives in ${g.pick(CITIES)} and has a ${g.pick(ACCOUNT_TYPES)} account.`,
  () => `Order ${g.int(1, 1500)} was ${g.pick(STATUSES)} and contained ${g.int(1, 4)} products.`,
  () => `The ${g.pick(CATEGORIES)} category had ${g.int(10, 500)} orders in ${g.pick(YEARS)}.`,
  () => `Account ${g.int(1, 300)} paid ${g.int(5, 300)} euros at ${g.pick(MERCHANTS)}.`,
  () => `The ${g.pick(PRODUCTS)} is supplied by ${g.pick(SUPPLIERS)} and sold in the ${g.pick(CATEGORIES)} category.`,
  () => `The store ${g.pick(STORES)} is in the ${g.pick(REGIONS)} region.`,
])();

/**
 * 0–2 sentences of other text between a value and its repetition. With `rows`, they may hold other values of the same
 * kind (distractors for a keyed recall); none mentions one of the `avoid` keys, so the recall stays unambiguous.
 */
const filler = (g, { rows = false, avoid = [] } = {}) => {
  const n = g.pick([0, 1, 1, 2]);
  const out = [];
  for (let t = 0; out.length < n && t < 20; t++) {
    const s = rows && g.chance(0.4) ? rowTalk(g) : english(g);
    if (!avoid.some((k) => s.includes(k))) out.push(` ${s}`);
  }
  return out.join('');
};

/** Up to n [key, value] facts whose keys are distinct and contain no other key ("Klara" and "Klara Novak" would make a recall ambiguous). */
function keyedPairs(key, value, n) {
  const pairs = [];
  for (let t = 0; pairs.length < n && t < 50; t++) {
    const k = key();
    if (!pairs.some(([a]) => a.includes(k) || k.includes(a))) pairs.push([k, value()]);
  }
  return pairs;
}

/**
 * A "the <attribute> of <key> is <value>" recall with 0–2 distractor pairs of the same attribute, so that the value
 * must be found by its key: state(key, value) writes one fact, ask(key) the start of its recall.
 */
function recall(g, { key, value, state, ask, end = '.' }) {
  const pairs = keyedPairs(key, value, g.int(1, 3));
  const [k, v] = g.pick(pairs);
  const facts = pairs.map(([a, b]) => state(a, b)).join(' ');
  return { prefix: `${facts}${filler(g, { rows: true, avoid: pairs.map(([a]) => a) })} ${ask(k)}`, target: ` ${v}`, suffix: end };
}

const monthValue = (g) => {
  const m = g.int(1, 12);
  const y = g.chance(0.6) ? g.pick(YEARS) : g.int(1990, 2039);
  return { text: `${MONTHS[m - 1]} ${y}`, iso: `${y}-${pad2(m)}`, year: String(y) };
};

/**
 * The keyed recalls, each a maker of { key, value, state, ask, end? } over one drawer: key() and value() draw a fact,
 * state(key, value) writes it, ask(key) starts its recall. A maker draws nothing itself, so the copy items that use
 * them draw the same values as when the specs were written inline.
 */
const RECALLS = {
  customerId: (g) => ({ key: () => V.name(g), value: () => V.id(g), state: (k, v) => `${k} is customer ${v}.`, ask: (k) => `So the customer id of ${k} is` }),
  accountOf: (g) => ({ key: () => V.person(g), value: () => V.id(g), state: (k, v) => `${k} holds account ${v}.`, ask: (k) => `The account of ${k} is number` }),
  coins: (g) => ({ key: () => `box ${g.pick(COMMON)}`, value: () => V.number(g), state: (k, v) => `The ${k} holds ${v} coins.`, ask: (k) => `Counting again, the ${k} holds`, end: ' coins.' }),
  customerName: (g) => ({ key: () => String(g.int(1, 300)), value: () => V.name(g), state: (k, v) => `Customer ${k} is ${v}.`, ask: (k) => `The name of customer ${k} is` }),
  city: (g) => ({ key: () => V.person(g), value: () => V.city(g), state: (k, v) => `${k} lives in ${v}.`, ask: (k) => `So the city of ${k} is` }),
  bought: (g) => ({ key: () => V.person(g), value: () => V.product(g), state: (k, v) => `${k} bought the ${v}.`, ask: (k) => `What ${k} bought was the` }),
  category: (g) => ({ key: () => V.product(g), value: () => g.pick(CATEGORIES), state: (k, v) => `The ${k} is sold in the ${v} category.`, ask: (k) => `The category of the ${k} is` }),
  segment: (g) => ({ key: () => V.name(g), value: () => g.pick(SEGMENTS), state: (k, v) => `${k} is a ${v} customer.`, ask: (k) => `The segment of ${k} is` }),
  status: (g) => ({ key: () => V.id(g), value: () => g.pick(STATUSES), state: (k, v) => `Order ${k} is ${v}.`, ask: (k) => `The status of order ${k} is` }),
  channel: (g) => ({ key: () => V.id(g), value: () => g.pick(CHANNELS), state: (k, v) => `Order ${k} came through the ${v} channel.`, ask: (k) => `The channel of order ${k} is` }),
  region: (g) => ({ key: () => V.store(g), value: () => g.pick(REGIONS), state: (k, v) => `The store ${k} is in the ${v} region.`, ask: (k) => `So ${k} belongs to the region` }),
  supplier: (g) => ({ key: () => V.product(g), value: () => V.supplier(g), state: (k, v) => `The ${k} comes from ${v}.`, ask: (k) => `The supplier of the ${k} is` }),
  merchant: (g) => ({ key: () => V.id(g), value: () => V.merchant(g), state: (k, v) => `Account ${k} paid ${V.amount(g)} euros at ${v}.`, ask: (k) => `The merchant for account ${k} was` }),
  txCategory: (g) => ({ key: () => V.id(g), value: () => g.pick(TX_CATEGORIES), state: (k, v) => `Payment ${k} was booked as ${v}.`, ask: (k) => `The category of payment ${k} is` }),
  accountType: (g) => ({ key: () => V.person(g), value: () => g.pick(ACCOUNT_TYPES), state: (k, v) => `${k} opened a ${v} account.`, ask: (k) => `The account type of ${k} is` }),
  store: (g) => ({ key: () => V.person(g), value: () => V.store(g), state: (k, v) => `${k} shops at ${v}.`, ask: (k) => `The store where ${k} shops is` }),
  joined: (g) => ({ key: () => V.person(g), value: () => V.year(g), state: (k, v) => `${k} joined in ${v}.`, ask: (k) => `The year ${k} joined is` }),
  balance: (g) => ({ key: () => V.id(g), value: () => V.amount(g), state: (k, v) => `Account ${k} has a balance of ${v}.`, ask: (k) => `The balance of account ${k} is` }),
  code: (g) => ({
    key: () => V.first(g), value: () => V.code(g),
    state: (k, v) => g.pick([`The code of ${k} is ${v}.`, `${k} has the code ${v}.`]),
    ask: (k) => g.pick([`${k}'s code is`, `The code of ${k} is`]),
  }),
};

const ITEMS = {
  id: (g) => g.pick([
    () => { const id = V.id(g); const s = g.pick(STATUSES); return { prefix: `Order ${id} was ${s}.${filler(g)} The number of the ${s} order is`, target: ` ${id}`, suffix: '.' }; },
    () => recall(g, RECALLS.customerId(g)),
    () => recall(g, RECALLS.accountOf(g)),
    () => { const id = V.id(g); return { prefix: `${cap(g.pick(['the analyst', 'the manager', 'the cashier']))} looked up order ${id} and then wrote order_id =`, target: ` ${id}`, suffix: ' in the filter.' }; },
  ])(),
  number: (g) => g.pick([
    () => { const n = V.number(g); return { prefix: `The reference number is ${n}.${filler(g)} Please repeat the reference number:`, target: ` ${n}`, suffix: '.' }; },
    () => { const n = V.number(g); return { prefix: `Write ${n} twice: ${n},`, target: ` ${n}`, suffix: '.' }; },
    () => { const n = V.number(g); return { prefix: `The counter showed ${n} at noon.${filler(g)} At noon the counter showed`, target: ` ${n}`, suffix: '.' }; },
    () => recall(g, RECALLS.coins(g)),
  ])(),
  name: (g) => g.pick([
    () => { const n = V.name(g); return { prefix: `A new customer called ${n} signed up in ${g.pick(CITIES)}.${filler(g)} The new customer is`, target: ` ${n}`, suffix: '.' }; },
    () => { const n = V.name(g); return { prefix: `The prize went to ${n}.${filler(g)} Once more, the prize went to`, target: ` ${n}`, suffix: '.' }; },
    () => recall(g, RECALLS.customerName(g)),
  ])(),
  city: (g) => g.pick([
    () => recall(g, RECALLS.city(g)),
    () => { const c = V.city(g); return { prefix: `The meeting was held in ${c}.${filler(g)} Once more, the meeting was held in`, target: ` ${c}`, suffix: '.' }; },
  ])(),
  product: (g) => g.pick([
    () => recall(g, RECALLS.bought(g)),
    () => { const p = V.product(g); return { prefix: `Product ${V.id(g)} is the ${p}.${filler(g)} The name of that product is`, target: ` ${p}`, suffix: '.' }; },
  ])(),
  category: (g) => recall(g, RECALLS.category(g)),
  segment: (g) => recall(g, RECALLS.segment(g)),
  status: (g) => recall(g, RECALLS.status(g)),
  channel: (g) => recall(g, RECALLS.channel(g)),
  region: (g) => recall(g, RECALLS.region(g)),
  supplier: (g) => recall(g, RECALLS.supplier(g)),
  merchant: (g) => recall(g, RECALLS.merchant(g)),
  tx_category: (g) => recall(g, RECALLS.txCategory(g)),
  account_type: (g) => recall(g, RECALLS.accountType(g)),
  store: (g) => recall(g, RECALLS.store(g)),
  month: (g) => g.pick([
    () => { const m = monthValue(g); return { prefix: `The report covers ${m.text}.${filler(g)} As a date, ${m.text} is written`, target: ` ${m.iso}`, suffix: '.' }; },
    () => { const m = monthValue(g); return { prefix: `In ${m.text}, written ${m.iso}, ${g.pick(PEOPLE)} counted the orders.${filler(g)} The month of the count is`, target: ` ${m.iso}`, suffix: '.' }; },
    () => { const m = monthValue(g); return { prefix: `${cap(g.pick(PEOPLE))} looked at the sales of ${m.text}.${filler(g)} In the form year-month that month is`, target: ` ${m.iso}`, suffix: '.' }; },
  ])(),
  year: (g) => g.pick([
    () => recall(g, RECALLS.joined(g)),
    () => { const m = monthValue(g); return { prefix: `The orders of ${m.text} were counted.${filler(g)} The year of those orders is`, target: ` ${m.year}`, suffix: '.' }; },
    () => { const y = V.year(g); return { prefix: `The sales of ${y} were high. For the year ${y} the filter is strftime('%Y', order_date) =`, target: ` '${y}'`, suffix: ';' }; },
  ])(),
  amount: (g) => g.pick([
    () => { const a = V.amount(g); const who = V.person(g); const p = V.product(g); return { prefix: `${who} paid ${a} euros for the ${p}.${filler(g, { avoid: [who, p] })} For the ${p}, ${who} paid`, target: ` ${a}`, suffix: ' euros.' }; },
    () => recall(g, RECALLS.balance(g)),
  ])(),
  quoted: (g) => {
    const [col, v] = g.pick([
      () => ['city', V.city(g)], () => ['category', g.pick(CATEGORIES)], () => ['status', g.pick(STATUSES)], () => ['merchant', V.merchant(g)],
      () => ['name', V.name(g)], () => ['supplier', V.supplier(g)], () => ['segment', g.pick(SEGMENTS)], () => ['region', g.pick(REGIONS)],
      () => ['type', g.pick(ACCOUNT_TYPES)], () => ['channel', g.pick(CHANNELS)], () => ['name', V.product(g)],
    ])();
    return g.pick([
      () => ({ prefix: `The value ${v}, quoted as an SQL string, is`, target: ` '${v}'`, suffix: '.' }),
      () => ({ prefix: `${cap(V.person(g))} wanted the rows for ${v}.${filler(g)} The filter for ${v} is ${col} =`, target: ` '${v}'`, suffix: '.' }),
      () => ({ prefix: `Rows where ${col} is ${v} match ${col} =`, target: ` '${v}'`, suffix: '.' }),
    ])();
  },
  list: (g) => {
    const draw = g.pick([() => V.city(g), () => V.first(g), () => V.id(g), () => V.product(g), () => V.word(g), () => g.pick(MONTHS)]);
    const xs = g.distinct(g.int(3, 6), draw);
    const text = xs.join(', ');
    return g.pick([
      () => ({ prefix: `${cap(V.person(g))} wrote a list: ${text}.${filler(g)} The same list in the same order:`, target: ` ${text}`, suffix: '.' }),
      () => ({ prefix: `The stops are ${text}. Read them again:`, target: ` ${text}`, suffix: '.' }),
    ])();
  },
  key_value: (g) => recall(g, RECALLS.code(g)),
  span: (g) => {
    const s = Array.from({ length: g.int(3, 7) }, () => V.word(g)).join(' ');
    return g.pick([
      () => ({ prefix: `Say after me: ${s}.${filler(g)} Again:`, target: ` ${s}`, suffix: '.' }),
      () => ({ prefix: `The password is ${s}. I repeat, the password is`, target: ` ${s}`, suffix: '.' }),
    ])();
  },
};

export function copyItem(g, kind) {
  const make = ITEMS[kind];
  if (!make) throw new Error(`copy item: unknown kind '${kind}' (expected one of ${COPY_KINDS.join(', ')})`);
  return make(g);
}

// ---------------------------------------------------------------- copy drills (corpus only, never in the probe)
// Paragraphs where most tokens can only be predicted by copying, so that the gradient towards an induction head (attend
// to the token after the earlier occurrence of the current one, and copy it) is strong in every batch.

/** Shuffled copy of xs (Fisher–Yates over the drawer). */
export const shuffled = (g, xs) => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = g.int(0, i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};

/** One element of a drill span: a made-up or common word, a number, a name, a city, a product, a month, a code. */
const spanElement = (g) => g.pick([() => word(g), () => V.word(g), () => V.number(g), () => V.first(g), () => V.city(g), () => V.product(g), () => g.pick(MONTHS), () => V.code(g)])();

const SPAN_OPENERS = ['Copy this line:', 'Read the line:', 'The line is:', 'Listen:', 'The sequence is'];
const SPAN_AGAIN = ['Again:', 'Once more:', 'Copy:', 'Repeat:', 'The same line:', 'And again,'];

/** A random span of 4–14 elements, then the same span 2–4 times more: every repetition is copied token by token. */
export function spanDrill(g) {
  const span = Array.from({ length: g.int(4, 14) }, () => spanElement(g)).join(' ');
  const repeats = g.int(2, 4);
  const again = Array.from({ length: repeats }, () => ` ${g.pick(SPAN_AGAIN)} ${span}.`).join('');
  return { text: `${g.pick(SPAN_OPENERS)} ${span}.${g.chance(0.3) ? ` ${english(g)}` : ''}${again}`, span, repeats };
}

/** 3–7 facts of one keyed recall, then 2–5 of them recalled in another order, each followed by its answer. */
export function recallDrill(g) {
  const { key, value, state, ask, end = '.' } = g.pick(Object.values(RECALLS))(g);
  const pairs = keyedPairs(key, value, g.int(3, 7));
  const facts = pairs.map(([k, v]) => state(k, v)).join(' ');
  const asked = shuffled(g, pairs).slice(0, g.int(2, Math.max(2, pairs.length)));
  const answers = asked.map(([k, v]) => `${filler(g, { rows: true, avoid: pairs.map(([a]) => a) })} ${ask(k)} ${v}${end}`).join('');
  return { text: `${facts}${answers}`, pairs, asked };
}

/** A named list of 4–10 values, recalled in order once or twice later. */
export function listDrill(g) {
  const draw = g.pick([() => V.city(g), () => V.first(g), () => V.id(g), () => V.product(g), () => V.word(g), () => g.pick(MONTHS), () => V.number(g), () => V.name(g)]);
  const text = g.distinct(g.int(4, 10), draw).join(', ');
  const name = `list ${g.pick(COMMON)}`;
  const repeats = g.int(1, 2);
  const again = Array.from({ length: repeats }, () => `${filler(g)} The ${name}, in the same order: ${text}.`).join('');
  return { text: `The ${name} is ${text}.${again}`, list: text, repeats };
}
