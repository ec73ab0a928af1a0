/**
 * Unicode normalisation forms (NFD, NFKD, NFC, NFKC) that report, for every output character, how it
 * relates to the input (0 replaces, 1 is inserted, -n absorbs n following characters), as the
 * alignment-tracking normaliser Hugging Face's tokenizers uses. Decompositions, compositions and
 * combining-class order come from the JavaScript engine's own `String.prototype.normalize`.
 */

/** A normalisation form. */
export type NormalizationForm = 'NFD' | 'NFKD' | 'NFC' | 'NFKC';

const decompCache = { NFD: new Map<number, number[]>(), NFKD: new Map<number, number[]>() };
const starterCache = new Map<number, boolean>();
const swapCache = new Map<number, boolean>();
const composeCache = new Map<number, number>();

function decomposition(cp: number, form: 'NFD' | 'NFKD'): number[] {
  const cache = decompCache[form];
  let d = cache.get(cp);
  if (d === undefined) {
    d = [];
    const s = String.fromCodePoint(cp).normalize(form);
    for (const ch of s) d.push(ch.codePointAt(0)!);
    cache.set(cp, d);
  }
  return d;
}

/** Whether canonical ordering puts `b` before `a` (combining class of `a` > that of `b` > 0). */
function swaps(a: number, b: number): boolean {
  const key = a * 0x110000 + b;
  let r = swapCache.get(key);
  if (r === undefined) {
    const s = String.fromCodePoint(a, b).normalize('NFD');
    r = s === String.fromCodePoint(b, a);
    swapCache.set(key, r);
  }
  return r;
}

/** Whether a (fully decomposed) code point has combining class 0. */
function isStarter(cp: number): boolean {
  if (cp < 0x300) return true;
  let r = starterCache.get(cp);
  if (r === undefined) {
    r = !swaps(0x301, cp) && !swaps(cp, 0x334);
    starterCache.set(cp, r);
  }
  return r;
}

/** The primary composite of `a` and `b`, or -1. */
function compose(a: number, b: number): number {
  const key = a * 0x110000 + b;
  let r = composeCache.get(key);
  if (r === undefined) {
    const s = String.fromCodePoint(a, b).normalize('NFC');
    const c = s.codePointAt(0)!;
    r = s.length === (c > 0xffff ? 2 : 1) ? c : -1;
    composeCache.set(key, r);
  }
  return r;
}

/** Output characters and their changes. */
export interface Changes {
  readonly cps: number[];
  readonly changes: number[];
}

function decompose(input: string, form: 'NFD' | 'NFKD'): Changes {
  const cps: number[] = [];
  const changes: number[] = [];
  let pending = 0;
  const sortPending = () => {
    for (let i = pending + 1; i < cps.length; i++) {
      for (let j = i; j > pending && swaps(cps[j - 1]!, cps[j]!); j--) {
        [cps[j - 1], cps[j]] = [cps[j]!, cps[j - 1]!];
        [changes[j - 1], changes[j]] = [changes[j]!, changes[j - 1]!];
      }
    }
    pending = cps.length;
  };
  for (const ch of input) {
    const d = decomposition(ch.codePointAt(0)!, form);
    for (let k = 0; k < d.length; k++) {
      const c = d[k]!;
      if (isStarter(c)) sortPending();
      cps.push(c);
      changes.push(k === 0 ? 0 : 1);
    }
  }
  sortPending();
  return { cps, changes };
}

function recompose(d: Changes): Changes {
  const cps: number[] = [];
  const changes: number[] = [];
  const emit = (c: number, ch: number) => {
    cps.push(c);
    changes.push(ch);
  };
  let composee: [number, number] | undefined;
  let last = -1;
  let buffer: [number, number][] = [];
  for (let i = 0; i < d.cps.length; i++) {
    const ch = d.cps[i]!;
    const change = d.changes[i]!;
    const starter = isStarter(ch);
    if (!composee) {
      if (!starter) emit(ch, change);
      else composee = [ch, change];
      continue;
    }
    if (last < 0) {
      const r = compose(composee[0], ch);
      if (r >= 0) {
        composee = [r, composee[1] + change - 1];
        continue;
      }
      if (starter) {
        emit(composee[0], composee[1]);
        composee = [ch, change];
        continue;
      }
      buffer.push([ch, change]);
      last = ch;
      continue;
    }
    const blocked = starter || !swaps(ch, last);
    if (blocked) {
      if (starter) {
        emit(composee[0], composee[1]);
        for (const [c, x] of buffer) emit(c, x);
        buffer = [];
        composee = [ch, change];
        last = -1;
        continue;
      }
      buffer.push([ch, change]);
      last = ch;
      continue;
    }
    const r = compose(composee[0], ch);
    if (r >= 0) {
      composee = [r, composee[1] + change - 1];
      continue;
    }
    buffer.push([ch, change]);
    last = ch;
  }
  if (composee) emit(composee[0], composee[1]);
  for (const [c, x] of buffer) emit(c, x);
  return { cps, changes };
}

/**
 * `input` in normalisation form `form` with per-character changes, or undefined when the text is
 * already in that form (nothing changes).
 */
export function normalizeWithChanges(input: string, form: NormalizationForm): Changes | undefined {
  if (input.normalize(form) === input) return undefined;
  const compat = form === 'NFKD' || form === 'NFKC';
  const d = decompose(input, compat ? 'NFKD' : 'NFD');
  return form === 'NFD' || form === 'NFKD' ? d : recompose(d);
}
