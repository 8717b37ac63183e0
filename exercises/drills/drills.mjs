// The interview drills: loading, validated against schema.json (used by the terminal quiz drill.mjs and the test
// suite); grading one answer lives in grade.mjs, which the site's quiz imports too.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { misconceptionsIn } from './grade.mjs';

const dir = new URL('.', import.meta.url).pathname;

export class DrillFormatError extends Error {}

/** Every section file, validated; throws DrillFormatError naming the file and the failing field. */
export function loadDrills(from = dir) {
  const ajv = new Ajv({ allErrors: true });
  const schema = JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8'));
  const validate = ajv.compile(schema);
  const kinds = schema.properties.questions.items.oneOf.map((branch) => branch.properties.type.const);
  const sections = [];
  for (const f of readdirSync(from).filter((x) => /^section-\d+\.json$/.test(x)).sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8)))) {
    let data;
    try {
      data = JSON.parse(readFileSync(join(from, f), "utf8"));
    } catch (e) {
      throw new DrillFormatError(`exercises/drills/${f}: not valid JSON (${e.message})`);
    }
    if (!validate(data)) {
      throw new DrillFormatError(`exercises/drills/${f}: ${firstError(validate.errors, data, kinds)}`);
    }
    for (const q of data.questions) {
      if (!q.id.startsWith(`${data.section}.`)) throw new DrillFormatError(`exercises/drills/${f}: question ${q.id} is not numbered in section ${data.section}`);
      if (q.type === 'mcq' && q.options.filter((o) => o.correct).length !== 1) throw new DrillFormatError(`exercises/drills/${f}: question ${q.id} must have exactly one correct option`);
      if (q.type === 'short') checkMisconceptions(`exercises/drills/${f}: question ${q.id}`, q);
    }
    sections.push(data);
  }
  return sections;
}

/**
 * The error to report. A question is checked against the schema of each kind (oneOf): report what the schema of its
 * own kind says (/questions/3/unit …), not that it lacks another kind's fields.
 */
function firstError(errors, data, kinds) {
  const own = errors.filter((e) => {
    const branch = /\/oneOf\/(\d+)\//.exec(e.schemaPath);
    if (!branch) return e.keyword !== 'oneOf';
    const q = /^\/questions\/(\d+)/.exec(e.instancePath);
    return q !== null && kinds[Number(branch[1])] === data.questions[Number(q[1])]?.type;
  });
  own.sort((x, y) => y.instancePath.split('/').length - x.instancePath.split('/').length); // the most specific first
  if (own.length) return `${own[0].instancePath || '(root)'} ${own[0].message}`;
  const q = /^\/questions\/\d+/.exec(errors[0].instancePath);
  return q ? `${q[0]}/type must be one of ${kinds.join(', ')}` : `${errors[0].instancePath || '(root)'} ${errors[0].message}`;
}

/** Each misconception's patterns compile, match its own text, and none matches the model answer. */
function checkMisconceptions(where, q) {
  q.misconceptions.forEach((mc, i) => {
    for (const p of mc.patterns) {
      try { new RegExp(p, 'i'); } catch (e) { throw new DrillFormatError(`${where}: misconceptions[${i}].patterns: not a regular expression: ${e.message}`); }
    }
    if (!misconceptionsIn({ misconceptions: [mc] }, mc.text).length) throw new DrillFormatError(`${where}: misconceptions[${i}].patterns do not match its own text "${mc.text}"`);
  });
  const stated = misconceptionsIn(q, q.modelAnswer);
  if (stated.length) throw new DrillFormatError(`${where}: the modelAnswer states the misconception "${stated[0].text}"`);
}

export * from './grade.mjs';
