/**
 * Random access to bytes, so that a reader takes one tensor out of a 5 GB file without loading the rest.
 * Every byte the safetensors reader holds comes through `read`, which never asks for more than the source has.
 */
import { openSync, readSync, closeSync, fstatSync, constants } from 'node:fs';
import { FileReadError } from './errors.js';

export interface ByteSource {
  /** Name used in error messages (the file path). */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the caller has checked offset + length <= size. */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | null;
  /**
   * Opens without blocking (a FIFO would otherwise wait for a writer forever) and accepts only a regular file:
   * anything else fails with `code` EISDIR or ENOTREG.
   */
  constructor(readonly name: string) {
    const fd = openSync(name, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      const what = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : 'a device or other special file';
      throw new FileReadError(`is ${what}, not a regular file`, { file: name }, st.isDirectory() ? 'EISDIR' : 'ENOTREG');
    }
    this.fd = fd;
    this.size = st.size;
  }
  read(offset: number, length: number): Uint8Array {
    if (this.fd === null) throw new FileReadError('file already closed', { file: this.name });
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FileReadError(`read of ${length} bytes at ${offset} is outside the file (${this.size} bytes)`, { file: this.name });
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new FileReadError('file ended early (truncated while reading?)', { file: this.name });
      done += n;
    }
    return out;
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(private readonly bytes: Uint8Array, readonly name = '<memory>') {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FileReadError(`read of ${length} bytes at ${offset} is outside the buffer (${this.size} bytes)`, { file: this.name });
    }
    return this.bytes.slice(offset, offset + length);
  }
  close(): void {}
}
