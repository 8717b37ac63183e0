/**
 * How big a dense piece LoRA Lab materialises at once, in one place for the layers that cut their work into pieces
 * and for the memory prediction that counts them (no TF.js here, so `loralab/memory` stays light).
 */

/** Values in the largest dense piece: 4M float32 values, 16 MB (a 4-bit layer's dequantized rows, a head chunk). */
export const DENSE_PIECE_ELEMENTS = 2 ** 22;

/** Rows of the tied output head per matmul for an embedding width: DENSE_PIECE_ELEMENTS values, at least 256 rows. */
export function headChunkRows(embeddingDim: number): number {
  return Math.max(256, Math.floor(DENSE_PIECE_ELEMENTS / embeddingDim));
}
