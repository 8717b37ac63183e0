/**
 * A Hugging Face checkpoint folder's weights: `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` (`{"metadata": {...}, "weight_map": {name: shard file}}`). Tensors are read by
 * offset from whichever shard holds them; nothing is loaded until asked for.
 */
import { LoraLabError } from '../util/errors.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, type RawTensor, type TensorInfo } from './safetensors.js';

export class CheckpointError extends LoraLabError {
  override name = 'CheckpointError';
}

export class CheckpointWeights {
  private readonly readers = new Map<string, SafetensorsReader>();
  private readonly where = new Map<string, string>();

  private constructor(readonly dir: string) {}

  static open(dir: string): CheckpointWeights {
    if (!existsSync(dir)) throw new CheckpointError('no such directory', { file: dir });
    if (!statSync(dir).isDirectory()) throw new CheckpointError('not a directory (expected a Hugging Face model folder)', { file: dir });
    const ckpt = new CheckpointWeights(dir);
    const single = join(dir, 'model.safetensors');
    const index = join(dir, 'model.safetensors.index.json');
    if (existsSync(index)) {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(index, 'utf8'));
      } catch (e) {
        throw new CheckpointError(`not valid JSON (${(e as Error).message})`, { file: index });
      }
      const map = (json as { weight_map?: unknown } | null)?.weight_map;
      if (!map || typeof map !== 'object' || Array.isArray(map)) throw new CheckpointError(`missing field 'weight_map' (an object of tensor name -> shard file)`, { file: index });
      for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
        if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) throw new CheckpointError(`weight_map['${name}'] must be a file name in the folder, got ${JSON.stringify(shard)}`, { file: index });
        ckpt.where.set(name, shard);
      }
      try {
        for (const shard of new Set(ckpt.where.values())) {
          const path = join(dir, shard);
          if (!existsSync(path)) throw new CheckpointError(`shard '${shard}' is listed but ${path} does not exist`, { file: index });
          const r = SafetensorsReader.open(path);
          ckpt.readers.set(shard, r);
          for (const n of ckpt.namesIn(shard)) if (!r.has(n)) throw new CheckpointError(`'${n}' is mapped to ${shard}, which has no such tensor`, { file: index });
        }
      } catch (e) {
        ckpt.close(); // the shards opened before the bad one
        throw e;
      }
    } else if (existsSync(single)) {
      const r = SafetensorsReader.open(single);
      ckpt.readers.set('model.safetensors', r);
      for (const n of r.names()) ckpt.where.set(n, 'model.safetensors');
    } else {
      throw new CheckpointError('no model.safetensors or model.safetensors.index.json (LoRA Lab reads safetensors checkpoints)', { file: dir });
    }
    return ckpt;
  }

  private namesIn(shard: string): string[] {
    return [...this.where.entries()].filter(([, s]) => s === shard).map(([n]) => n);
  }

  names(): string[] {
    return [...this.where.keys()];
  }
  has(name: string): boolean {
    return this.where.has(name);
  }
  fileOf(name: string): string {
    const shard = this.where.get(name);
    if (!shard) throw new CheckpointError(`no tensor named '${name}'`, { file: this.dir });
    return join(this.dir, shard);
  }
  info(name: string): TensorInfo {
    return this.reader(name).info(name);
  }
  read(name: string): RawTensor {
    return this.reader(name).read(name);
  }
  /** Elements [start, end) of a tensor, read alone (see SafetensorsReader.readElements). */
  readElements(name: string, start: number, end: number): RawTensor {
    return this.reader(name).readElements(name, start, end);
  }
  get(name: string): RawTensor | undefined {
    return this.has(name) ? this.read(name) : undefined;
  }
  private reader(name: string): SafetensorsReader {
    const shard = this.where.get(name);
    if (!shard) throw new CheckpointError(`no tensor named '${name}'`, { file: this.dir });
    return this.readers.get(shard)!;
  }
  /** Total bytes of tensor data. */
  totalBytes(): number {
    let s = 0;
    for (const n of this.names()) {
      const t = this.info(n);
      s += t.dataOffsets[1] - t.dataOffsets[0];
    }
    return s;
  }
  close(): void {
    for (const r of this.readers.values()) r.close();
  }
}
