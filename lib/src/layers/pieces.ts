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

/**
 * Values in a piece the native kernels (lib/native) make right before the product that reads it: a 4-bit weight's
 * dequantized rows in the fused layer, a bf16 head chunk expanded to float32. 1M float32 values, 4 MB, so that the
 * product reads the piece from cache: on a 253M-parameter QLoRA step 1.78 s against 2.18 s with 4M-value pieces,
 * and the head's call at a 32000 × 1024 bf16 table 164 ms against 256 ms.
 */
export const CACHED_PIECE_ELEMENTS = 2 ** 20;

/** The most logits the native head keeps for its gradient pass (16M, 64 MB); above it each chunk is computed again. */
export const MAX_KEPT_LOGITS = 2 ** 24;
