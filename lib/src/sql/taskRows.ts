/**
 * The rows of the text-to-SQL task's database, drawn by one seeded generator. scripts/make-sql-dataset.mjs calls it
 * with seed 20241128 and the uniform draw to write datasets/sql/data.sql; the test suite (testSuite.ts) calls it with
 * other seeds and a skewed draw to make variants of that database: the same schema and the same labels (store and
 * product names, which questions name), every value and relation re-drawn.
 */
import { Rng } from '../util/rng.js';

export const SHIPPED_SEED = 20241128;

export const CITIES = ['Paris', 'Lyon', 'Berlin', 'Munich', 'Madrid', 'Lisbon', 'Rome', 'Milan', 'Vienna', 'Prague', 'Dublin', 'Oslo', 'Warsaw', 'Athens', 'Brussels', 'Zurich'] as const;
export const COUNTRY: Record<string, string> = { Paris: 'France', Lyon: 'France', Berlin: 'Germany', Munich: 'Germany', Madrid: 'Spain', Lisbon: 'Portugal', Rome: 'Italy', Milan: 'Italy', Vienna: 'Austria', Prague: 'Czechia', Dublin: 'Ireland', Oslo: 'Norway', Warsaw: 'Poland', Athens: 'Greece', Brussels: 'Belgium', Zurich: 'Switzerland' };
export const FIRST = ['Ana', 'Ben', 'Chloe', 'David', 'Elena', 'Felix', 'Greta', 'Hugo', 'Iris', 'Jonas', 'Klara', 'Leo', 'Mia', 'Nils', 'Olga', 'Paul', 'Rosa', 'Sami', 'Tara', 'Victor'] as const;
export const LAST = ['Novak', 'Schmidt', 'Garcia', 'Rossi', 'Dubois', 'Silva', 'Berg', 'Kowalski', 'Murphy', 'Papas', 'Weber', 'Costa'] as const;
export const SEGMENTS = ['consumer', 'corporate', 'small business'] as const;
export const CATEGORIES = ['electronics', 'grocery', 'apparel', 'home', 'toys'] as const;
export const PRODUCT_NAMES: Record<(typeof CATEGORIES)[number], readonly string[]> = {
  electronics: ['headphones', 'laptop', 'tablet', 'phone charger', 'smart watch', 'camera', 'speaker', 'keyboard'],
  grocery: ['coffee beans', 'olive oil', 'green tea', 'pasta', 'dark chocolate', 'rice', 'honey', 'granola'],
  apparel: ['rain jacket', 'wool scarf', 'sneakers', 'denim jeans', 'linen shirt', 'winter boots', 'sun hat', 'hoodie'],
  home: ['desk lamp', 'cookware set', 'bath towel', 'coffee maker', 'plant pot', 'bed sheets', 'wall clock', 'blender'],
  toys: ['puzzle', 'building blocks', 'board game', 'teddy bear', 'kite', 'toy train', 'card game', 'yo-yo'],
};
export const SUPPLIERS = ['Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli'] as const;
export const REGIONS = ['north', 'south', 'east', 'west'] as const;
export const STATUSES = ['shipped', 'delivered', 'cancelled', 'returned'] as const;
export const CHANNELS = ['online', 'in-store'] as const;
export const TX_CATEGORIES = ['groceries', 'rent', 'salary', 'travel', 'utilities', 'dining', 'transfer'] as const;
export const MERCHANTS: Record<(typeof TX_CATEGORIES)[number], readonly string[]> = { groceries: ['FreshMart', 'GreenGrocer'], rent: ['City Homes'], salary: ['Employer'], travel: ['SkyAir', 'RailCo'], utilities: ['PowerNet', 'AquaCo'], dining: ['Bistro 21', 'Noodle Bar'], transfer: ['Bank Transfer'] };
export const ACCOUNT_TYPES = ['checking', 'savings', 'credit'] as const;
export const YEARS = [2022, 2023, 2024] as const;
const STORE_SUFFIXES = ['Central', 'Market', 'Plaza', 'Station'] as const;
/** Order statuses as drawn: delivered three times as often as each other status. */
const STATUS_DRAW = ['shipped', 'delivered', 'delivered', 'delivered', 'cancelled', 'returned'] as const;

export type TaskValue = number | string;
export type TaskRow = TaskValue[];
/** Table name → rows, in the order data.sql inserts them (parents before children). */
export type TaskRows = Record<'customers' | 'products' | 'stores' | 'orders' | 'order_items' | 'accounts' | 'transactions', TaskRow[]>;

/** The seeded draws every value comes from. `pick` takes a key naming the attribute so a skewed draw can weight it. */
export interface TaskDraw {
  rng: Rng;
  pick<T>(xs: readonly T[], key: string): T;
  int(a: number, b: number): number;
  money(a: number, b: number): number;
}

/** Uniform draws: what the shipped database was made with (the exact sequence of rng calls is part of its bytes). */
export function uniformDraw(rng: Rng): TaskDraw {
  return {
    rng,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)],
    int: (a, b) => a + Math.floor(rng.next() * (b - a + 1)),
    money: (a, b) => Math.round((a + rng.next() * (b - a)) * 100) / 100,
  };
}

/**
 * Skewed draws for a test-suite variant: each attribute's values get their own weights, wᵢ ∈ [0.3, 1.7) drawn once
 * per key, so two values that the shipped database happens to give equal counts (customers in Vienna and in Oslo)
 * get different expected counts here. No weight is near 0, so every value still occurs and gold queries keep rows.
 */
export function skewedDraw(rng: Rng): TaskDraw {
  const base = uniformDraw(rng);
  const weights = new Map<string, number[]>();
  return {
    ...base,
    pick: <T>(xs: readonly T[], key: string): T => {
      let w = weights.get(key);
      if (!w || w.length !== xs.length) weights.set(key, (w = xs.map(() => 0.3 + 1.4 * rng.next())));
      let u = rng.next() * w.reduce((a, b) => a + b, 0);
      for (let i = 0; i < xs.length; i++) if ((u -= w[i]) < 0) return xs[i];
      return xs[xs.length - 1];
    },
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Every row of the task's database. `storeNames` fixes the stores' names (a variant keeps the shipped ones, since
 * questions name stores); the suffix is still drawn, so the sequence of draws is the same either way.
 */
export function generateTaskRows(d: TaskDraw, opts: { storeNames?: readonly string[] } = {}): TaskRows {
  const date = (y0: number, y1: number) => `${d.int(y0, y1)}-${pad(d.int(1, 12))}-${pad(d.int(1, 28))}`;
  const rows: TaskRows = { customers: [], products: [], stores: [], orders: [], order_items: [], accounts: [], transactions: [] };
  for (let i = 1; i <= 200; i++) {
    const city = d.pick(CITIES, 'city');
    rows.customers.push([i, `${d.pick(FIRST, 'first')} ${d.pick(LAST, 'last')}`, city, COUNTRY[city], d.pick(SEGMENTS, 'segment'), date(2019, 2024)]);
  }
  let pid = 1;
  for (const cat of CATEGORIES) {
    for (const n of PRODUCT_NAMES[cat]) rows.products.push([pid++, n, cat, cat === 'electronics' ? d.money(20, 900) : d.money(2, 120), d.pick(SUPPLIERS, 'supplier')]);
  }
  for (let i = 1; i <= 12; i++) {
    const city = CITIES[i - 1];
    const suffix = d.pick(STORE_SUFFIXES, 'storeSuffix');
    rows.stores.push([i, opts.storeNames?.[i - 1] ?? `${city} ${suffix}`, city, REGIONS[i % 4]]);
  }
  for (let i = 1; i <= 1500; i++) {
    rows.orders.push([i, d.int(1, 200), d.int(1, 12), date(2022, 2024), d.pick(STATUS_DRAW, 'status'), d.pick(CHANNELS, 'channel')]);
    const n = d.int(1, 4);
    const used = new Set<number>();
    for (let k = 0; k < n; k++) {
      const p = d.int(1, rows.products.length);
      if (used.has(p)) continue;
      used.add(p);
      rows.order_items.push([i, p, d.int(1, 5), rows.products[p - 1][3]]);
    }
  }
  for (let i = 1; i <= 300; i++) rows.accounts.push([i, d.int(1, 200), d.pick(ACCOUNT_TYPES, 'accountType'), d.money(-2000, 20000)]);
  for (let i = 1; i <= 4000; i++) {
    const cat = d.pick(TX_CATEGORIES, 'txCategory');
    const amount = cat === 'salary' ? d.money(1500, 5000) : cat === 'transfer' ? d.money(-1000, 1000) : -d.money(5, cat === 'rent' ? 1800 : 300);
    rows.transactions.push([i, d.int(1, 300), date(2022, 2024), amount, cat, d.pick(MERCHANTS[cat], `merchant:${cat}`)]);
  }
  return rows;
}

/** A SQL string literal: 'O''Brien'. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** data.sql's text: one INSERT per 200 rows of each table, in table order. */
export function taskRowsToSql(rows: TaskRows): string {
  const lit = (v: TaskValue) => (typeof v === 'number' ? String(v) : sqlString(v));
  let data = '-- Seeded rows for schema.sql (generated by scripts/make-sql-dataset.mjs).\n';
  for (const [table, rs] of Object.entries(rows)) {
    for (let i = 0; i < rs.length; i += 200) data += `INSERT INTO ${table} VALUES\n${rs.slice(i, i + 200).map((r) => `(${r.map(lit).join(', ')})`).join(',\n')};\n`;
  }
  return data;
}

/** The shipped database's rows (datasets/sql/data.sql), and the Rng left where the dataset script continues from. */
export function shippedTaskRows(): { rows: TaskRows; rng: Rng } {
  const rng = new Rng(SHIPPED_SEED);
  return { rows: generateTaskRows(uniformDraw(rng)), rng };
}

/** Variant `seed` of the shipped database: same schema and labels, values and relations re-drawn with skewed weights. */
export function variantTaskRows(seed: number, shipped: TaskRows): TaskRows {
  return generateTaskRows(skewedDraw(new Rng(seed)), { storeNames: shipped.stores.map((s) => String(s[1])) });
}
