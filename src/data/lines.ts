/**
 * Streaming a text file as UTF-8, failing with the line of any invalid byte sequence. Regular
 * files, named pipes and standard input are read as streams; devices and directories are refused.
 */
import { createReadStream, type Stats } from 'node:fs';
import { checkReadableFile, checkReadableFileSync, fileSystemError } from '../io/files.js';
import { DataError } from './errors.js';

const EMPTY = 'the file is empty. It needs examples (and a header row for CSV/TSV)';

/** The error for a file or stream without a single byte. */
export function emptyFileError(path: string, problem = EMPTY): DataError {
  return new DataError(path, undefined, problem);
}

function checkStats(path: string, st: Stats): void {
  if (st.isFile() && st.size === 0) throw emptyFileError(path);
}

/**
 * Checks that `path` is a non-empty regular file or a named pipe (whose emptiness shows only when
 * it is read).
 *
 * @throws DataError when it is empty; TunaError (`file_not_found`, `file_unreadable`,
 *   `file_system`) when it is missing, a directory or a device, or cannot be read.
 */
export function checkFile(path: string): void {
  checkStats(path, checkReadableFileSync(path, { what: 'a data file' }));
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

/** How much of the start of a file is looked at for its line endings. */
const LINE_ENDING_PROBE = 1 << 16;

/**
 * Whether `text`, the start of a file with no line feed in it, ends its lines with a carriage
 * return alone (classic Mac OS): it holds a carriage return that no line feed follows.
 */
function crOnly(text: string): boolean {
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (i + 1 < text.length && text.charCodeAt(i + 1) !== 10) return true;
  }
  return false;
}

const CR_ONLY =
  "ends its lines with a carriage return alone (classic Mac OS line endings), which tuna does not read as line ends. Convert the file to LF line endings (e.g. tr '\\r' '\\n' < in.csv > out.csv)";

/** The bytes of `path` as a stream: a regular file or a named pipe (opened as `cat` opens it). */
function fileBytes(path: string): AsyncIterable<Buffer> & { destroy(): void } {
  return createReadStream(path, { highWaterMark: 1 << 16 });
}

/** Where {@link decodedChunks} reads from, and what it says of an empty source. */
export interface SourceOptions {
  /** Read instead of the file (standard input, say); `path` then only names it in errors. */
  readonly input?: AsyncIterable<Uint8Array>;
  /** The problem reported for a file or stream without a byte (default: it needs examples). */
  readonly emptyProblem?: string;
}

/**
 * The file's text in pieces, decoded as UTF-8 with a leading byte-order mark removed; the whole
 * file is never held in memory. Named pipes are opened as `cat` opens them (waiting for a writer;
 * Ctrl-C still stops the process) and read as streams.
 *
 * @throws DataError for an empty file or stream, a file with carriage-return-only line endings,
 *   and invalid UTF-8 (naming its line); TunaError for a missing file, a directory, a device, or a
 *   read that fails (naming the file).
 */
export async function* decodedChunks(path: string, source: SourceOptions = {}): AsyncGenerator<string> {
  const { input } = source;
  const empty = () => emptyFileError(path, source.emptyProblem);
  if (input === undefined) {
    const st = await checkReadableFile(path, { what: 'a data file' });
    if (st.isFile() && st.size === 0) throw empty();
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let line = 1;
  let bytes = 0;
  // The start of the file until its first line feed, to tell its line endings.
  let head: string | undefined = '';
  // The bytes after the last newline seen, so that an error can be placed on its line.
  let carry: Uint8Array = new Uint8Array(0);
  const stream = input ?? fileBytes(path);
  try {
    for await (const chunk of stream) {
      bytes += chunk.length;
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        const joined = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        throw new DataError(path, badLine(joined, line), NOT_UTF8);
      }
      if (head !== undefined) {
        if (text.includes('\n')) head = undefined;
        else {
          head += text;
          if (head.length >= LINE_ENDING_PROBE) {
            if (crOnly(head)) throw new DataError(path, 1, CR_ONLY);
            head = undefined;
          }
        }
      }
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
      const lastNl = chunk.lastIndexOf(0x0a);
      carry = lastNl < 0 ? concat(carry, chunk) : chunk.subarray(lastNl + 1);
      if (text) yield text;
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw fileSystemError(path, e, 'read');
  } finally {
    (stream as { destroy?: () => void }).destroy?.();
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new DataError(path, line, 'not valid UTF-8: the file ends inside a character. Save the file as UTF-8');
  }
  if (bytes === 0) throw empty();
  if (head !== undefined && crOnly(head + rest)) throw new DataError(path, 1, CR_ONLY);
  if (rest) yield rest;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The file's lines in batches (one per decoded piece of the file), without their line endings
 * (LF or CRLF): `lines[i]` is line `first + i` (1-based). Cheaper to consume than one promise per
 * line. `source` as in {@link decodedChunks}.
 *
 * @throws DataError as {@link decodedChunks} does.
 */
export async function* decodedLineBatches(path: string, source: SourceOptions = {}): AsyncGenerator<{ lines: string[]; first: number }> {
  let pending = '';
  let next = 1;
  for await (const chunk of decodedChunks(path, source)) {
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
 * leading byte-order mark is removed. `source` as in {@link decodedChunks}.
 *
 * @throws DataError as {@link decodedChunks} does.
 */
export async function* decodedLines(path: string, source: SourceOptions = {}): AsyncGenerator<{ text: string; line: number }> {
  for await (const { lines, first } of decodedLineBatches(path, source)) {
    for (let i = 0; i < lines.length; i++) yield { text: lines[i]!, line: first + i };
  }
}
