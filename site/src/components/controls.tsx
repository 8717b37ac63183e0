import type { ReactElement } from 'react';

/**
 * A labelled range input (keyboard: arrows, Page Up/Down, Home/End; touch: drag), its value shown beside the label.
 * `label` is the accessible name the tests use.
 */
export function Slider({ label, text, value, min, max, step = 1, onChange }: { label: string; text?: string; value: number; min: number; max: number; step?: number; onChange: (v: number) => void }): ReactElement {
  return (
    <label>
      <span>{text ?? label} = <output>{value}</output></span>
      <input aria-label={label} type="range" min={min} max={max} step={step} value={value} onChange={(e) => onChange(Number(e.target.value))} />
    </label>
  );
}

