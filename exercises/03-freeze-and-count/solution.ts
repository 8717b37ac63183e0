export interface Param { name: string; numel: number; trainable: boolean }

export function freezeExceptLora(params: Param[]): Param[] {
  return params.map((p) => ({ ...p, trainable: p.name.includes('lora_') }));
}

export function trainableLine(params: Param[]): string {
  const total = params.reduce((s, p) => s + p.numel, 0);
  const trainable = params.reduce((s, p) => s + (p.trainable ? p.numel : 0), 0);
  const pct = total ? (100 * trainable) / total : 0;
  return `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${total.toLocaleString('en-US')} || trainable%: ${pct.toFixed(4)}`;
}
