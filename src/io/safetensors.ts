import { constants as fsConstants } from 'node:fs';
import { endianness } from 'node:os';
import { open } from 'node:fs/promises';
import { type ErrorCode, type ErrorDetails, TunaError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { checkReadableFile, fileSystemError } from './files.js';

/** Element types of the safetensors format that tuna reads and writes. */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';

/** The typed arrays a tensor's values live in. */
export type SafetensorsArray = Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Float64Array;

/**
 * One tensor read from or written to a safetensors file. Values are row-major (C order).
 *
 * Reading: F32, F16 and BF16 arrive as `Float32Array` (half precision upcast exactly), F64 as
 * `Float64Array` unless {@link ReadOptions.f64} asks for float32, I64 as `BigInt64Array`, I32 as
 * `Int32Array`, I8 as `Int8Array`, U8 and BOOL as `Uint8Array`; `stored` says what the file held.
 *
 * Writing: the file dtype follows the array type (`Float32Array` → F32, `Uint8Array` → U8, ...)
 * unless `dtype` names another one: `'F16'`, `'BF16'`, `'F32'` or `'F64'` for float arrays
 * (rounded to nearest, ties to even), `'BOOL'` for a `Uint8Array` of 0s and 1s.
 */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: SafetensorsArray;
  /** Writing: the dtype to store the values as (see above). */
  readonly dtype?: SafetensorsDType;
  /** Reading: the dtype the file stored the tensor as. Ignored when writing. */
  readonly stored?: SafetensorsDType;
}

/** Where one tensor lies in a safetensors file, as its header describes it. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Byte offsets relative to the start of the data section (right after the header). */
  readonly dataOffsets: readonly [number, number];
}

/** A parsed safetensors header. */
export interface SafetensorsHeader {
  /** Tensor descriptions, in file (offset) order. */
  readonly tensors: readonly TensorInfo[];
  /** The `__metadata__` string map ({} when absent). */
  readonly metadata: Record<string, string>;
  /** Byte position of the data section in the file: 8 + header length. */
  readonly dataStart: number;
}

/** Tensors and metadata read from a safetensors file. */
export interface SafetensorsContents {
  readonly tensors: Map<string, NamedTensor>;
  readonly metadata: Record<string, string>;
}

/** Options for {@link readSafetensors} and {@link parseSafetensors}. */
export interface ReadOptions {
  /** How F64 tensors arrive: kept as `Float64Array` (default) or rounded to `Float32Array`. */
  readonly f64?: 'float64' | 'float32';
  /** Reads only the tensors for which this returns true (the others are skipped, never read). */
  readonly select?: (name: string) => boolean;
}

/** The codes a {@link SafetensorsError} has. */
export type SafetensorsErrorCode = Extract<ErrorCode, 'invalid_safetensors' | 'file_not_found' | 'file_unreadable' | 'file_system' | 'too_large' | 'invalid_input'>;

/**
 * A safetensors file is malformed or uses something tuna does not read (code `invalid_safetensors`),
 * cannot be read (`file_not_found`, `file_unreadable`, `file_system`), holds more tensors than tuna
 * reads (`too_large`), or tensors given to the writer cannot be stored (`invalid_input`); the
 * message names the file and tensor.
 */
export class SafetensorsError extends TunaError {
  override name = 'SafetensorsError';
  constructor(message: string, details: ErrorDetails & { readonly code?: SafetensorsErrorCode } = {}) {
    super(details.code ?? 'invalid_safetensors', message, details);
  }
}

/** A SafetensorsError for tensors or metadata the writer cannot store. */
function writeError(message: string): SafetensorsError {
  return new SafetensorsError(message, { code: 'invalid_input' });
}

/** The safetensors reference implementation refuses headers larger than this. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * The most tensors one safetensors file may hold. Real checkpoints hold hundreds to a few
 * thousand per file; the header of a file with millions of (empty) tensors alone would take
 * gigabytes to parse.
 */
export const MAX_TENSORS = 100_000;

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };
const DTYPES = Object.keys(BYTES) as SafetensorsDType[];
/** The reference writer's dtype order (its enum order); files list tensors by descending rank, then by name. */
const RANK: Record<SafetensorsDType, number> = { BOOL: 0, U8: 1, I8: 2, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13 };
/** Largest single allocation and single read; bigger tensor groups are split. */
const CHUNK = 1 << 30;
/** Size of the scratch buffer half-precision tensors are read through. */
const SCRATCH = 1 << 22;

function isDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.hasOwn(BYTES, s);
}

function checkEndianness(source: string): void {
  if (endianness() !== 'LE') throw new SafetensorsError(`${source}: safetensors data is little-endian and this platform is big-endian, which tuna does not support`);
}

// ---------------------------------------------------------------------------------------------
// Half precision

let halfTable: Uint32Array | undefined;

/** float32 bit patterns of all 65536 half-precision values (NaN payloads and signs preserved). */
function halfBitsTable(): Uint32Array {
  if (halfTable) return halfTable;
  const table = new Uint32Array(65536);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) {
      table[h] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
    } else {
      f[0] = halfToFloat(h);
      table[h] = u[0]!;
    }
  }
  return (halfTable = table);
}

/** Converts IEEE 754 half-precision bits to a number (exact: every half is a float32). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Converts bfloat16 bits to a number (exact). */
export function bfloat16ToFloat(b: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = (b & 0xffff) << 16;
  return f[0]!;
}

function roundHalfEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/**
 * Rounds a number to a binary floating-point format with `m` mantissa bits and exponent bias `bias`
 * (`e` exponent bits), to nearest with ties to even, straight from the double (no double rounding).
 */
function roundToBits(x: number, m: number, e: number, bias: number): number {
  const maxField = (1 << e) - 1;
  if (Number.isNaN(x)) return (maxField << m) | (1 << (m - 1));
  const sign = x < 0 || Object.is(x, -0) ? 1 << (m + e) : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | (maxField << m);
  const unit = 2 ** m;
  if (a < 2 ** (1 - bias)) return sign | roundHalfEven(a * 2 ** (bias - 1 + m));
  let exp = Math.floor(Math.log2(a));
  if (2 ** exp > a) exp--;
  else if (2 ** (exp + 1) <= a) exp++;
  if (exp + bias >= maxField) return sign | (maxField << m);
  let q = roundHalfEven(a * 2 ** (m - exp));
  if (q === 2 * unit) {
    q = unit;
    exp++;
  }
  if (exp + bias >= maxField) return sign | (maxField << m);
  return sign | ((exp + bias) << m) | (q - unit);
}

/** Converts a number to IEEE 754 half-precision bits, rounding to nearest with ties to even (overflow gives ±Infinity). */
export function floatToHalf(x: number): number {
  return roundToBits(x, 10, 5, 15);
}

/** Converts a number to bfloat16 bits, rounding to nearest with ties to even. */
export function floatToBfloat16(x: number): number {
  return roundToBits(x, 7, 8, 127);
}

/** float32 bits to half bits, round to nearest even; the fast path for Float32Array data. */
function f32BitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let h = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** float32 bits to bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
function f32BitsToBfloat16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return (((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) / 65536) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Validates a safetensors header (the JSON text's bytes) against the size of the data section that
 * follows it. Rules are those of the reference implementation: known dtypes, byte spans matching
 * shape × dtype size, tensors tiling the data section exactly (no overlap, no gap, nothing past
 * the end, nothing left over), `__metadata__` a map of strings.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, source = 'safetensors'): SafetensorsHeader {
  if (headerBytes[0] !== 0x7b) throw new SafetensorsError(`${source}: not a safetensors file (the header does not start with "{")`);
  const entries = countTopLevelMembers(headerBytes, MAX_TENSORS + 1);
  if (entries > MAX_TENSORS) {
    throw new SafetensorsError(
      `${source}: the header lists more than ${MAX_TENSORS} tensors, more than tuna reads from one file; the file is corrupt, or re-save the checkpoint in shards`,
      { code: 'too_large', file: source },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(`${source}: the header is not valid UTF-8; the file is corrupt or not a safetensors file`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${source}: the header is not valid JSON (${(e as Error).message}); the file is corrupt or not a safetensors file`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsError(`${source}: the header is not a JSON object`);
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = checkMetadata(entry, source);
      continue;
    }
    const where = `${source}: tensor "${name}"`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new SafetensorsError(`${where}: its header entry is not an object`);
    const { dtype, shape, data_offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') throw new SafetensorsError(`${where}: missing dtype`);
    if (!isDType(dtype)) throw new SafetensorsError(`${where} has dtype ${dtype}, which tuna does not read (it reads ${DTYPES.join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${where}: data_offsets ${JSON.stringify(data_offsets)} is not a pair of non-negative integers`);
    }
    const [start, end] = data_offsets as [number, number];
    if (end < start) throw new SafetensorsError(`${where}: data_offsets [${start}, ${end}] end before they start`);
    const count = elementCount(shape as number[]);
    const bytes = count * BYTES[dtype];
    if (!Number.isSafeInteger(bytes) || end - start !== bytes) {
      throw new SafetensorsError(`${where}: shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes but data_offsets [${start}, ${end}] span ${end - start}`);
    }
    if (end > dataLength) {
      throw new SafetensorsError(
        `${where}: data_offsets [${start}, ${end}] run past the end of the file (its data section has ${dataLength} bytes); the file is truncated or its header is corrupt`,
      );
    }
    tensors.push({ name, dtype, shape: shape as number[], dataOffsets: [start, end] });
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let at = 0;
  let prev: TensorInfo | undefined;
  for (const t of tensors) {
    const [start, end] = t.dataOffsets;
    if (start < at) {
      throw new SafetensorsError(
        `${source}: tensor "${t.name}" (bytes ${start}..${end}) overlaps tensor "${prev!.name}" (bytes ${prev!.dataOffsets[0]}..${prev!.dataOffsets[1]}); the header is corrupt`,
      );
    }
    if (start > at) throw new SafetensorsError(`${source}: bytes ${at}..${start} of the data section belong to no tensor (before tensor "${t.name}"); the header is corrupt`);
    at = end;
    prev = t;
  }
  if (at !== dataLength) {
    throw new SafetensorsError(
      `${source}: the last ${dataLength - at} bytes of the file belong to no tensor (tensors end at data byte ${at} of ${dataLength}); the file is corrupt`,
    );
  }
  return { tensors, metadata, dataStart: 8 + headerBytes.byteLength };
}

/**
 * The number of members of the JSON object `json` holds at its top level, counted up to `stop`
 * without parsing (a byte scan: strings skipped, nesting tracked). Malformed JSON gives some count;
 * JSON.parse reports it afterwards.
 */
function countTopLevelMembers(json: Uint8Array, stop: number): number {
  const QUOTE = 0x22;
  const BACKSLASH = 0x5c;
  let depth = 0;
  let inString = false;
  let members = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x3a && depth === 1 && ++members >= stop) return members;
  }
  return members;
}

function checkMetadata(entry: unknown, source: string): Record<string, string> {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new SafetensorsError(`${source}: __metadata__ is not an object of strings`);
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') throw new SafetensorsError(`${source}: __metadata__ entry "${k}" is ${JSON.stringify(v)}, not a string`);
  }
  return { ...(entry as Record<string, string>) };
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Reads the 8-byte header length, checking it against the file size and the format's limit. */
function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8) throw new SafetensorsError(`${source}: ${fileSize} bytes is too short to be a safetensors file (truncated?)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(`${source}: the header claims ${n} bytes, more than the format's limit of ${MAX_HEADER_BYTES}; the file is corrupt or not a safetensors file`);
  }
  if (n < 2n) throw new SafetensorsError(`${source}: the header claims ${n} bytes, too few for a JSON object; the file is corrupt`);
  if (8n + n > BigInt(fileSize))
    throw new SafetensorsError(`${source}: the header claims ${n} bytes but the file has only ${fileSize - 8} after its length field; the file is truncated`);
  return Number(n);
}

function needsCopy(t: TensorInfo, f64: ReadOptions['f64']): boolean {
  return t.dtype === 'F16' || t.dtype === 'BF16' || (t.dtype === 'F64' && f64 === 'float32');
}

/** A typed array over `count` elements of `buf` at `at`, which must be aligned for the dtype. */
function view(dtype: SafetensorsDType, buf: ArrayBufferLike, at: number, count: number): SafetensorsArray {
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf, at, count);
    case 'F64':
      return new Float64Array(buf, at, count);
    case 'I64':
      return new BigInt64Array(buf, at, count);
    case 'I32':
      return new Int32Array(buf, at, count);
    case 'I8':
      return new Int8Array(buf, at, count);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf, at, count);
    case 'F16':
    case 'BF16':
      throw new Error(`${dtype} has no view`);
  }
}

/**
 * A copy of `raw` in a buffer of its own, starting at offset 0. `raw.slice()` would not do: on a
 * Node.js Buffer, `slice` is a view of the same memory at the same (unaligned) offset.
 */
function ownCopy(raw: Uint8Array): Uint8Array {
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return copy;
}

/** Converts `raw` (F16, BF16 or F64 values) into `out` from element `at` on: F16/BF16 exactly, F64 rounded to nearest. */
function convertInto(dtype: SafetensorsDType, raw: Uint8Array, out: Float32Array, at: number): void {
  const aligned = raw.byteOffset % BYTES[dtype] === 0 ? raw : ownCopy(raw);
  const count = aligned.byteLength / BYTES[dtype];
  const u = new Uint32Array(out.buffer, out.byteOffset + at * 4, count);
  if (dtype === 'F16') {
    const table = halfBitsTable();
    const h = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
    for (let i = 0; i < count; i++) u[i] = table[h[i]!]!;
  } else if (dtype === 'BF16') {
    const h = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
    for (let i = 0; i < count; i++) u[i] = h[i]! << 16;
  } else {
    out.set(new Float64Array(aligned.buffer, aligned.byteOffset, count), at);
  }
}

/** A new float32 array holding the upcast (or for F64, rounded) values of a converting tensor. */
function convert(dtype: SafetensorsDType, raw: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  convertInto(dtype, raw, out, 0);
  return out;
}

/** A tensor from its bytes: a view when aligned and no conversion is needed, a copy otherwise. */
function materialise(t: TensorInfo, raw: Uint8Array, f64: ReadOptions['f64']): NamedTensor {
  const count = elementCount(t.shape);
  let data: SafetensorsArray;
  if (needsCopy(t, f64)) data = convert(t.dtype, raw, count);
  else if (raw.byteOffset % BYTES[t.dtype] === 0) data = view(t.dtype, raw.buffer, raw.byteOffset, count);
  else data = view(t.dtype, ownCopy(raw).buffer, 0, count);
  return { shape: t.shape, data, stored: t.dtype };
}

/**
 * Parses safetensors bytes held in memory. Tensors that need no conversion are views into `bytes`
 * when their offset is aligned for their type (copies otherwise); F16 and BF16 are upcast to new
 * Float32Arrays. `source` names the file in error messages.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors', opts: ReadOptions = {}): SafetensorsContents {
  checkEndianness(source);
  const n = headerLength(bytes, bytes.byteLength, source);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, source);
  const tensors = new Map<string, NamedTensor>();
  for (const t of header.tensors) {
    if (opts.select && !opts.select(t.name)) continue;
    const raw = bytes.subarray(header.dataStart + t.dataOffsets[0], header.dataStart + t.dataOffsets[1]);
    tensors.set(t.name, materialise(t, raw, opts.f64));
  }
  return { tensors: sortedByName(tensors), metadata: header.metadata };
}

function sortedByName(tensors: Map<string, NamedTensor>): Map<string, NamedTensor> {
  return new Map([...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

type FileHandle = Awaited<ReturnType<typeof open>>;

async function readFully(fh: FileHandle, into: Uint8Array, position: number, source: string): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const len = Math.min(into.byteLength - done, CHUNK);
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(into, done, len, position + done));
    } catch (e) {
      throw asSafetensorsError(source, e);
    }
    if (bytesRead === 0) throw new SafetensorsError(`${source}: the file ended early while reading tensor data (was it modified while being read?)`);
    done += bytesRead;
  }
}

/** Reads and validates only the header of a safetensors file (no tensor data is read). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await openForReading(path);
  try {
    return await readHeader(fh, path);
  } finally {
    await fh.close();
  }
}

/**
 * Opens a safetensors file for reading at offsets, refusing by name what is not a regular file (a
 * device such as a link to /dev/zero, a named pipe, a directory). The file is opened without
 * blocking and checked again once open, so a pipe put in its place meanwhile cannot hang the read.
 */
async function openForReading(path: string): Promise<FileHandle> {
  try {
    await checkReadableFile(path, { what: 'safetensors weights', seekable: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'file_not_found') throw new SafetensorsError(`${path}: no such file`, { code: 'file_not_found', file: path, cause: e });
    throw asSafetensorsError(path, e);
  }
  let fh: FileHandle;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw asSafetensorsError(path, fileSystemError(path, e, 'read'));
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new SafetensorsError(`${path}: is not a regular file (it changed while being opened); give a regular safetensors file`, { code: 'file_unreadable', file: path });
  }
  return fh;
}

/** A file-reading TunaError as a SafetensorsError with the same code and message. */
function asSafetensorsError(path: string, e: unknown): SafetensorsError {
  if (e instanceof SafetensorsError) return e;
  const err = fileSystemError(path, e, 'read');
  const code: SafetensorsErrorCode = err.code === 'file_not_found' || err.code === 'file_unreadable' || err.code === 'too_large' ? err.code : 'file_system';
  return new SafetensorsError(err.message, { code, file: err.file ?? path, cause: e });
}

async function readHeader(fh: FileHandle, source: string): Promise<SafetensorsHeader> {
  const { size } = await fh.stat();
  const prefix = new Uint8Array(8);
  if (size >= 8) await readFully(fh, prefix, 0, source);
  const n = headerLength(prefix, size, source);
  const headerBytes = new Uint8Array(n);
  await readFully(fh, headerBytes, 8, source);
  return parseSafetensorsHeader(headerBytes, size - 8 - n, source);
}

/**
 * Reads a safetensors file with a peak memory of about its size. Tensors stored as they are used
 * (F32, I64, ...) are read straight into shared buffers (one per run of consecutive tensors, split
 * at 1 GiB) and returned as views into them, so nothing is copied; F16/BF16 tensors are read
 * piecewise through a 4 MiB scratch buffer straight into their float32 arrays, so the peak is the
 * float32 result plus that buffer.
 */
export async function readSafetensors(path: string, opts: ReadOptions = {}): Promise<SafetensorsContents> {
  checkEndianness(path);
  const fh = await openForReading(path);
  try {
    const header = await readHeader(fh, path);
    const wanted = header.tensors.filter((t) => !opts.select || opts.select(t.name));
    const tensors = new Map<string, NamedTensor>();
    // Runs of consecutive tensors that can be viewed in place, each read with one call.
    let run: TensorInfo[] = [];
    const flush = async () => {
      if (!run.length) return;
      const first = run[0]!.dataOffsets[0];
      const last = run[run.length - 1]!.dataOffsets[1];
      // Keep each tensor's offset modulo 8 as in the file, so aligned tensors stay aligned.
      const pad = first % 8;
      const arena = new Uint8Array(pad + last - first);
      await readFully(fh, arena.subarray(pad), header.dataStart + first, path);
      for (const t of run) tensors.set(t.name, materialise(t, arena.subarray(pad + t.dataOffsets[0] - first, pad + t.dataOffsets[1] - first), opts.f64));
      run = [];
    };
    let scratch = new Uint8Array(0);
    let prevEnd = -1;
    for (const t of wanted) {
      const [start, end] = t.dataOffsets;
      if (needsCopy(t, opts.f64)) {
        await flush();
        // Read and convert piecewise, so only the float32 result and one small scratch buffer exist.
        const size = BYTES[t.dtype];
        const out = new Float32Array(elementCount(t.shape));
        for (let at = 0; at < out.length; ) {
          const n = Math.min(out.length - at, Math.floor(SCRATCH / size));
          if (scratch.byteLength < n * size) scratch = new Uint8Array(Math.min(SCRATCH, end - start));
          const raw = scratch.subarray(0, n * size);
          await readFully(fh, raw, header.dataStart + start + at * size, path);
          convertInto(t.dtype, raw, out, at);
          at += n;
        }
        tensors.set(t.name, { shape: t.shape, data: out, stored: t.dtype });
      } else {
        const runStart = run.length ? run[0]!.dataOffsets[0] : start;
        if (run.length && (start !== prevEnd || end - runStart > CHUNK)) await flush();
        run.push(t);
      }
      prevEnd = end;
    }
    await flush();
    return { tensors: sortedByName(tensors), metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

const ALLOWED: Record<SafetensorsDType, readonly string[]> = {
  F32: ['Float32Array', 'Float64Array'],
  F64: ['Float64Array', 'Float32Array'],
  F16: ['Float32Array', 'Float64Array'],
  BF16: ['Float32Array', 'Float64Array'],
  I64: ['BigInt64Array'],
  I32: ['Int32Array'],
  I8: ['Int8Array'],
  U8: ['Uint8Array'],
  BOOL: ['Uint8Array'],
};

function arrayDType(data: SafetensorsArray): SafetensorsDType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Int8Array) return 'I8';
  if (data instanceof Uint8Array) return 'U8';
  throw writeError(`unsupported array type ${(data as object).constructor?.name}`);
}

interface Planned {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly tensor: NamedTensor;
  readonly bytes: number;
}

/** Checks the tensors and orders them as the reference writer does: by dtype (widest first), then by name. */
function plan(tensors: ReadonlyMap<string, NamedTensor>, source: string): Planned[] {
  const out: Planned[] = [];
  for (const [name, t] of tensors) {
    const where = `${source}: tensor "${name}"`;
    if (name === '__metadata__' || name === '') throw writeError(`${where}: reserved name`);
    if (!t || !ArrayBuffer.isView(t.data)) throw writeError(`${where}: data is not a typed array`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw writeError(`${where}: shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
    }
    const count = elementCount(t.shape);
    if (count !== t.data.length) throw writeError(`${where}: has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}`);
    const dtype = t.dtype ?? arrayDType(t.data);
    if (!isDType(dtype)) throw writeError(`${where}: unknown dtype ${String(dtype)} (tuna writes ${DTYPES.join(', ')})`);
    const kind = t.data.constructor.name;
    if (!ALLOWED[dtype].includes(kind)) throw writeError(`${where}: a ${kind} cannot be stored as ${dtype} (it takes ${ALLOWED[dtype].join(' or ')})`);
    if (dtype === 'BOOL' && (t.data as Uint8Array).some((v) => v > 1)) throw writeError(`${where}: BOOL values must be 0 or 1`);
    out.push({ name, dtype, tensor: t, bytes: count * BYTES[dtype] });
  }
  return out.sort((a, b) => RANK[b.dtype] - RANK[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function headerChunk(planned: readonly Planned[], metadata: Record<string, string>, source: string): Uint8Array {
  const header: Record<string, unknown> = {};
  const meta = Object.entries(metadata);
  for (const [k, v] of meta) if (typeof v !== 'string') throw writeError(`${source}: metadata "${k}" must be a string, got ${JSON.stringify(v)}`);
  if (meta.length) header.__metadata__ = metadata;
  let offset = 0;
  for (const p of planned) {
    header[p.name] = { dtype: p.dtype, shape: p.tensor.shape, data_offsets: [offset, offset + p.bytes] };
    offset += p.bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data that follows starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  return out;
}

/** One tensor's file bytes: the array's own memory when no conversion is needed, a converted copy otherwise. */
function tensorBytes(p: Planned): Uint8Array {
  const data = p.tensor.data;
  if (p.dtype === arrayDType(data) || (p.dtype === 'BOOL' && data instanceof Uint8Array)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const src = data as Float32Array | Float64Array;
  const n = src.length;
  if (p.dtype === 'F32') return new Uint8Array(Float32Array.from(src).buffer);
  if (p.dtype === 'F64') return new Uint8Array(Float64Array.from(src).buffer);
  const out = new Uint16Array(n);
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, n);
    if (p.dtype === 'F16') for (let i = 0; i < n; i++) out[i] = f32BitsToHalf(bits[i]!);
    else for (let i = 0; i < n; i++) out[i] = f32BitsToBfloat16(bits[i]!);
  } else {
    const round = p.dtype === 'F16' ? floatToHalf : floatToBfloat16;
    for (let i = 0; i < n; i++) out[i] = round(src[i]!);
  }
  return new Uint8Array(out.buffer);
}

/**
 * Encodes tensors as safetensors bytes: the header chunk, then each tensor's bytes. Tensors are laid
 * out as the reference (Python/Rust) writer lays them out: sorted by dtype, widest first, then by
 * name; for a file of one dtype that is plain name order. Arrays that need no conversion are not
 * copied: their chunks view the arrays' memory.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const planned = plan(tensors, 'safetensors');
  return [headerChunk(planned, metadata, 'safetensors'), ...planned.map(tensorBytes)];
}

/**
 * Writes a safetensors file atomically (temporary file, flush, rename), converting one tensor at a
 * time so F16/BF16 output never holds more than one converted tensor in memory. Layout as
 * {@link encodeSafetensors}.
 */
export async function writeSafetensors(path: string, tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Promise<void> {
  const planned = plan(tensors, path);
  const head = headerChunk(planned, metadata, path);
  function* chunks(): Generator<Uint8Array> {
    yield head;
    for (const p of planned) yield tensorBytes(p);
  }
  await writeFileAtomic(path, chunks());
}

/** The number of bytes one element of a dtype takes in a file. */
export function dtypeSize(dtype: SafetensorsDType): number {
  return BYTES[dtype];
}
