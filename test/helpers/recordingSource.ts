import { MemorySource, type ByteSource } from 'loralab/io';

/** A byte source that records every read, so tests can check the reader never asks for more than the file holds. */
export class RecordingSource implements ByteSource {
  readonly reads: { offset: number; length: number }[] = [];
  private readonly inner: MemorySource;
  constructor(bytes: Uint8Array, readonly name = 'fuzz.safetensors') {
    this.inner = new MemorySource(bytes, name);
  }
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Uint8Array {
    this.reads.push({ offset, length });
    return this.inner.read(offset, length);
  }
  close(): void {}
  get bytesRead(): number {
    return this.reads.reduce((s, r) => s + r.length, 0);
  }
}
