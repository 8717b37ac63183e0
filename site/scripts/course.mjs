// notebooks/course.json: the course around the notebooks (objective, time, what you learn and need, takeaways, demos,
// interactive figures). Read and checked here, so that a wrong field stops the build with one error naming the file,
// the field and what was expected, before any page is written.
import { readFileSync } from 'node:fs';

/** The components a course.json explorable may name (site/src/components/<name>.tsx). */
export const EXPLORABLES = ['LoraRankExplorer', 'LoraScalingExplorer', 'Nf4Explorer'];

class CourseError extends Error {}

/**
 * @typedef {{ component: string, section: string }} Explorable
 * @typedef {{ objective: string, minutes: number, prerequisites: string[], learn: string[], takeaways: string[], demos: string[], explorables: Explorable[] }} NotebookCourse
 * @typedef {{ title: string, objective: string, notebooks: string[] }} DemoCourse
 * @typedef {{ notebooks: Record<string, NotebookCourse>, demos: Record<string, DemoCourse> }} Course
 */

/**
 * Parse and check course.json text. `notebookSlugs` are the notebooks that exist: every one needs an entry, and no
 * entry may name another. Throws one Error naming `file`, the field and what was expected.
 * @param {string} text @param {string} file @param {string[]} notebookSlugs @returns {Course}
 */
export function parseCourse(text, file, notebookSlugs) {
  const fail = (field, expected, got) => { throw new CourseError(`${file}: ${field}: expected ${expected}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`); };
  let raw;
  try { raw = JSON.parse(text); } catch (e) { throw new CourseError(`${file}: is not JSON (${e.message})`); }
  const obj = (v, field) => (v && typeof v === 'object' && !Array.isArray(v) ? v : fail(field, 'an object', v));
  const str = (v, field) => (typeof v === 'string' && v.trim() ? v : fail(field, 'a non-empty string', v));
  const strs = (v, field, { optional = false, min = 1 } = {}) => {
    if (v === undefined && optional) return [];
    if (!Array.isArray(v) || v.length < min) fail(field, `a list of at least ${min} strings`, v);
    return v.map((s, i) => str(s, `${field}[${i}]`));
  };
  obj(raw, '(top level)');
  const demosRaw = obj(raw.demos, 'demos');
  const demos = {};
  const nbRaw = obj(raw.notebooks, 'notebooks');
  for (const [slug, d] of Object.entries(demosRaw)) {
    const f = `demos.${slug}`;
    obj(d, f);
    const notebooks = strs(d.notebooks, `${f}.notebooks`);
    notebooks.forEach((n, i) => { if (!notebookSlugs.includes(n)) fail(`${f}.notebooks[${i}]`, `one of the notebooks (${notebookSlugs.join(', ')})`, n); });
    demos[slug] = { title: str(d.title, `${f}.title`), objective: str(d.objective, `${f}.objective`), notebooks };
  }
  const notebooks = {};
  for (const slug of Object.keys(nbRaw)) if (!notebookSlugs.includes(slug)) fail(`notebooks.${slug}`, `a notebook in notebooks/ (${notebookSlugs.join(', ')})`);
  for (const slug of notebookSlugs) {
    const f = `notebooks.${slug}`;
    const n = nbRaw[slug];
    if (n === undefined) fail(f, `an entry for notebooks/${slug}.ipynb (objective, minutes, prerequisites, learn, takeaways)`);
    obj(n, f);
    if (!Number.isInteger(n.minutes) || n.minutes < 1 || n.minutes > 600) fail(`${f}.minutes`, 'a whole number of minutes from 1 to 600', n.minutes);
    const demoList = strs(n.demos, `${f}.demos`, { optional: true });
    demoList.forEach((d, i) => { if (!(d in demos)) fail(`${f}.demos[${i}]`, `one of the demos (${Object.keys(demos).join(', ')})`, d); });
    const explorables = (n.explorables === undefined ? [] : Array.isArray(n.explorables) ? n.explorables : fail(`${f}.explorables`, 'a list', n.explorables)).map((e, i) => {
      const g = `${f}.explorables[${i}]`;
      obj(e, g);
      const component = str(e.component, `${g}.component`);
      if (!EXPLORABLES.includes(component)) fail(`${g}.component`, `one of ${EXPLORABLES.join(', ')}`, component);
      return { component, section: str(e.section, `${g}.section`) };
    });
    notebooks[slug] = {
      objective: str(n.objective, `${f}.objective`),
      minutes: n.minutes,
      prerequisites: strs(n.prerequisites, `${f}.prerequisites`),
      learn: strs(n.learn, `${f}.learn`),
      takeaways: strs(n.takeaways, `${f}.takeaways`),
      demos: demoList,
      explorables,
    };
  }
  return { notebooks, demos };
}

/** @param {string} path @param {string[]} notebookSlugs @returns {Course} */
export function loadCourse(path, notebookSlugs) {
  let text;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new CourseError(`${path}: cannot be read (${e.code ?? e.message})`); }
  return parseCourse(text, path, notebookSlugs);
}
