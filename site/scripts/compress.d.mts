export declare const COMPRESSIBLE: RegExp;
export declare function compressTree(dir: string): { files: number; bytes: number; br: number; gz: number };
