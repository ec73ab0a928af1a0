/** Streaming a text file as UTF-8, failing with the line of any invalid byte sequence. */
import { createReadStream, statSync } from 'node:fs';
import { DataError } from './errors.js';

/**
 * Checks that `path` is an existing, non-empty regular file.
 *
 * @throws DataError when it is missing, a directory, or empty.
 */
export function checkFile(path: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(path, undefined, 'no such file. Check the path');
    throw new DataError(path, undefined, `cannot read the file (${code ?? (e as Error).message}). Check its permissions`);
  }
  if (st.isDirectory()) throw new DataError(path, undefined, 'is a directory. Give a data file');
  if (st.size === 0) throw new DataError(path, undefined, 'the file is empty. It needs examples (and a header row for CSV/TSV)');
}

/** The 1-based line of the first invalid UTF-8 sequence in `bytes`, whose first line is `firstLine`. */
function badLine(bytes: Uint8Array, firstLine: number): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = firstLine;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  // Only reachable when the bad sequence straddles lines, which UTF-8 cannot do; be safe.
  return line - 1;
}

const NOT_UTF8 = 'not valid UTF-8. Save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8 in.csv > out.csv)';

/**
 * The file's text in pieces, decoded as UTF-8 with a leading byte-order mark removed; the whole
 * file is never held in memory.
 *
 * @throws DataError for a missing or empty file, and for invalid UTF-8 (naming its line).
 */
export async function* decodedChunks(path: string): AsyncGenerator<string> {
  checkFile(path);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let line = 1;
  // The bytes after the last newline seen, so that an error can be placed on its line.
  let carry: Uint8Array = new Uint8Array(0);
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        const joined = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        throw new DataError(path, badLine(joined, line), NOT_UTF8);
      }
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
      const lastNl = chunk.lastIndexOf(0x0a);
      carry = lastNl < 0 ? Buffer.concat([carry, chunk]) : chunk.subarray(lastNl + 1);
      if (text) yield text;
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(path, undefined, `cannot read the file (${code ?? (e as Error).message}). Check the path and its permissions`);
  } finally {
    stream.destroy();
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new DataError(path, line, 'not valid UTF-8: the file ends inside a character. Save the file as UTF-8');
  }
  if (rest) yield rest;
}

/**
 * The file's lines in batches (one per decoded piece of the file), without their line endings
 * (LF or CRLF): `lines[i]` is line `first + i` (1-based). Cheaper to consume than one promise per
 * line.
 *
 * @throws DataError as {@link decodedChunks} does.
 */
export async function* decodedLineBatches(path: string): AsyncGenerator<{ lines: string[]; first: number }> {
  let pending = '';
  let next = 1;
  for await (const chunk of decodedChunks(path)) {
    pending = pending ? pending + chunk : chunk;
    const lines: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = pending.indexOf('\n', start)) >= 0) {
      lines.push(pending.slice(start, nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
      start = nl + 1;
    }
    pending = pending.slice(start);
    if (lines.length) {
      yield { lines, first: next };
      next += lines.length;
    }
  }
  if (pending) yield { lines: [pending.endsWith('\r') ? pending.slice(0, -1) : pending], first: next };
}

/**
 * The file's lines, without their line endings (LF or CRLF), with 1-based line numbers; a
 * leading byte-order mark is removed.
 *
 * @throws DataError as {@link decodedChunks} does.
 */
export async function* decodedLines(path: string): AsyncGenerator<{ text: string; line: number }> {
  for await (const { lines, first } of decodedLineBatches(path)) {
    for (let i = 0; i < lines.length; i++) yield { text: lines[i]!, line: first + i };
  }
}
