export interface Matrix { name: string; out: number; in: number; singularValues: number[] }

/** One rank per matrix: the same for all (the baseline to beat). */
export function allocateRanks(matrices: Matrix[], budget: number): number[] {
  const perRank = matrices.reduce((s, m) => s + m.out + m.in, 0);
  const r = Math.floor(budget / perRank);
  return matrices.map((m) => Math.min(r, m.singularValues.length));
}
