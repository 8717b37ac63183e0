export interface Param { name: string; numel: number; trainable: boolean }

export function freezeExceptLora(params: Param[]): Param[] {
  return params; // TODO: a copy in which only the LoRA matrices are trainable
}

export function trainableLine(params: Param[]): string {
  const total = params.reduce((s, p) => s + p.numel, 0);
  return `trainable params: ${total} || all params: ${total} || trainable%: 100`; // TODO
}
