import type { Server } from 'node:http';
export declare function pickEncoding(accept: string | undefined): 'br' | 'gzip' | null;
export declare function resolvePath(dir: string, urlPath: string): string | null;
export declare function createSiteServer(dir: string): Server;
