/**
 * How big a piece the native kernels (lib/native) make at once, in one place for the callers that pass it to the addon
 * (backend/nativeOps.ts, models/gemma/fusedLayer.ts). The TF.js path's pieces are layers/pieces.ts's.
 */

/**
 * Values in a piece the native kernels (lib/native) make right before the product that reads it: a 4-bit weight's
 * dequantized rows in the fused layer, a bf16 head chunk expanded to float32. 1M float32 values, 4 MB, so that the
 * product reads the piece from cache: on a 253M-parameter QLoRA step 1.78 s against 2.18 s with 4M-value pieces,
 * and the head's call at a 32000 × 1024 bf16 table 164 ms against 256 ms.
 */
export const CACHED_PIECE_ELEMENTS = 2 ** 20;

/** The most logits the native head keeps for its gradient pass (16M, 64 MB); above it each chunk is computed again. */
export const MAX_KEPT_LOGITS = 2 ** 24;
