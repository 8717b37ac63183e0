// What a graded file may import, checked on its compiled JavaScript before it runs: only `loralab` (and its
// subpaths) and `@tensorflow/tfjs`, never another file, a Node builtin or a module name computed at run time; and
// none of the library functions an exercise asks the learner to write (its `forbiddenImports`), by name, through a
// namespace (`import * as`, `export *`, `import()`), or from a module it forbids whole (`forbiddenModules`).
// Allowed specifiers are rewritten to the library's files, so that the learner's process, which may read only
// those files, resolves nothing by itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const ALLOWED_PACKAGES = ['@tensorflow/tfjs'];

/** `spec` as a file URL, or null when a graded file may not import it. */
export function resolveAllowed(root, spec) {
  if (spec === 'loralab' || spec.startsWith('loralab/')) {
    const exp = JSON.parse(readFileSync(join(root, 'lib/package.json'), 'utf8')).exports;
    const entry = exp[spec === 'loralab' ? '.' : `./${spec.slice('loralab/'.length)}`];
    const file = typeof entry === 'string' ? entry : entry?.import ?? entry?.default;
    return file ? pathToFileURL(join(root, 'lib', file)).href : null;
  }
  if (ALLOWED_PACKAGES.includes(spec)) return import.meta.resolve(spec);
  return null;
}

const isLibrary = (spec) => spec === 'loralab' || spec.startsWith('loralab/') || ALLOWED_PACKAGES.includes(spec);
const within = (spec, mods) => mods.some((m) => spec === m || spec.startsWith(`${m}/`));

/**
 * Checks the imports of `js` (an ES module) for an exercise. Returns { refusals, code, library }: the reasons the
 * file is not graded (empty when it is), the code with every import pointing at a file, and whether it imports the
 * library at all (the sandbox may then read it).
 */
export function checkImports(js, { root, forbiddenImports = [], forbiddenModules = [] }) {
  const sf = ts.createSourceFile('learner.mjs', js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const refusals = [];
  const edits = [];
  let library = false;
  const deny = (msg) => refusals.includes(msg) || refusals.push(msg);
  const writeIt = forbiddenImports.length ? ` (this exercise asks you to write ${forbiddenImports.join(', ')} yourself)` : '';
  const specifier = (lit, names) => {
    const spec = lit.text;
    if (within(spec, forbiddenModules)) return deny(`it imports '${spec}', which this exercise does not allow`);
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('file:')) return deny(`it imports '${spec}': a graded file cannot import other files (copy what you need into it)`);
    const url = isLibrary(spec) ? resolveAllowed(root, spec) : null;
    if (!url) return deny(`it imports '${spec}': a graded file may import only from loralab and @tensorflow/tfjs`);
    if (names === '*' && forbiddenImports.length && spec.startsWith('loralab')) deny(`it imports all of '${spec}' at once (import * / export * / import()): import the names you use${writeIt}`);
    else if (Array.isArray(names)) for (const n of names.filter((x) => forbiddenImports.includes(x))) deny(`it imports ${n} from '${spec}', which this exercise asks you to write yourself`);
    library = true;
    edits.push({ start: lit.getStart(sf), end: lit.getEnd(), text: JSON.stringify(url) });
    return undefined;
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const b = c?.namedBindings;
      if (b && ts.isNamespaceImport(b)) specifier(node.moduleSpecifier, '*');
      else specifier(node.moduleSpecifier, [...(c?.name ? ['default'] : []), ...(b && ts.isNamedImports(b) ? b.elements.map((e) => (e.propertyName ?? e.name).text) : [])]);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.exportClause;
      specifier(node.moduleSpecifier, c && ts.isNamedExports(c) ? c.elements.map((e) => (e.propertyName ?? e.name).text) : '*');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) specifier(arg, '*');
      else deny('it calls import() with a module name computed at run time');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  let code = js;
  for (const e of edits.sort((a, b) => b.start - a.start)) code = code.slice(0, e.start) + e.text + code.slice(e.end);
  return { refusals, code, library };
}
