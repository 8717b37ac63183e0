/**
 * "Did you mean" for an unknown flag. Commander proposes flags within a small edit distance, but never a one-letter
 * name, so `--rank` gets no `--r`, and it says nothing when a required option is missing at the same time; here, in
 * order: snake_case spelled with hyphens, what PEFT and Hugging Face's Trainer call the same setting, a flag one or two
 * edits away, the flags the word begins.
 */

/** Names other tools use for LoRA Lab's flags (PEFT's LoraConfig, transformers' TrainingArguments). */
const SYNONYMS: Record<string, string> = {
  rank: 'r',
  'lora-r': 'r',
  'lora-rank': 'r',
  alpha: 'lora-alpha',
  dropout: 'lora-dropout',
  targets: 'target-modules',
  'learning-rate': 'lr',
  'max-steps': 'steps',
  'gradient-accumulation-steps': 'grad-accum',
  'per-device-train-batch-size': 'batch-size',
  'output-dir': 'out',
  'max-seq-length': 'max-length',
  'seq-length': 'seq-len',
  'sequence-length': 'seq-len',
};

/** Flags of `known` (long forms, with `--`) the user may have meant by `flag`; empty when none is likely. */
export function suggestOption(flag: string, known: readonly string[]): string[] {
  const word = flag.replace(/^-+/, '').split('=')[0].toLowerCase().replace(/_/g, '-');
  if (!word) return [];
  const has = (name: string) => known.includes(`--${name}`);
  if (has(word)) return [`--${word}`];
  const synonym = SYNONYMS[word];
  if (synonym && has(synonym)) return [`--${synonym}`];
  if (word.length >= 4) {
    const close = known.filter((k) => editDistance(word, k.slice(2)) <= 2);
    if (close.length) return close;
  }
  return [...new Set(known.filter((k) => k.slice(2).startsWith(word)))];
}

/** Levenshtein distance with adjacent transpositions counted as one edit (restricted Damerau). */
export function editDistance(a: string, b: string): number {
  // d[i][j]: edits turning a[0, i) into b[0, j)
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
