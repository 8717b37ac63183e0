export * from './figure.js';
export { figureToSvg, niceTicks } from './svg.js';
export { show, showTable, figureBundle, figureToText, PLOTLY_MIME, type MimeBundle } from './display.js';
