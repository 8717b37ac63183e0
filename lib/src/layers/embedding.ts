/**
 * Token embedding with Gemma's tied output head. A frozen embedding stays in its checkpoint storage (bf16 bits or
 * float32) outside TF.js and only the rows a batch needs become a tensor; the output head multiplies by the table in
 * vocabulary chunks and recomputes the chunks in backward, so the full float32 table never exists. A trainable
 * embedding (full fine-tuning) is a tf.Variable.
 */
import * as tf from '@tensorflow/tfjs';
import { bf16ToF32, toBf16 } from '../numerics/bf16.js';
import { Module, type ParamInfo } from './module.js';
import { matmulXWt, productXWt } from './linear.js';
import { filledTensor } from '../backend/heap.js';
import { kernelBackend } from '../backend/kernels.js';
import { nativeBf16Tensor } from '../backend/nativeOps.js';
import { headChunkRows } from './pieces.js';
import { ArgumentError, ShapeError } from '../util/errors.js';

function weightLengthError(length: number, numEmbeddings: number, embeddingDim: number): ShapeError {
  return new ShapeError(`has ${length} values`, { file: 'Embedding', field: 'weight', expected: `${numEmbeddings * embeddingDim} for [${numEmbeddings}, ${embeddingDim}]` });
}

export class Embedding extends Module {
  private bf16: Uint16Array | null = null;
  private f32: Float32Array | null = null;
  variable: tf.Variable | null = null;
  private metaTrainable = false;
  /**
   * Rows of the output head per matmul: 4M values (16 MB as float32) per chunk, so that the chunk, its tensor and the
   * matmul's packed copy stay small — 2,048 rows at Gemma-2B's width (a 256,000-row table), all 4,096 of gemma-micro.
   */
  chunkRows: number;
  /** A shape-only table (for counting parameters). */
  readonly meta: boolean = false;
  /** The frozen table on the GPU (webgpu backend only), uploaded once: lookups and head chunks are slices of it. */
  private resident: { backend: tf.KernelBackend; table: tf.Tensor2D } | null = null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    weight: { bf16?: Uint16Array; f32?: Float32Array; meta?: true },
  ) {
    super();
    this.chunkRows = headChunkRows(embeddingDim);
    const n = numEmbeddings * embeddingDim;
    if (weight.meta) {
      this.meta = true;
    } else if (weight.bf16) {
      if (weight.bf16.length !== n) throw weightLengthError(weight.bf16.length, numEmbeddings, embeddingDim);
      this.bf16 = weight.bf16;
    } else if (weight.f32) {
      if (weight.f32.length !== n) throw weightLengthError(weight.f32.length, numEmbeddings, embeddingDim);
      this.f32 = weight.f32;
    } else {
      throw new ArgumentError('no weight given', { file: 'Embedding', field: 'weight', expected: '{ bf16 }, { f32 } or { meta: true }' });
    }
  }

  get storageDtype(): 'bfloat16' | 'float32' {
    return this.bf16 ? 'bfloat16' : 'float32';
  }

  /** Rows [start, end) as float32 values. */
  rows(start: number, end: number): Float32Array {
    const d = this.embeddingDim;
    if (this.meta) throw new ArgumentError('a meta Embedding has no weights', { file: 'Embedding' });
    if (this.variable) {
      const slice = this.variable.slice([start, 0], [end - start, d]);
      const values = slice.dataSync() as Float32Array;
      slice.dispose();
      return values;
    }
    if (this.f32) return this.f32.subarray(start * d, end * d);
    const out = new Float32Array((end - start) * d);
    this.bf16RowsInto(start, out);
    return out;
  }

  /** bf16 storage rows from `start` on, expanded exactly to float32 into `out` (as many rows as it holds). */
  private bf16RowsInto(start: number, out: Float32Array): void {
    const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
    const src = this.bf16!;
    for (let i = 0, j = start * this.embeddingDim; i < o.length; i++, j++) o[i] = src[j] << 16;
  }

  /**
   * Rows [start, end) as a float32 tensor, written straight into TF.js's wasm heap from bf16 storage: the output head
   * makes one per vocabulary chunk, forward and backward, and a JavaScript copy of each was garbage.
   */
  rowsTensor(start: number, end: number): tf.Tensor2D {
    const d = this.embeddingDim;
    const table = this.residentTable();
    if (table) return table.slice([start, 0], [end - start, d]);
    if (!this.bf16) return tf.tensor2d(this.rows(start, end), [end - start, d]);
    return nativeBf16Tensor(this.bf16, start * d, [end - start, d]) ?? filledTensor<tf.Rank.R2>([end - start, d], (out) => this.bf16RowsInto(start, out));
  }

  /**
   * On the webgpu backend, the frozen table as one float32 tensor on the GPU, made at first use outside every tidy
   * scope (bf16 storage expands exactly); null on other backends and for a trainable table.
   */
  residentTable(): tf.Tensor2D | null {
    if (this.variable || this.meta || kernelBackend() !== 'webgpu') return null;
    const backend = tf.backend();
    if (this.resident?.backend === backend) return this.resident.table;
    this.releaseResident();
    const table = tf.keep(tf.tensor2d(this.rows(0, this.numEmbeddings), [this.numEmbeddings, this.embeddingDim]));
    this.resident = { backend, table };
    return table;
  }

  private releaseResident(): void {
    this.resident?.table.dispose();
    this.resident = null;
  }

  /** The frozen table as stored in host memory (float32 values or bf16 patterns), for a native kernel; null otherwise. */
  hostTable(): Float32Array | Uint16Array | null {
    return this.variable || this.meta ? null : (this.f32 ?? this.bf16);
  }

  /** All values as float32 (allocates the full table). */
  denseWeight(): Float32Array {
    return this.rows(0, this.numEmbeddings).slice();
  }

  /** Embedding lookup: ids [B][T] -> [B, T, D]. */
  forward(ids: number[][]): tf.Tensor3D {
    const B = ids.length;
    const T = ids[0]?.length ?? 0;
    for (const [b, row] of ids.entries()) if (row.length !== T) throw new ShapeError(`sequence ${b} has ${row.length} tokens, sequence 0 has ${T}`, { file: 'Embedding', field: 'ids', expected: 'all sequences in a batch of the same length (pad them)' });
    for (const row of ids) for (const id of row) if (!Number.isInteger(id) || id < 0 || id >= this.numEmbeddings) throw new ArgumentError(`token id ${id} is outside the vocabulary [0, ${this.numEmbeddings})`, { file: 'Embedding', field: 'ids', expected: `integers in [0, ${this.numEmbeddings})` });
    const d = this.embeddingDim;
    if (this.variable) return this.gatherTrainable(ids.flat(), B, T);
    const table = this.residentTable();
    if (table) return tf.tidy(() => tf.gather(table, tf.tensor1d(ids.flat(), 'int32')).reshape([B, T, d]) as tf.Tensor3D);
    const out = new Float32Array(B * T * d);
    let k = 0;
    for (const row of ids) {
      for (const id of row) {
        if (this.f32) out.set(this.f32.subarray(id * d, (id + 1) * d), k);
        else for (let j = 0; j < d; j++) out[k + j] = bf16ToF32(this.bf16![id * d + j]);
        k += d;
      }
    }
    return tf.tensor3d(out, [B, T, d]);
  }

  /**
   * Lookup with a gradient for the table: dE[id] += dy[row] for every position (a scatter-add done in JavaScript,
   * since the wasm backend has no UnsortedSegmentSum kernel for tf.gather's gradient).
   */
  private gatherTrainable(flat: number[], B: number, T: number): tf.Tensor3D {
    const d = this.embeddingDim;
    const V = this.numEmbeddings;
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const table = args[0] as tf.Tensor2D;
      return {
        value: tf.tidy(() => tf.gather(table, tf.tensor1d(flat, 'int32')).reshape([B, T, d])),
        gradFunc: (dy: tf.Tensor) => {
          const g = dy.dataSync() as Float32Array;
          const dE = new Float32Array(V * d);
          flat.forEach((id, row) => {
            const o = id * d;
            const r = row * d;
            for (let j = 0; j < d; j++) dE[o + j] += g[r + j];
          });
          return tf.tensor2d(dE, [V, d]);
        },
      };
    });
    return op(this.variable!) as tf.Tensor3D;
  }

  /** Tied output head: h [..., D] -> logits [..., V] = h Eᵀ, by vocabulary chunks. */
  project(h: tf.Tensor): tf.Tensor {
    const d = this.embeddingDim;
    const V = this.numEmbeddings;
    if (this.variable) return tf.tidy(() => matmulXWt(h.reshape([-1, d]) as tf.Tensor2D, this.variable as tf.Tensor2D, { weightGrad: this.variable!.trainable }).reshape([...h.shape.slice(0, -1), V]));
    const chunk = this.chunkRows;
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const hIn = args[0] as tf.Tensor;
      const lead = hIn.shape.slice(0, -1);
      const h2 = hIn.reshape([-1, d]) as tf.Tensor2D;
      const parts: tf.Tensor2D[] = [];
      for (let s = 0; s < V; s += chunk) {
        const e = Math.min(V, s + chunk);
        const w = this.rowsTensor(s, e);
        parts.push(productXWt(h2, w)); // h · E[s:e]ᵀ
        w.dispose();
      }
      const value = (parts.length === 1 ? parts[0] : tf.concat(parts, 1)).reshape([...lead, V]);
      return {
        value,
        // dL/dh = dL/dlogits · E, chunk by chunk; the (frozen) table gets no gradient.
        gradFunc: (dy: tf.Tensor) =>
          tf.tidy(() => {
            const dy2 = dy.reshape([-1, V]) as tf.Tensor2D;
            let dh: tf.Tensor | null = null;
            for (let s = 0; s < V; s += chunk) {
              const e = Math.min(V, s + chunk);
              const w = this.rowsTensor(s, e);
              const part = tf.matMul(dy2.slice([0, s], [-1, e - s]) as tf.Tensor2D, w);
              w.dispose(); // one chunk of the table at a time, not the whole table until the tidy ends
              const sum: tf.Tensor = dh ? dh.add(part) : part;
              if (dh) tf.dispose([dh, part]);
              dh = sum;
            }
            return dh!.reshape([...lead, d]);
          }),
      };
    });
    return tf.tidy(() => op(h) as tf.Tensor);
  }

  /** Make the table a trainable tf.Variable (full fine-tuning), or freeze it back into its storage. */
  protected override setOwnTrainable(t: boolean): void {
    if (this.meta) {
      this.metaTrainable = t;
      return;
    }
    if (t && !this.variable) {
      this.releaseResident();
      this.variable = tf.variable(tf.tensor2d(this.denseWeight(), [this.numEmbeddings, this.embeddingDim]), true);
      this.f32 = null;
      this.bf16 = null;
    } else if (!t && this.variable) {
      const values = this.variable.dataSync() as Float32Array;
      this.variable.dispose();
      this.variable = null;
      this.f32 = values.slice();
    }
  }

  /** The table in bf16 bits (for saving). */
  toBf16(): Uint16Array {
    return this.bf16 ?? toBf16(this.denseWeight());
  }

  override ownParameters(): ParamInfo[] {
    const trainable = this.meta ? this.metaTrainable : !!this.variable?.trainable;
    return [{ name: 'weight', shape: [this.numEmbeddings, this.embeddingDim], numel: this.numEmbeddings * this.embeddingDim, trainable, variable: this.variable ?? undefined }];
  }
  protected override disposeOwn(): void {
    this.variable?.dispose();
    this.releaseResident();
  }
}
