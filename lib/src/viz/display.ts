/**
 * Showing a figure from a notebook. Inside the tslab kernel, `show` sends one display_data message with three
 * representations of the same chart, and each viewer picks the richest it can render:
 *   application/vnd.plotly.v1+json  interactive (JupyterLab's Plotly renderer, VS Code, the LoRA Lab site)
 *   image/svg+xml                   static fallback (classic Notebook, viewers that run no scripts)
 *   text/plain                      the title and the data as text
 * Outside a kernel (scripts, tests) it prints the text form.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Figure } from './figure.js';
import { figureToSvg } from './svg.js';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

export type MimeBundle = Record<string, unknown>;

type WriteDisplayData = (msg: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** tslab's channel to the notebook, when this process is a tslab kernel that is executing a cell. */
function tslabWriter(): WriteDisplayData | null {
  try {
    // the kernel loaded tslab from the project's node_modules; requiring the same file gives the same module instance
    const jupyter = createRequire(join(process.cwd(), 'index.js'))('tslab/dist/jupyter.js') as { lastWriteDisplayData: WriteDisplayData | null };
    return jupyter.lastWriteDisplayData ?? null;
  } catch {
    return null;
  }
}

/** Text form of a figure: its title, then each trace's name and first values. */
export function figureToText(fig: Figure): string {
  const lines = [fig.layout.title.text];
  for (const t of fig.data) {
    if (t.type === 'heatmap') lines.push(`  heatmap ${t.z.length}×${t.z[0]?.length ?? 0}`);
    else {
      const pts = t.x.slice(0, 8).map((x, i) => `${x}: ${Number.isInteger(t.y[i]) ? t.y[i] : Number(t.y[i].toPrecision(4))}`);
      lines.push(`  ${t.name ?? t.type}: ${pts.join(', ')}${t.x.length > 8 ? `, … (${t.x.length} points)` : ''}`);
    }
  }
  return lines.join('\n');
}

export function figureBundle(fig: Figure): MimeBundle {
  return { [PLOTLY_MIME]: fig, 'image/svg+xml': figureToSvg(fig), 'text/plain': figureToText(fig) };
}

/** Display a figure in the notebook; outside one, print its text form. Returns nothing, so a cell shows it once. */
export function show(fig: Figure): void {
  const w = tslabWriter();
  if (w) w({ data: figureBundle(fig), metadata: {}, transient: {} }, false);
  else console.log(figureToText(fig));
}

/** A markdown table, displayed in the notebook (text elsewhere): for the figures a chart plots. */
export function showTable(header: string[], rows: (string | number)[][]): void {
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : Number(v.toPrecision(4)).toString()) : v);
  const md = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
  const w = tslabWriter();
  if (w) w({ data: { 'text/markdown': md, 'text/plain': md }, metadata: {}, transient: {} }, false);
  else console.log(md);
}
