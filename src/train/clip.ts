/** The L2 norm of all gradients taken together. */
export function globalNorm(grads: Iterable<Float32Array>): number {
  let sum = 0;
  for (const g of grads) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
    sum += s;
  }
  return Math.sqrt(sum);
}

/**
 * The factor that scales gradients of global norm `norm` down to at most `maxNorm` (1 when they
 * are already within it), computed as PyTorch's `clip_grad_norm_` does.
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!Number.isFinite(norm)) return 1;
  const coef = maxNorm / (norm + 1e-6);
  return coef < 1 ? coef : 1;
}
