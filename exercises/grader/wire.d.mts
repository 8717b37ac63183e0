/** Types of wire.mjs, for the tests. */
export declare const MAX_FRAME: number;
export type Ref = [path: (string | number)[], handle: number, kind: 'function' | 'object'];
export declare function frame(message: unknown): Buffer;
export declare class FrameReader {
  push(chunk: Buffer): Buffer[];
}
export declare function isPlainObject(v: object): boolean;
export declare function encode(value: unknown, handleOf: (v: object) => number | undefined): { data: unknown; refs: Ref[] };
export declare function checkData<T>(v: T, path?: (string | number)[]): T;
export declare function placeRefs(data: unknown, refs: unknown, make: (h: number, kind: 'function' | 'object') => unknown): unknown;
export declare function decodeFrame(body: Buffer): unknown;
