/** Streaming a text file as UTF-8, failing with the line of any invalid byte sequence. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { DataError } from './errors.js';

/** Checks that `path` is a readable, non-empty regular file. */
export function checkFile(path: string): void {
  if (!existsSync(path)) throw new DataError(path, undefined, 'no such file');
  const st = statSync(path);
  if (st.isDirectory()) throw new DataError(path, undefined, 'is a directory; give a data file');
  if (st.size === 0) throw new DataError(path, undefined, 'the file is empty; it needs a header row and examples');
}

/** The 1-based line of the first invalid UTF-8 sequence in `bytes`, counting from `firstLine`. */
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
  return line - 1;
}

/**
 * The file's text in pieces, decoded as UTF-8 without a byte-order mark. Invalid UTF-8 stops with
 * a DataError naming the line.
 */
export async function* decodedChunks(path: string): AsyncGenerator<string> {
  checkFile(path);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let line = 1;
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 16 }) as AsyncIterable<Buffer>) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      const joined = new Uint8Array(carry.length + chunk.length);
      joined.set(carry);
      joined.set(chunk, carry.length);
      throw new DataError(path, badLine(joined, line), 'not valid UTF-8; save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)');
    }
    // Keep the bytes after the last newline so an error can be placed on its line.
    const lastNl = chunk.lastIndexOf(0x0a);
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
    carry = lastNl < 0 ? Buffer.concat([carry, chunk]) : chunk.subarray(lastNl + 1);
    if (text) yield text;
  }
  try {
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch {
    throw new DataError(path, line, 'not valid UTF-8 (the file ends inside a character); save the file as UTF-8');
  }
}

/** The file's lines (without line endings, CRLF or LF) with their 1-based numbers. */
export async function* decodedLines(path: string): AsyncGenerator<{ text: string; line: number }> {
  let pending = '';
  let line = 0;
  for await (const chunk of decodedChunks(path)) {
    pending += chunk;
    let start = 0;
    let nl: number;
    while ((nl = pending.indexOf('\n', start)) >= 0) {
      line++;
      yield { text: pending.slice(start, nl).replace(/\r$/, ''), line };
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  if (pending) yield { text: pending.replace(/\r$/, ''), line: line + 1 };
}
