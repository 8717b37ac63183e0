import type { NotebookCourse } from './course.mjs';
export declare const CELL_CAP: number;
export declare const FOLD_IMPORTS_FROM: number;
export declare function splitImports(lines: string[]): { imports: string[]; rest: string[]; statements: number };
export declare function statementBreaks(lines: string[]): number[];
export declare function splitCell(lines: string[], cap?: number): string[][];
export declare function codeCellMdx(source: string): string[];
export interface Figure { id: string; json: string; svg: string | null }
export declare function outputsMdx(outputs: object[] | undefined, ctx: { slug: string; file: string; figures: Figure[] | { id: string }[] }): string[];
export declare function notebookToMdx(nb: { cells: object[] }, o: { slug: string; file: string; course: NotebookCourse; courseFile: string }): { mdx: string; title: string; figures: Figure[] };
