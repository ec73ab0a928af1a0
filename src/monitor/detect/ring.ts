/** A fixed-capacity ring of numbers kept as plain JSON (the order of `values` is storage order). */
import { asObject, checkNumber, stateNumbers } from './validate.js';

/** The last `capacity` values pushed; `head` is where the next one goes once full. */
export interface Ring {
  values: number[];
  head: number;
}

/** An empty ring. */
export function newRing(): Ring {
  return { values: [], head: 0 };
}

/** Pushes `x`, overwriting the oldest value when `capacity` values are held. */
export function pushRing(ring: Ring, x: number, capacity: number): void {
  if (ring.values.length < capacity) {
    ring.values.push(x);
    return;
  }
  ring.values[ring.head] = x;
  ring.head = (ring.head + 1) % capacity;
}

/** Reads a saved ring at `field`, holding at most `capacity` values. */
export function restoreRing(value: unknown, field: string, capacity: number): Ring {
  const r = asObject(value, field);
  const values = stateNumbers(r, 'values', field, capacity);
  const head = checkNumber(r.head, `${field}.head`, { min: 0, max: Math.max(0, capacity - 1), integer: true });
  return { values: [...values], head };
}
