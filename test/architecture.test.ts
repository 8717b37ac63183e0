/**
 * The library's layer rule (lib/ARCHITECTURE.md) and its public face, checked from the source.
 *
 * 1. Every relative import in lib/src goes down the floor list below or stays in its own folder: a folder may import
 *    a folder on a strictly lower floor, never one on its own floor or above.
 * 2. Notebooks (code cells and notebooks/src) and exercises import loralab only through the subpaths that
 *    lib/package.json "exports" lists, and only names those entry points export.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const src = join(root, 'lib', 'src');

/** Floors, lowest first. Folders on one floor are independent of each other. */
export const FLOORS: readonly (readonly string[])[] = [
  ['numerics', 'util'], // dtypes, bf16/float16 codecs, numel; seeded random numbers
  ['linalg', 'viz', 'sql'], // float64 linear algebra; figure specs; the text-to-SQL grader
  ['io'], // safetensors, checkpoints, tokenizers, PEFT/Python JSON
  ['quant'], // NF4/FP4/8-bit blockwise, double quantization, bitsandbytes' files
  ['backend'], // TF.js backend choice and per-backend kernels (over quant's formats)
  ['layers'], // Module tree, Linear, Linear4bit, LoraLinear, adapters, embedding, norms
  ['models'], // Gemma: config, model, loader, saver
  ['peft'], // LoraConfig, injection, adapter files, methods' modules, parameter formulas
  ['train', 'memory'], // the trainer and its pieces; the memory calculator
  ['cli', 'webgpu'], // the loralab command; the browser/WebGPU session
  ['(index)'], // lib/src/index.ts, the package root
];

const floorOf = new Map<string, number>(FLOORS.flatMap((names, i) => names.map((n) => [n, i] as const)));

/** The top folder of a file under lib/src ('(index)' for files at the root). */
function folderOf(file: string): string {
  const parts = relative(src, file).split(sep);
  return parts.length === 1 ? '(index)' : parts[0];
}

function walk(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : walk(path, keep);
    return keep(name) ? [path] : [];
  });
}

/** Module specifiers of a TypeScript text: static imports, re-exports, `import()` and `import x = require()`. */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

describe('layer rule in lib/src', () => {
  const files = walk(src, (n) => n.endsWith('.ts') && !n.endsWith('.d.ts'));

  it('knows the floor of every folder', () => {
    const unknown = [...new Set(files.map(folderOf))].filter((f) => !floorOf.has(f));
    expect(unknown, 'add these folders to FLOORS and to lib/ARCHITECTURE.md').toEqual([]);
  });

  it('has no import that runs up the floor list or across a floor', () => {
    const violations = files.flatMap((file) => upwardImports(file, specifiers(readFileSync(file, 'utf8'))));
    expect(violations).toEqual([]);
  });

  it('flags an upward import and a sideways one, and passes a downward one', () => {
    const lora = join(src, 'layers', 'lora.ts');
    expect(upwardImports(lora, ['../train/trainer.js', '../layers/module.js', './linear.js', '../numerics/dtype.js'])).toEqual([
      'lib/src/layers/lora.ts (layers) imports ../train/trainer.js (train)',
    ]);
    expect(upwardImports(join(src, 'train', 'trainer.ts'), ['../memory/index.js'])).toHaveLength(1);
  });
});

/** The imports of `file` (relative specifiers) that reach a folder on its own floor or above. */
function upwardImports(file: string, specs: string[]): string[] {
  const from = folderOf(file);
  return specs
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({ spec, to: folderOf(resolve(dirname(file), spec)) }))
    .filter(({ to }) => to !== from && (floorOf.get(to) ?? Infinity) >= floorOf.get(from)!)
    .map(({ spec, to }) => `${relative(root, file)} (${from}) imports ${spec} (${to})`);
}

// ---- the public face -------------------------------------------------------------------------------------------

const pkg = JSON.parse(readFileSync(join(root, 'lib', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
/** 'loralab' and 'loralab/<sub>' for every export key except package.json. */
const publicSpecifiers = Object.keys(pkg.exports)
  .filter((k) => k !== './package.json')
  .map((k) => (k === '.' ? 'loralab' : `loralab/${k.slice(2)}`));

function entryOf(spec: string): string {
  return spec === 'loralab' ? join(src, 'index.ts') : join(src, spec.slice('loralab/'.length), 'index.ts');
}

interface Use {
  where: string;
  spec: string;
  names: string[];
}

/** The loralab imports of a text, with the names each one binds (`import { a, type B }` gives a and B). */
function loralabUses(where: string, text: string): Use[] {
  const sf = ts.createSourceFile(where, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const uses: Use[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text;
      const names: string[] = [];
      if (ts.isImportDeclaration(node)) {
        const bindings = node.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) names.push((el.propertyName ?? el.name).text);
      } else if (node.exportClause && ts.isNamedExports(node.exportClause)) {
        for (const el of node.exportClause.elements) names.push((el.propertyName ?? el.name).text);
      }
      uses.push({ where, spec, names });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg)) uses.push({ where, spec: arg.text, names: [] });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return uses.filter((u) => u.spec === 'loralab' || u.spec.startsWith('loralab/') || /(^|\/)lib\/(src|dist)\//.test(u.spec));
}

function notebookCode(file: string): string {
  const nb = JSON.parse(readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string | string[] }[] };
  return nb.cells
    .filter((c) => c.cell_type === 'code')
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source))
    .join('\n;\n');
}

function learnerFacingUses(): Use[] {
  const nbDir = join(root, 'notebooks');
  const uses: Use[] = [];
  for (const f of walk(nbDir, (n) => n.endsWith('.ipynb'))) uses.push(...loralabUses(relative(root, f), notebookCode(f)));
  for (const f of walk(join(nbDir, 'src'), (n) => n.endsWith('.ts'))) uses.push(...loralabUses(relative(root, f), readFileSync(f, 'utf8')));
  for (const f of walk(join(root, 'exercises'), (n) => /\.(ts|mts|mjs|js)$/.test(n) && !n.endsWith('.d.ts') && !n.endsWith('.d.mts'))) {
    uses.push(...loralabUses(relative(root, f), readFileSync(f, 'utf8')));
  }
  return uses;
}

/** Names (values and types) exported by each public entry point, read by the type checker from lib/src. */
function exportedNames(specs: string[]): Map<string, Set<string>> {
  const program = ts.createProgram(specs.map(entryOf), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const out = new Map<string, Set<string>>();
  for (const spec of specs) {
    const sf = program.getSourceFile(entryOf(spec));
    const sym = sf && checker.getSymbolAtLocation(sf);
    out.set(spec, new Set(sym ? checker.getExportsOfModule(sym).map((s) => s.name) : []));
  }
  return out;
}

describe('notebooks and exercises use the public exports of loralab', () => {
  const uses = learnerFacingUses();

  it('finds the imports it checks', () => {
    expect(uses.length).toBeGreaterThan(20);
    expect(uses.some((u) => u.where.endsWith('.ipynb'))).toBe(true);
    expect(uses.some((u) => u.where.startsWith('exercises'))).toBe(true);
  });

  it('imports only subpaths in lib/package.json "exports"', () => {
    const bad = uses.filter((u) => !publicSpecifiers.includes(u.spec)).map((u) => `${u.where}: ${u.spec}`);
    expect(bad).toEqual([]);
  });

  it('imports only names those subpaths export', () => {
    const specs = [...new Set(uses.map((u) => u.spec))].filter((s) => publicSpecifiers.includes(s));
    const names = exportedNames(specs);
    const missing = uses.flatMap((u) => u.names.filter((n) => !names.get(u.spec)?.has(n)).map((n) => `${u.where}: ${n} from ${u.spec}`));
    expect(missing).toEqual([]);
  }, 120_000);
});
