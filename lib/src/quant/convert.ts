/**
 * The float codecs live in io/floats.ts and the dtype tables in numerics/; this path stays because the site's build
 * (site/scripts/generate.mjs) imports `toFloat32` from lib/dist/quant/convert.js.
 */
export { toFloat32, fromFloat32, floatTensor } from '../io/floats.js';
