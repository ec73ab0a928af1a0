/**
 * Confidence calibration and the out-of-scope rule: temperature scaling fitted on validation
 * logits, expected calibration error, and the thresholds that decide between a direct answer, a
 * clarification question and "out of scope".
 */

/** Softmax of `logits / temperature`, computed stably. */
export function softmax(logits: ArrayLike<number>, temperature = 1): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]! / temperature);
  const out = new Array<number>(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! / temperature - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Mean negative log-likelihood of the gold labels under softmax(logits / T). */
export function negativeLogLikelihood(logits: readonly ArrayLike<number>[], labels: readonly number[], temperature = 1): number {
  let total = 0;
  logits.forEach((row, i) => {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < row.length; j++) max = Math.max(max, row[j]! / temperature);
    let sum = 0;
    for (let j = 0; j < row.length; j++) sum += Math.exp(row[j]! / temperature - max);
    total += max + Math.log(sum) - row[labels[i]!]! / temperature;
  });
  return total / Math.max(1, logits.length);
}

/**
 * The temperature T that minimises the validation NLL of softmax(logits / T). The NLL is convex in
 * 1/T, so a golden-section search over 1/T in [0.01, 100] finds the minimum (T from 0.01 to 100).
 */
export function fitTemperature(logits: readonly ArrayLike<number>[], labels: readonly number[]): number {
  if (logits.length === 0) return 1;
  const f = (beta: number) => negativeLogLikelihood(logits, labels, 1 / beta);
  const phi = (Math.sqrt(5) - 1) / 2;
  let lo = 0.01;
  let hi = 100;
  let x1 = hi - phi * (hi - lo);
  let x2 = lo + phi * (hi - lo);
  let f1 = f(x1);
  let f2 = f(x2);
  for (let i = 0; i < 80 && hi - lo > 1e-6; i++) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - phi * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + phi * (hi - lo);
      f2 = f(x2);
    }
  }
  return 1 / ((lo + hi) / 2);
}

/**
 * Expected calibration error: examples binned by their top probability into `bins` equal-width
 * bins; the support-weighted mean of |accuracy - mean confidence| over the bins.
 */
export function expectedCalibrationError(probabilities: readonly number[][], labels: readonly number[], bins = 10): number {
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  probabilities.forEach((p, i) => {
    const top = argmax(p);
    const b = Math.min(bins - 1, Math.floor(p[top]! * bins));
    count[b]!++;
    conf[b]! += p[top]!;
    if (top === labels[i]) correct[b]!++;
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += (count[b]! / probabilities.length) * Math.abs(correct[b]! / count[b]! - conf[b]! / count[b]!);
  return ece;
}

/** The index of the largest value. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** The two most probable classes of a distribution. */
export function topTwo(p: readonly number[]): { first: number; second: number; p1: number; p2: number } {
  const first = argmax(p);
  let second = first === 0 ? 1 : 0;
  for (let i = 0; i < p.length; i++) if (i !== first && p[i]! > p[second]!) second = i;
  return { first, second, p1: p[first]!, p2: p.length > 1 ? p[second]! : 0 };
}

/**
 * The top two intents of calibrated probabilities whose first `intents` entries are the intents and
 * whose last, when there is one more, is the explicit out-of-scope class: `rejected` when that
 * class is more probable than every intent.
 */
export function topTwoIntents(p: readonly number[], intents: number): { first: number; second: number; p1: number; p2: number; rejected: boolean } {
  const t = topTwo(p.length > intents ? p.slice(0, intents) : p);
  return { ...t, rejected: p.length > intents && p[intents]! > t.p1 };
}

/** The thresholds of the decision rule. */
export interface DecisionThresholds {
  /** Lowest calibrated probability of the top intent for a direct answer. */
  readonly confidence: number;
  /** Smallest gap p1 - p2 for a direct answer. */
  readonly margin: number;
}

/** What the rule decides for one message. */
export type Decision = 'intent' | 'clarify' | 'out_of_scope';

/**
 * The decision rule on calibrated probabilities p1 >= p2 of the two most probable intents:
 *
 * - `intent` when p1 >= confidence and p1 - p2 >= margin;
 * - `clarify` when the gap is below the margin but the two together are confident
 *   (p1 + p2 >= confidence): the message is one of two intents, the assistant asks which;
 * - `out_of_scope` otherwise.
 */
export function decide(p1: number, p2: number, t: DecisionThresholds): Decision {
  if (p1 >= t.confidence && p1 - p2 >= t.margin) return 'intent';
  if (p1 - p2 < t.margin && p1 + p2 >= t.confidence) return 'clarify';
  return 'out_of_scope';
}

/** The q-quantile of `values` (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** A validation message for tuning: its calibrated top-two probabilities, whether the top intent is right, and whether it is in scope. */
export interface TuningExample {
  readonly p1: number;
  readonly p2: number;
  readonly correct: boolean;
  readonly inScope: boolean;
  /** The explicit out-of-scope class won: out of scope whatever the thresholds. */
  readonly rejected?: boolean;
}

/** What {@link tuneThresholds} found, and how. */
export interface TunedThresholds extends DecisionThresholds {
  readonly method: 'out-of-scope examples' | 'quantile';
  /** On the tuning data: in-scope messages answered with the right intent. */
  readonly inScopeAccuracy: number;
  /** On the tuning data: out-of-scope messages sent to the fallback (NaN without out-of-scope examples). */
  readonly outOfScopeRecall: number;
}

const MARGINS = [0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3];

type Trade = { acc: number; rec: number };

/**
 * Whether one (in-scope accuracy, out-of-scope recall) trade beats another: the larger sum, or,
 * with an accuracy floor, the larger recall and then the larger accuracy.
 */
function betterTrade(floor: number | undefined): (a: Trade, b: Trade) => boolean {
  return (a, b) => (floor === undefined ? a.acc + a.rec > b.acc + b.rec + 1e-12 : a.rec > b.rec + 1e-12 || (Math.abs(a.rec - b.rec) <= 1e-12 && a.acc > b.acc + 1e-12));
}

/** The accuracy of the classifier alone less the allowed drop (none without a drop). */
function accuracyFloor(inScope: readonly TuningExample[], maxAccuracyDrop: number | undefined): number | undefined {
  return maxAccuracyDrop === undefined ? undefined : inScope.filter((e) => e.correct).length / Math.max(1, inScope.length) - maxAccuracyDrop;
}

/** A validation message with its cosine to the nearest intent centroid. */
export interface SimilarityExample extends TuningExample {
  readonly similarity: number;
}

/**
 * Tunes the similarity threshold (a message is out of scope below it) on validation messages, as
 * {@link tuneThresholds} tunes the confidence, before it and with no other threshold: with
 * out-of-scope examples over every distinct similarity (the same objective, `maxAccuracyDrop`
 * the same budget, the threshold set midway below the chosen value); without, the `q`-quantile of
 * the similarities of the correctly classified in-scope messages.
 */
export function tuneSimilarity(examples: readonly SimilarityExample[], q: number, maxAccuracyDrop?: number): number {
  const inScope = examples.filter((e) => e.inScope);
  const oos = examples.filter((e) => !e.inScope);
  if (oos.length === 0) {
    const right = inScope.filter((e) => e.correct && !e.rejected);
    return right.length
      ? quantile(
          right.map((e) => e.similarity),
          q,
        )
      : 0;
  }
  const floor = accuracyFloor(inScope, maxAccuracyDrop);
  const better = betterTrade(floor);
  const candidates = [...new Set(examples.map((e) => e.similarity))].sort((a, b) => a - b);
  const score = (t: number) => ({
    acc: inScope.filter((e) => e.correct && !e.rejected && e.similarity >= t).length / Math.max(1, inScope.length),
    rec: oos.filter((e) => e.rejected || e.similarity < t).length / oos.length,
  });
  let best = { t: Number.NEGATIVE_INFINITY, acc: Number.NEGATIVE_INFINITY, rec: Number.NEGATIVE_INFINITY };
  for (const t of [Number.NEGATIVE_INFINITY, ...candidates]) {
    const s = score(t);
    if (floor !== undefined && s.acc < floor - 1e-12) continue;
    if (better(s, best)) best = { t, ...s };
  }
  if (best.t === Number.NEGATIVE_INFINITY) return -1;
  const below = candidates.filter((c) => c < best.t).pop();
  return below === undefined ? best.t : (below + best.t) / 2;
}

/**
 * Tunes the thresholds of {@link decide} on validation messages.
 *
 * With out-of-scope examples: a grid over confidence (every distinct p1, and 0) and margin
 * ({@link MARGINS}) maximising in-scope accuracy (right intent, answered directly) plus
 * out-of-scope recall (sent to the fallback), ties going to the lower thresholds. With
 * `maxAccuracyDrop`, instead: the highest out-of-scope recall whose in-scope accuracy stays within
 * `maxAccuracyDrop` of the classifier's own (argmax, no rule), ties going to the higher accuracy.
 * The confidence returned lies midway between the chosen p1 and the next lower one (same decisions
 * on the tuning data, a margin on either side for new messages).
 *
 * Without: the confidence is the `q`-quantile of p1 over the correctly classified in-scope
 * messages, and the margin the `q`-quantile of their gaps p1 - p2 (at most 0.2), so that about a
 * share `q` of right answers is given up for each threshold, in exchange for refusing messages the
 * model is unsure about.
 */
export function tuneThresholds(examples: readonly TuningExample[], q: number, maxAccuracyDrop?: number): TunedThresholds {
  const inScope = examples.filter((e) => e.inScope);
  const oos = examples.filter((e) => !e.inScope);
  const decision = (e: TuningExample, t: DecisionThresholds) => (e.rejected ? 'out_of_scope' : decide(e.p1, e.p2, t));
  const score = (t: DecisionThresholds) => {
    const acc = inScope.filter((e) => e.correct && decision(e, t) === 'intent').length / Math.max(1, inScope.length);
    const rec = oos.length ? oos.filter((e) => decision(e, t) === 'out_of_scope').length / oos.length : Number.NaN;
    return { acc, rec };
  };
  if (oos.length > 0) {
    const candidates = [0, ...new Set(examples.filter((e) => !e.rejected).map((e) => e.p1))].sort((a, b) => a - b);
    const floor = accuracyFloor(inScope, maxAccuracyDrop);
    let best = { confidence: 0, margin: 0, acc: Number.NEGATIVE_INFINITY, rec: Number.NEGATIVE_INFINITY };
    const better = betterTrade(floor);
    for (const margin of MARGINS) {
      for (const confidence of candidates) {
        const s = score({ confidence, margin });
        if (floor !== undefined && s.acc < floor - 1e-12) continue;
        if (better(s, best)) best = { confidence, margin, ...s };
      }
    }
    // Midway between the last rejected and the first accepted validation score, so that a message
    // scoring just under a validation point is not refused for it.
    const below = candidates.filter((c) => c < best.confidence).pop();
    const confidence = below === undefined ? best.confidence : (below + best.confidence) / 2;
    const s = score({ confidence, margin: best.margin });
    return { confidence, margin: best.margin, method: 'out-of-scope examples', inScopeAccuracy: s.acc, outOfScopeRecall: s.rec };
  }
  const right = inScope.filter((e) => e.correct);
  const confidence = right.length
    ? quantile(
        right.map((e) => e.p1),
        q,
      )
    : 0.5;
  const margin = right.length
    ? Math.min(
        0.2,
        quantile(
          right.map((e) => e.p1 - e.p2),
          q,
        ),
      )
    : 0.1;
  const s = score({ confidence, margin });
  return { confidence, margin, method: 'quantile', inScopeAccuracy: s.acc, outOfScopeRecall: Number.NaN };
}
