/**
 * Large answers: their JSON size estimated from their shape before anything is serialised, and
 * their JSON written in chunks, with the event loop free between them.
 */
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Numbers sampled per list of numbers to estimate how long one is in JSON. */
const SAMPLED_NUMBERS = 16;

/**
 * About how many bytes `JSON.stringify(value)` would give, without building it: lists of numbers
 * count as their length times the mean length of a few of their numbers, everything else is
 * walked. Escapes in strings are not counted.
 */
export function estimateJsonBytes(value: unknown): number {
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'boolean') return value ? 4 : 5;
  if (value === null || value === undefined) return 4;
  if (Array.isArray(value)) {
    if (value.length === 0) return 2;
    const commasAndBrackets = value.length + 1;
    if (typeof value[0] === 'number') return Math.ceil(value.length * meanNumberBytes(value)) + commasAndBrackets;
    let sum = commasAndBrackets;
    for (const item of value) sum += estimateJsonBytes(item);
    return sum;
  }
  if (typeof value === 'object') {
    let sum = 1;
    for (const [key, item] of Object.entries(value)) sum += key.length + 4 + estimateJsonBytes(item);
    return sum;
  }
  return 4;
}

function numberBytes(n: number): number {
  return Number.isFinite(n) ? String(n).length : 4;
}

function meanNumberBytes(numbers: readonly unknown[]): number {
  const step = Math.max(1, Math.floor(numbers.length / SAMPLED_NUMBERS));
  let sum = 0;
  let count = 0;
  for (let i = 0; i < numbers.length && count < SAMPLED_NUMBERS; i += step, count++) sum += estimateJsonBytes(numbers[i]);
  return sum / count;
}

/**
 * `value` as JSON text in pieces of about `chunkBytes`: lists larger than that are written item by
 * item, the rest with `JSON.stringify`. Joined, the pieces are `JSON.stringify(value)`.
 */
export function* jsonPieces(value: unknown, chunkBytes: number): Generator<string> {
  if (!Array.isArray(value) || estimateJsonBytes(value) <= chunkBytes) {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  yield '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) yield ',';
    yield* jsonPieces(value[i], chunkBytes);
  }
  yield ']';
}

/**
 * `value` as a stream of JSON text in chunks of at least `chunkBytes` (the last may be shorter),
 * yielding to the event loop between chunks, so that other requests are served while a large
 * answer is written.
 */
export function jsonStream(value: unknown, chunkBytes = 64 * 1024): Readable {
  async function* chunks(): AsyncGenerator<string> {
    let pending = '';
    for (const piece of jsonPieces(value, chunkBytes)) {
      pending += piece;
      if (pending.length >= chunkBytes) {
        yield pending;
        pending = '';
        await nextTurn();
      }
    }
    if (pending !== '') yield pending;
  }
  return Readable.from(chunks(), { objectMode: false });
}
