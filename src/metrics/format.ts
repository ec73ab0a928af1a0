/** Number formatting as Python's `format(x, '.Nf')` does it (ties on exact binary values round half to even). */

/** `x` with `digits` decimals, rounded as Python rounds (JavaScript's toFixed rounds exact ties up). */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const plain = x.toFixed(digits);
  // The exact decimal expansion of the binary value decides whether this is a true tie.
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const rest = exact.slice(exact.indexOf('.') + 1 + digits);
  if (!/^50*$/.test(rest)) return plain;
  const down = (Math.sign(x) * Math.floor(Math.abs(x) * 10 ** digits)) / 10 ** digits;
  const lastDigit = Number(down.toFixed(digits).replace(/\D/g, '').slice(-1));
  return lastDigit % 2 === 0 ? down.toFixed(digits) : plain;
}

/** Python's `'{:>{w}s}'` (strings longer than `w` are not cut). */
export function padLeft(s: string, width: number): string {
  const n = [...s].length;
  return n >= width ? s : ' '.repeat(width - n) + s;
}
