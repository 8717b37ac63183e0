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
  const validate = ajv.compile(JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8')));
  const sections = [];
  for (const f of readdirSync(from).filter((x) => /^section-\d+\.json$/.test(x)).sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8)))) {
    let data;
    try {
      data = JSON.parse(readFileSync(join(from, f), "utf8"));
    } catch (e) {
      throw new DrillFormatError(`exercises/drills/${f}: not valid JSON (${e.message})`);
    }
    if (!validate(data)) {
      const e = validate.errors[0];
      throw new DrillFormatError(`exercises/drills/${f}: ${e.instancePath || '(root)'} ${e.message}`);
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
