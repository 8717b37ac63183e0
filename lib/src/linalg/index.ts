/** Dense linear algebra in float64 (SVD, matmul) for initialisations, analysis and teaching. */
export * from './svd.js';
