/** scripts/setup.mjs: the test command's own set-up, with the machine replaced by a fake. */
import { describe, expect, it, vi } from 'vitest';
// @ts-expect-error -- a plain .mjs script without types
import { JOBS, NEEDS, setup } from '../scripts/setup.mjs';

type Need = { why: string; present: () => boolean; debian: string[] };
const fakeNeeds = (present: Record<string, boolean>) =>
  Object.fromEntries(Object.entries(NEEDS as Record<string, Need>).map(([k, v]) => [k, { ...v, present: () => present[k] ?? true }]));

function capture(fn: () => number) {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((l: string) => void lines.push(l));
  try {
    return { code: fn(), lines };
  } finally {
    spy.mockRestore();
  }
}

describe('setup before the test suite', () => {
  it('does nothing when everything is there', () => {
    const apt = vi.fn(() => true);
    const { code, lines } = capture(() => setup('test', { needs: fakeNeeds({}), isRoot: true, hasApt: true, apt }));
    expect(code).toBe(0);
    expect(lines).toEqual([]);
    expect(apt).not.toHaveBeenCalled();
  });

  it('as root installs exactly what is missing, saying what and why', () => {
    const state: Record<string, boolean> = { chromium: false, torch: false };
    const apt = vi.fn((args: string[]) => {
      if (args[0] === 'install') state.chromium = state.torch = true;
      return true;
    });
    const { code, lines } = capture(() => setup('test', { needs: fakeNeeds(state), isRoot: true, hasApt: true, apt }));
    expect(code).toBe(0);
    expect(apt.mock.calls.map((c) => c[0])).toEqual([['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', 'chromium', 'python3-torch']]);
    expect(lines.join('\n')).toMatch(/missing chromium: drives the built site/);
    expect(lines.join('\n')).toMatch(/installing as root: apt-get install -y --no-install-recommends chromium python3-torch/);
  });

  it('without root stops at once with the single command that installs the rest', () => {
    const apt = vi.fn(() => true);
    const { code, lines } = capture(() => setup('test', { needs: fakeNeeds({ jupyterClient: false, openblas: false }), isRoot: false, hasApt: true, apt }));
    expect(code).toBe(1);
    expect(apt).not.toHaveBeenCalled();
    expect(lines.at(-1)).toBe('loralab setup: install them with: sudo apt-get install -y --no-install-recommends python3-nbclient python3-nbformat python3-jupyter-client libopenblas0-pthread');
  });

  it('fails when apt-get fails or the package did not provide the need', () => {
    const failing = capture(() => setup('test', { needs: fakeNeeds({ chromium: false }), isRoot: true, hasApt: true, apt: () => false }));
    expect(failing.code).toBe(1);
    expect(failing.lines.at(-1)).toMatch(/apt-get failed; install them by hand: apt-get install .* chromium/);
    const useless = capture(() => setup('test', { needs: fakeNeeds({ chromium: false }), isRoot: true, hasApt: true, apt: () => true }));
    expect(useless.code).toBe(1);
    expect(useless.lines.at(-1)).toMatch(/still missing: chromium/);
  });

  it('LORALAB_SETUP=check and non-Debian systems only report', () => {
    const apt = vi.fn(() => true);
    expect(capture(() => setup('test', { needs: fakeNeeds({ torch: false }), isRoot: true, hasApt: true, apt, mode: 'check' })).code).toBe(1);
    const other = capture(() => setup('test', { needs: fakeNeeds({ torch: false }), isRoot: true, hasApt: false, apt }));
    expect(other.code).toBe(1);
    expect(other.lines.at(-1)).toMatch(/not a Debian-like system: install the equivalents of python3-torch/);
    expect(apt).not.toHaveBeenCalled();
  });

  it('every job names known needs, and the real checks run on this machine', () => {
    for (const names of Object.values(JOBS as Record<string, string[]>)) for (const n of names) expect(NEEDS).toHaveProperty(n);
    // npm test ran the real setup before vitest: every need of the test job is present now.
    for (const n of (JOBS as Record<string, string[]>).test) expect((NEEDS as Record<string, Need>)[n].present(), `${n} is missing`).toBe(true);
  });
});
