// Types of the parts of scripts/corpus-text.mjs that the tests read.
export const COPY_KINDS: string[];
export const MONTHS: string[];
