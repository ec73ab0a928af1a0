/** Seeded shuffling and stratified train/validation splits. */

/** A small seeded pseudo-random generator (mulberry32): uniform floats in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled copy of `items` (Fisher-Yates with {@link seededRandom}); the same seed gives the same order on every platform. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Splits off about `validationFraction` of the items, stratified by class (`keyOf`): each class
 * with at least two items puts round(size x fraction) of them, at least one, in validation and
 * keeps at least one in training; a class with one item stays in training. Deterministic for a
 * seed; both parts keep the input order.
 *
 * @throws RangeError when `validationFraction` is not in [0, 1).
 */
export function stratifiedSplit<T>(items: readonly T[], keyOf: (x: T) => string, validationFraction: number, seed: number): { train: T[]; validation: T[] } {
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new RangeError(`validationFraction must be in [0, 1), got ${validationFraction}`);
  const groups = new Map<string, number[]>();
  items.forEach((x, i) => {
    const k = keyOf(x);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const chosen = new Set<number>();
  let salt = 0;
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    const n = g.length < 2 ? 0 : Math.min(g.length - 1, Math.max(1, Math.round(g.length * validationFraction)));
    if (validationFraction === 0) continue;
    for (const i of shuffle(g, seed * 31 + salt++).slice(0, n)) chosen.add(i);
  }
  const train: T[] = [];
  const validation: T[] = [];
  items.forEach((x, i) => (chosen.has(i) ? validation : train).push(x));
  return { train, validation };
}
