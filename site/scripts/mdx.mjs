// Markdown (from notebooks and exercise READMEs) to MDX: code kept literal, TeX to <Math> (KaTeX at build time),
// repository links to site routes, everything else escaped so that MDX does not read it as JSX.

/** Titles go into the sidebar and <title> as plain text: inline TeX becomes Unicode ("$\\Delta W = BA$" → "ΔW = BA"). */
export const plainTitle = (t) => t.replace(/\$([^$]+)\$/g, (_, tex) => tex.replace(/\\Delta\s*/g, 'Δ').replace(/\\alpha/g, 'α').replace(/_0/g, '₀').replace(/_\{?r\}?/g, 'ᵣ').replace(/[{}\\]/g, ''));

/** Site route of a repository-relative link target, or null to drop the link. */
export function route(target) {
  const t = target.replace(/^(\.\.\/)+/, '').replace(/^\.\//, '');
  let m;
  if ((m = /^notebooks\/(\d\d-[a-z0-9-]+)\.ipynb$/.exec(t))) return `/notebooks/${m[1]}`;
  if ((m = /^exercises\/drills(\/README\.md)?\/?$/.exec(t))) return '/drills';
  if ((m = /^exercises\/(\d\d-[a-z0-9-]+)(\/README\.md)?\/?$/.exec(t))) return `/exercises/${m[1]}`;
  if (/^exercises\/?(README\.md)?$/.test(t)) return '/exercises';
  return null;
}

/** Escape text for MDX outside code: braces and angle brackets would be parsed as JSX. */
export const escText = (s) => s.replace(/\\/g, '\\\\').replace(/([{}<>])/g, '\\$1');

/**
 * One markdown cell to MDX: code spans and fenced blocks kept literal, math turned into <Math> (rendered by KaTeX at
 * build time), links rewritten, the rest escaped.
 */
export function mdToMdx(md, from) {
  const out = [];
  const lines = md.split('\n');
  let i = 0;
  while (i < lines.length) {
    if (/^```/.test(lines[i])) {
      const start = i++;
      while (i < lines.length && !/^```/.test(lines[i])) i++;
      out.push(lines.slice(start, i + 1).join('\n'));
      i++;
      continue;
    }
    if (/^\$\$/.test(lines[i].trim())) {
      const buf = [lines[i].trim().replace(/^\$\$/, '')];
      let closed = /\$\$$/.test(buf[0]) && buf[0].length > 0;
      if (closed) buf[0] = buf[0].replace(/\$\$$/, '');
      while (!closed && ++i < lines.length) {
        if (/\$\$\s*$/.test(lines[i])) { buf.push(lines[i].replace(/\$\$\s*$/, '')); closed = true; } else buf.push(lines[i]);
      }
      out.push(`<Math display tex={${JSON.stringify(buf.join('\n').trim())}} />`);
      i++;
      continue;
    }
    out.push(inline(lines[i], from));
    i++;
  }
  return out.join('\n');
}

export function inline(line, from) {
  // tokens: `code`, $math$, [text](link), plain text
  const re = /(`[^`]+`)|(\$[^$\n]+\$)|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  let out = '';
  let m;
  const heading = /^(#{1,6} |\s*[-*] |\s*\d+\. |\s*\| |\s*> )/.exec(line)?.[0] ?? '';
  const body = line.slice(heading.length);
  while ((m = re.exec(body))) {
    out += escText(body.slice(last, m.index));
    if (m[1]) out += m[1];
    else if (m[2]) out += `<Math tex={${JSON.stringify(m[2].slice(1, -1))}} />`;
    else {
      const r = /^https?:/.test(m[4]) ? m[4] : route(m[4]);
      const text = inline(m[3], from);
      out += r ? `[${text}](${r})` : text;
      if (!r && !/^https?:/.test(m[4])) process.stderr.write(`generate: ${from}: link to ${m[4]} has no page on the site; kept as text\n`);
    }
    last = m.index + m[0].length;
  }
  return heading + out + escText(body.slice(last));
}

/** A fenced code block; `meta` goes after the language (title="…"). */
export const fence = (lang, text, meta = '') => {
  const t = text.replace(/\n+$/, '');
  const ticks = t.includes('```') ? '````' : '```';
  return `${ticks}${lang}${meta ? ` ${meta}` : ''}\n${t}\n${ticks}`;
};
