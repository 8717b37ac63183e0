import { useCallback, useEffect, useMemo, useRef, useState, type ChangeEvent, type ReactElement } from 'react';
import BrowserOnly from '@docusaurus/BrowserOnly';
import useBaseUrl from '@docusaurus/useBaseUrl';
import vendor from '@site/src/data/vendor.json';
import { lineChart } from '@loralab/viz/figure.js';
import { gradeSql, type GradedExample } from '@loralab/sql/grade.js';
import type { SqlResult } from '@loralab/sql/database.js';
import type { RunProgress, TabBackendPreference } from '@loralab/webgpu/index.js';
import { useSvgPlot } from './useSvgPlot';
import PlotFrame from './PlotFrame';
import { BrowserSqlDatabase } from '../qloraDemo/sqlClient';
import type { DemoAssets, FromTrainer, ToTrainer, TrainSettings } from '../qloraDemo/protocol';

/**
 * QLoRA fine-tuning in the tab: gemma-micro quantized to NF4 (double quantization, bf16 compute) with LoRA r = 8,
 * trained on the SQL task in a Web Worker (qloraDemo/train.worker.ts) with a live loss curve and tokens/s, stopped
 * and resumed at will; then a held-out question answered by the base model and by the fine-tuned one, both SQL
 * queries run on the task's database in a second worker (sql.js) and graded by LoRA Lab's gradeSql.
 */
type Phase = 'idle' | 'loading' | 'ready' | 'training' | 'stopping' | 'stopped' | 'done' | 'error';
interface Task { schema: string; data: string; test: { question: string; sql: string }[] }
interface Answer { who: 'base' | 'tuned'; sql: string; seconds: number; graded: GradedExample; result: SqlResult }

const assets = (vendor as unknown as { qloraDemo: DemoAssets }).qloraDemo;
const DEFAULTS: TrainSettings = { steps: 300, batchSize: 8, lr: 5e-3, r: 8, maxLength: 128, seed: 0 };
/** Held-out questions offered to ask (the test split: none of them, nor their SQL, is in the train split). */
const QUESTIONS = 12;

function verdict(g: GradedExample): { key: string; text: string } {
  if (g.executionMatch) return { key: 'correct', text: 'correct: same result as the gold SQL' };
  if (g.error) return { key: 'invalid', text: `invalid SQL: ${g.error}` };
  if (g.skeletonMatch) return { key: 'structure', text: 'the gold query\'s structure, other values: a different result' };
  return { key: 'wrong', text: 'runs, but returns a different result' };
}

function preview(r: SqlResult): string {
  if (!r.ok) return '';
  const rows = r.rows.slice(0, 3).map((row) => row.map((v) => (v instanceof Uint8Array ? `blob(${v.length})` : String(v))).join(' | '));
  return `${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${rows.length ? `: ${rows.join(' ; ')}${r.rows.length > 3 ? ' …' : ''}` : ''}`;
}

function initialPreference(): TabBackendPreference {
  const p = new URLSearchParams(window.location.search).get('backend');
  return p === 'webgpu' || p === 'wasm' ? p : 'auto';
}

function Demo(): ReactElement {
  const url = {
    trainWorker: useBaseUrl(assets.trainWorker), sqlWorker: useBaseUrl(assets.sqlWorker), model: useBaseUrl(assets.model),
    train: useBaseUrl(assets.train), task: useBaseUrl(assets.task), tfjsWasm: useBaseUrl(assets.tfjsWasm), sqlWasm: useBaseUrl(assets.sqlWasm),
  };
  const abs = (u: string) => new URL(u, window.location.href).href;
  const [prefer, setPrefer] = useState<TabBackendPreference>(initialPreference);
  const [settings, setSettings] = useState<TrainSettings>(DEFAULTS);
  const [phase, setPhase] = useState<Phase>('idle');
  const [status, setStatus] = useState('');
  const [backend, setBackend] = useState<{ name: string; line: string } | null>(null);
  const [params, setParams] = useState('');
  const [steps, setSteps] = useState<RunProgress[]>([]);
  const [error, setError] = useState('');
  const [task, setTask] = useState<Task | null>(null);
  const [question, setQuestion] = useState(0);
  const [answers, setAnswers] = useState<Answer[] | null>(null);
  const [asking, setAsking] = useState(false);
  const worker = useRef<Worker | null>(null);
  const sql = useRef<BrowserSqlDatabase | null>(null);
  const pending = useRef(new Map<number, { resolve: (a: { sql: string; seconds: number }) => void; reject: (e: Error) => void }>());
  const nextId = useRef(0);
  // where the last resume started: tokens/s is averaged from the step after it (the first step compiles kernels)
  const resumedAt = useRef(0);

  useEffect(() => () => { worker.current?.terminate(); sql.current?.close(); }, []);

  const send = (m: ToTrainer) => worker.current?.postMessage(m);

  const onMessage = useCallback((e: MessageEvent<FromTrainer>) => {
    const m = e.data;
    switch (m.type) {
      case 'backend': setBackend({ name: m.name, line: m.line }); break;
      case 'status': setStatus(m.text); break;
      case 'loaded': setParams(m.parameters); setStatus(`Loaded and quantized in ${m.seconds.toFixed(1)} s; ${m.records.toLocaleString('en-US')} training examples.`); setPhase('ready'); break;
      case 'step': setSteps((s) => [...s, m.progress]); break;
      case 'ended': setPhase(m.why === 'done' ? 'done' : 'stopped'); setStatus(m.why === 'done' ? `Done: ${m.step} steps.` : `Stopped after step ${m.step} (data position: epoch ${m.position.epoch}, example ${m.position.pos}); Resume continues from here.`); break;
      case 'answer': pending.current.get(m.id)?.resolve(m); pending.current.delete(m.id); break;
      case 'error':
        if (m.id !== undefined) { pending.current.get(m.id)?.reject(new Error(m.message)); pending.current.delete(m.id); }
        else { setError(m.message); setPhase((p) => (p === 'loading' ? 'error' : p === 'training' || p === 'stopping' ? 'stopped' : p)); }
        break;
    }
  }, []);

  const load = async () => {
    setPhase('loading');
    setError('');
    setStatus('Starting the training worker…');
    worker.current?.terminate(); // a failed load is retried in a fresh worker
    sql.current?.close();
    const w = new Worker(url.trainWorker, { type: 'module' });
    w.onmessage = onMessage;
    w.onerror = (e) => { setError(`the training worker failed: ${e.message}`); setPhase('error'); };
    worker.current = w;
    send({ type: 'load', assets: { model: abs(url.model), train: abs(url.train), tfjsWasm: abs(url.tfjsWasm) }, prefer, settings });
    try {
      const r = await fetch(url.task);
      if (!r.ok) throw new Error(`${url.task}: HTTP ${r.status}`);
      const t = (await r.json()) as Task;
      sql.current = new BrowserSqlDatabase({ workerUrl: url.sqlWorker, wasm: abs(url.sqlWasm), schema: t.schema, data: t.data });
      setTask({ ...t, test: t.test.slice(0, QUESTIONS) });
    } catch (e) {
      setError(`the task's database did not load: ${(e as Error).message}`);
    }
  };

  const train = () => { resumedAt.current = steps.length; setPhase('training'); setStatus(''); send({ type: 'train' }); };
  const stop = () => { setPhase('stopping'); send({ type: 'stop' }); };

  const generate = (q: string, adapters: boolean) => new Promise<{ sql: string; seconds: number }>((resolve, reject) => {
    const id = nextId.current++;
    pending.current.set(id, { resolve, reject });
    send({ type: 'generate', id, question: q, adapters, maxNewTokens: 96 });
  });

  const ask = async () => {
    if (!task || !sql.current) return;
    const item = task.test[question];
    setAsking(true);
    setAnswers(null);
    setError('');
    try {
      const out: Answer[] = [];
      for (const who of ['base', 'tuned'] as const) {
        const a = await generate(item.question, who === 'tuned');
        const report = await gradeSql(sql.current, [{ question: item.question, gold: item.sql, predicted: a.sql }]);
        out.push({ who, sql: a.sql, seconds: a.seconds, graded: report.examples[0], result: await sql.current.run(a.sql) });
      }
      setAnswers(out);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setAsking(false);
    }
  };

  const last = steps.at(-1);
  const timed = steps.slice(resumedAt.current + 1);
  const meanTps = timed.length ? timed.reduce((s, p) => s + p.tokens, 0) / timed.reduce((s, p) => s + p.seconds, 0) : null;
  const fig = useMemo(() => (steps.length ? lineChart({ title: 'Training loss (answer tokens only; the prompt is masked)', x: 'step', y: 'loss', series: [{ name: 'loss', x: steps.map((p) => p.step), y: steps.map((p) => p.loss) }] }) : null), [steps]);
  const plot = useSvgPlot(fig);
  const loaded = !['idle', 'loading', 'error'].includes(phase);
  const busy = phase === 'training' || phase === 'stopping';
  const setNum = (k: keyof TrainSettings) => (e: ChangeEvent<HTMLInputElement>) => setSettings((s) => ({ ...s, [k]: Number(e.target.value) }));

  return (
    <div className="demo" data-demo="qlora-finetune" data-phase={phase}>
      <div className="demo-controls">
        <label>Backend <select aria-label="backend" value={prefer} disabled={phase !== 'idle' && phase !== 'error'} onChange={(e) => setPrefer(e.target.value as TabBackendPreference)}>
          <option value="auto">auto (WebGPU on a hardware GPU, else wasm)</option><option value="webgpu">WebGPU</option><option value="wasm">wasm</option>
        </select></label>
        <label>Steps <input aria-label="steps" type="number" min={1} max={5000} value={settings.steps} disabled={loaded || phase === 'loading'} onChange={setNum('steps')} /></label>
        <label>Batch <input aria-label="batch size" type="number" min={1} max={32} value={settings.batchSize} disabled={loaded || phase === 'loading'} onChange={setNum('batchSize')} /></label>
        <label>Learning rate <input aria-label="learning rate" type="number" step="0.0005" min={0.0001} value={settings.lr} disabled={loaded || phase === 'loading'} onChange={setNum('lr')} /></label>
      </div>
      <p className="demo-readout" data-testid="qlora-backend" data-backend={backend?.name ?? ''}>
        {backend ? backend.line : 'The backend is chosen when you load the model: WebGPU where this browser has a hardware GPU adapter, TF.js wasm otherwise.'}
      </p>
      <div className="demo-toggles">
        {!loaded && <button className="button button--primary" data-testid="qlora-load" disabled={phase === 'loading'} onClick={load}>Load gemma-micro in 4 bits</button>}
        {loaded && !busy && phase !== 'done' && <button className="button button--primary" data-testid="qlora-train" disabled={asking} onClick={train}>{phase === 'stopped' ? 'Resume' : 'Train'}</button>}
        {busy && <button className="button button--secondary" data-testid="qlora-stop" disabled={phase === 'stopping'} onClick={stop}>Stop</button>}
      </div>
      {status && <p className="demo-note" data-testid="qlora-status">{status}</p>}
      {params && <p className="demo-note" data-testid="qlora-params">LoRA r = {settings.r}, α = {2 * settings.r} on every linear layer of a 4-bit base: {params}</p>}
      {error && <p className="quiz-refused" data-testid="qlora-error">{error}</p>}
      <p className="demo-readout" data-testid="qlora-progress" data-step={last?.step ?? 0} data-losses={JSON.stringify(steps.map((p) => +p.loss.toFixed(4)))} data-step-seconds={JSON.stringify(steps.map((p) => +p.seconds.toFixed(3)))} data-step-tokens={JSON.stringify(steps.map((p) => p.tokens))} data-tokens-per-second={meanTps === null ? '' : meanTps.toFixed(1)}>
        {last
          ? <>step <strong>{last.step}</strong> / {last.steps} · loss <strong>{last.loss.toFixed(3)}</strong> · lr {last.lr.toExponential(2)} · <strong>{(last.tokens / last.seconds).toFixed(0)}</strong> tokens/s this step{meanTps !== null && <>, {meanTps.toFixed(0)} on average</>} (batch tokens, padding included, as <code>loralab train</code> counts them)</>
          : 'No step yet.'}
      </p>
      <PlotFrame fig={fig} plot={plot} testId="qlora-loss" />
      {task && loaded && (
        <div data-testid="qlora-ask">
          <div className="demo-controls">
            <label>Held-out question <select aria-label="question" value={question} onChange={(e) => { setQuestion(Number(e.target.value)); setAnswers(null); }}>
              {task.test.map((q, i) => <option key={i} value={i}>{q.question}</option>)}
            </select></label>
            <button className="button button--secondary" data-testid="qlora-ask-button" disabled={busy || asking} onClick={ask}>{asking ? 'Generating…' : 'Ask the base and the fine-tuned model'}</button>
          </div>
          <p className="demo-note">Gold SQL: <code>{task.test[question].sql}</code></p>
          {answers && (
            <div className="demo-scroll"><table className="demo-steps">
              <thead><tr><th>model</th><th>generated SQL</th><th>graded in SQLite</th><th>its result</th></tr></thead>
              <tbody>{answers.map((a) => { const v = verdict(a.graded); return (
                <tr key={a.who} data-testid={`qlora-answer-${a.who}`} data-verdict={v.key}>
                  <td>{a.who === 'base' ? 'base (adapters off)' : `fine-tuned (step ${last?.step ?? 0})`}</td>
                  <td><code>{a.sql || '(nothing)'}</code></td><td>{v.text}</td><td>{preview(a.result)}</td>
                </tr>); })}</tbody>
            </table></div>
          )}
        </div>
      )}
    </div>
  );
}

export default function QloraDemo(): ReactElement {
  return <BrowserOnly fallback={<p>The demo runs in your browser once the page has loaded.</p>}>{() => <Demo />}</BrowserOnly>;
}
