/** Types of grade.mjs, for the tests. */
export declare const HEAP_MB: number;
export declare const ADDRESS_SPACE_MB: number;
export declare function listExercises(): string[];
export interface GradeResult {
  score: number;
  max: number;
  /** The report, line by line, as the CLI prints it. */
  lines: string[];
  passedAll: boolean;
  results: { name: string; ok: boolean }[];
  /** The learner's process (and process group) id, or null when none was started. */
  sandboxPid: number | null;
  /** The sandbox's layers on this machine (launch.mjs). */
  layers: string[];
}
/** skipImportCheck runs a file the import check refuses (for tests of the sandbox alone). */
export declare function grade(slug: string, file: string, opts?: { skipTypeCheck?: boolean; skipImportCheck?: boolean }): GradeResult;
