/**
 * bf16 lives in numerics/bf16.ts; this path stays because the site's NF4 playground and build import
 * `roundToBf16` from quant/bf16.js.
 */
export * from '../numerics/bf16.js';
