export interface Matrix { name: string; out: number; in: number; singularValues: number[] }

/** Greedy by energy per parameter: the next direction of matrix j is worth σ² / (out + in). */
export function allocateRanks(matrices: Matrix[], budget: number): number[] {
  const ranks = matrices.map(() => 0);
  let left = budget;
  for (;;) {
    let best = -1;
    let bestGain = 0;
    matrices.forEach((m, j) => {
      const cost = m.out + m.in;
      if (ranks[j] >= m.singularValues.length || cost > left) return;
      const gain = m.singularValues[ranks[j]] ** 2 / cost;
      if (gain > bestGain) { bestGain = gain; best = j; }
    });
    if (best < 0) return ranks;
    ranks[best]++;
    left -= matrices[best].out + matrices[best].in;
  }
}
