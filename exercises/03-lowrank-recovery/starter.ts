import { svdJacobi } from 'loralab/linalg';

export function bestRankApprox(M: Float64Array, m: number, n: number, r: number): Float64Array {
  const { S } = svdJacobi(M, m, n);
  void S; void r;
  // TODO: sum the top-r rank-one terms σᵢ uᵢ vᵢᵀ
  return new Float64Array(m * n);
}

export function energyKept(singularValues: ArrayLike<number>, r: number): number {
  void singularValues; void r;
  return 1; // TODO
}
