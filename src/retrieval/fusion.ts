/** Combining rankings: reciprocal rank fusion, and weighted min-max-normalised scores. */

/** A ranked item. */
export interface Ranked<T> {
  readonly item: T;
  readonly score: number;
}

/**
 * Reciprocal rank fusion: each item scores the sum over the rankings of 1 / (k + rank), rank
 * counted from 1 (Cormack et al. 2009; k = 60). Ties keep the order of the first ranking.
 */
export function reciprocalRankFusion<T>(rankings: readonly (readonly T[])[], k = 60): Ranked<T>[] {
  const scores = new Map<T, { score: number; first: number }>();
  let order = 0;
  for (const ranking of rankings) {
    ranking.forEach((item, i) => {
      const s = scores.get(item);
      if (s) s.score += 1 / (k + i + 1);
      else scores.set(item, { score: 1 / (k + i + 1), first: order++ });
    });
  }
  return [...scores.entries()].sort((a, b) => b[1].score - a[1].score || a[1].first - b[1].first).map(([item, s]) => ({ item, score: s.score }));
}

/**
 * Weighted scores: each ranking's scores are min-max normalised to [0, 1] (all equal: 1), then
 * an item scores `alpha` × its first-ranking score + (1 - `alpha`) × its second-ranking score
 * (0 where a ranking lacks it).
 */
export function weightedFusion<T>(first: readonly Ranked<T>[], second: readonly Ranked<T>[], alpha: number): Ranked<T>[] {
  const norm = (r: readonly Ranked<T>[]) => {
    const out = new Map<T, number>();
    if (r.length === 0) return out;
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of r) {
      lo = Math.min(lo, x.score);
      hi = Math.max(hi, x.score);
    }
    for (const x of r) out.set(x.item, hi > lo ? (x.score - lo) / (hi - lo) : 1);
    return out;
  };
  const a = norm(first);
  const b = norm(second);
  const items = [...new Set([...a.keys(), ...b.keys()])];
  const order = new Map(items.map((x, i) => [x, i]));
  return items
    .map((item) => ({ item, score: alpha * (a.get(item) ?? 0) + (1 - alpha) * (b.get(item) ?? 0) }))
    .sort((x, y) => y.score - x.score || order.get(x.item)! - order.get(y.item)!);
}
