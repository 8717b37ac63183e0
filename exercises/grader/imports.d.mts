/** Types of imports.mjs, for the tests. */
export declare function resolveAllowed(root: string, spec: string): string | null;
export declare function checkImports(js: string, o: { root: string; forbiddenImports?: string[]; forbiddenModules?: string[] }): { refusals: string[]; code: string; library: boolean };
