import katex from 'katex';
import type { ReactElement } from 'react';

/** TeX rendered by KaTeX at build time (server-side), so math shows without client JavaScript. */
export default function Math({ tex, display = false }: { tex: string; display?: boolean }): ReactElement {
  const html = katex.renderToString(tex, { displayMode: display, throwOnError: false, strict: 'ignore' });
  return display ? <div className="math-display" dangerouslySetInnerHTML={{ __html: html }} /> : <span dangerouslySetInnerHTML={{ __html: html }} />;
}
