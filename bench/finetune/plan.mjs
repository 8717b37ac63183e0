// The fine-tuning experiments as data: one table of runs, each a plain record that says what to train, how, and what
// to measure. bench/finetune.mjs executes the table run by run (resumable); nothing about a run lives anywhere else.
//
// Groups (--only): lr-grid, headline, rank-fixed-alpha, rank-alpha-2r, rank-rslora, targets, forgetting, planted.
// A run's `lr` is a number or 'tuned' (the best of its method's lr-grid, by validation loss); `needs` names the runs
// it reads (a forgetting measurement reads a trained model, a planted student the teacher's data).

/**
 * Learning-rate grids, a factor ≈ 3 apart around the values earlier runs used untuned (full 5e-4, prefix 1e-2, rest
 * 5e-3); adapters' and prefix tuning's moved one step up after both chose the top of their grid on gemma-micro-copy-v6
 * (bench/results/finetune-gemma-micro-copy-v6/finetune.json), so that the choice is not the grid's edge.
 */
export const LR_GRID = {
  lora: [1e-3, 3e-3, 1e-2, 3e-2],
  qlora: [1e-3, 3e-3, 1e-2, 3e-2],
  full: [1e-4, 3e-4, 1e-3, 3e-3],
  adapter: [3e-3, 1e-2, 3e-2, 1e-1],
  prefix: [1e-2, 3e-2, 1e-1, 3e-1],
};
/** Tokens per training example and per generated query that the runs on the earlier bases used; the floor of the defaults. */
export const MIN_MAX_LENGTH = 128;
export const MIN_MAX_NEW_TOKENS = 96;
export const HEADLINE = [
  { name: 'lora-r8', method: 'lora', r: 8 },
  { name: 'qlora-r8', method: 'qlora', r: 8 },
  { name: 'full', method: 'full' },
  { name: 'adapter-r8', method: 'adapter', r: 8 },
  { name: 'prefix-r8', method: 'prefix', r: 8 },
];
export const RANKS = [1, 2, 4, 8, 16, 32, 64];
/** The LoRA paper's protocol: α fixed (at the value tuned for r = 8) while r varies, so γ = α/r shrinks as r grows. */
export const FIXED_ALPHA = 16;
/** rsLoRA (Kalajdzievski 2023): γ = α/√r, with α chosen so that r = 8 has the same γ as the headline LoRA (16/8 = 2). */
export const RSLORA_ALPHA = 2 * Math.sqrt(8);
/**
 * The planted-rank teacher: ΔW of rank k on q_proj and v_proj of every layer, ‖ΔW‖_F = 2 ‖W‖_F. Measured on
 * gemma-micro (8 held-out corpus paragraphs): KL(teacher ‖ base) = 0.064 nats/token at 2 ‖W‖ and 0.0008 at 0.5 ‖W‖
 * (too small a signal to see a curve in), while the teacher stays a language model (corpus loss 0.847 vs 0.808).
 */
export const PLANTED = { k: 4, targets: 'q_proj,v_proj', relativeNorm: 2, seed: 4242, trainQuestions: 2000, heldOutQuestions: 64 };
export const GROUPS = ['lr-grid', 'headline', 'rank-fixed-alpha', 'rank-alpha-2r', 'rank-rslora', 'targets', 'forgetting', 'planted'];

/**
 * PEFT's adapter_config has use_rslora; `loralab train` takes lora_alpha, so rsLoRA at rank r is written as the
 * plain LoRA with the same scaling: γ = α/√r = α'/r  ⇔  α' = α·√r. The weights and their training are identical.
 */
export const rsloraAsPlainAlpha = (alpha, r) => alpha * Math.sqrt(r);

/** LoRA's trainable parameters per unit of rank: Σ over adapted linears of (in + out), from config.json's shapes. */
export function loraParamsPerRank(config, targets) {
  const h = config.hidden_size;
  const q = config.num_attention_heads * config.head_dim;
  const kv = config.num_key_value_heads * config.head_dim;
  const m = config.intermediate_size;
  const sizes = { q_proj: h + q, k_proj: h + kv, v_proj: h + kv, o_proj: q + h, gate_proj: h + m, up_proj: h + m, down_proj: m + h };
  const names = targets === 'all-linear' ? Object.keys(sizes) : targets.split(',');
  return config.num_hidden_layers * names.reduce((s, n) => s + sizes[n], 0);
}

/**
 * The target-module ablation at comparable trainable parameters: all-linear at r = 2 sets the budget, and q,v and
 * q,k,v,o get the rank that comes closest to it.
 */
export function targetAblation(config) {
  const budget = 2 * loraParamsPerRank(config, 'all-linear');
  return ['q_proj,v_proj', 'q_proj,k_proj,v_proj,o_proj', 'all-linear'].map((targets) => {
    const r = Math.max(1, Math.round(budget / loraParamsPerRank(config, targets)));
    return { targets, r, trainableParameters: r * loraParamsPerRank(config, targets) };
  });
}

/**
 * The whole table. `seeds` (3 for the real plan), `ranks`, `methods` and `gridPoints` (how many learning rates of
 * each grid, taken from its middle outwards) let a smoke test run a tiny version of the same table.
 */
export function buildPlan(config, { seeds = [0, 1, 2], ranks = RANKS, methods = HEADLINE.map((h) => h.method), gridPoints = 4 } = {}) {
  const runs = [];
  const lora = (extra) => ({ method: 'lora', targets: 'all-linear', ...extra });
  const pickGrid = (grid) => {
    const mid = (grid.length - 1) / 2;
    const order = grid.map((_, i) => i).sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid) || a - b);
    return order.slice(0, gridPoints).sort((a, b) => a - b).map((i) => grid[i]);
  };
  for (const h of HEADLINE.filter((x) => methods.includes(x.method))) {
    for (const lr of pickGrid(LR_GRID[h.method])) {
      runs.push({ group: 'lr-grid', ...h, name: `grid-${h.name}-lr${lr}`, name0: h.name, lr, seed: 0, measure: 'valid-loss', ...(h.r ? { targets: 'all-linear', loraAlpha: 2 * h.r } : {}) });
    }
  }
  runs.push({ group: 'headline', name: 'base', method: null, measure: 'sql' });
  for (const h of HEADLINE.filter((x) => methods.includes(x.method))) {
    for (const seed of seeds) runs.push({ group: 'headline', ...h, name: `${h.name}-s${seed}`, name0: h.name, lr: 'tuned', seed, measure: 'sql', ...(h.r ? { targets: 'all-linear', loraAlpha: 2 * h.r } : {}) });
  }
  if (methods.includes('lora')) {
    for (const r of ranks) {
      runs.push({ group: 'rank-fixed-alpha', name: `rank-fixed-r${r}`, ...lora({ r, loraAlpha: FIXED_ALPHA }), name0: 'lora-r8', lr: 'tuned', seed: 0, measure: 'sql' });
      runs.push({ group: 'rank-alpha-2r', name: `rank-2r-r${r}`, ...lora({ r, loraAlpha: 2 * r }), name0: 'lora-r8', lr: 'tuned', seed: 0, measure: 'sql' });
      runs.push({ group: 'rank-rslora', name: `rank-rslora-r${r}`, ...lora({ r, loraAlpha: rsloraAsPlainAlpha(RSLORA_ALPHA, r), rslora: { alpha: RSLORA_ALPHA } }), name0: 'lora-r8', lr: 'tuned', seed: 0, measure: 'sql' });
    }
    for (const t of targetAblation(config)) {
      runs.push({ group: 'targets', name: `targets-${t.targets === 'all-linear' ? 'all' : t.targets.replace(/_proj/g, '').replace(/,/g, '')}-r${t.r}`, ...lora({ r: t.r, loraAlpha: 2 * t.r, targets: t.targets }), name0: 'lora-r8', lr: 'tuned', seed: 0, measure: 'sql' });
    }
  }
  runs.push({ group: 'forgetting', name: 'forgetting-base', method: null, measure: 'corpus-loss' });
  for (const m of ['full', 'lora-r8', 'qlora-r8'].filter((n) => methods.includes(HEADLINE.find((h) => h.name === n).method))) {
    runs.push({ group: 'forgetting', name: `forgetting-${m}`, method: null, measure: 'corpus-loss', of: `${m}-s${seeds[0]}`, needs: ['forgetting-base', `${m}-s${seeds[0]}`] });
  }
  if (methods.includes('lora')) {
    runs.push({ group: 'planted', name: 'planted-teacher', method: null, measure: 'teacher', planted: PLANTED });
    for (const r of ranks) runs.push({ group: 'planted', name: `planted-lora-r${r}`, ...lora({ r, loraAlpha: FIXED_ALPHA, targets: PLANTED.targets }), name0: 'lora-r8', lr: 'tuned', seed: 0, measure: 'kl', needs: ['planted-teacher'] });
    if (methods.includes('full')) runs.push({ group: 'planted', name: 'planted-full', method: 'full', name0: 'full', lr: 'tuned', seed: 0, measure: 'kl', needs: ['planted-teacher'] });
  }
  const names = new Set();
  for (const r of runs) {
    if (names.has(r.name)) throw new Error(`finetune plan: two runs named ${r.name}`);
    names.add(r.name);
  }
  // The same training twice (r = 8 with α = 16 is the headline LoRA, the fixed-α, the α = 2r and the rsLoRA point;
  // all-linear r = 2 with α = 4 is in a sweep and in the target ablation): later rows read the first one's result.
  const owner = new Map();
  for (const r of runs) {
    if (r.measure !== 'sql' || !r.method) continue;
    const key = [r.method, r.r, r.loraAlpha === undefined ? '' : r.loraAlpha.toPrecision(12), r.targets, r.seed, r.lr === 'tuned' ? `tuned:${r.name0}` : r.lr].join('|');
    if (owner.has(key)) r.sameAs = owner.get(key);
    else owner.set(key, r.name);
  }
  return runs;
}
