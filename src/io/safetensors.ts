import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';

/** Element types of the safetensors format that tuna reads. */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';

/** One tensor read from or written to a safetensors file; floats are always float32 in memory. */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Float64Array;
}

/** A safetensors file is malformed or uses something tuna does not read. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };

/** Converts IEEE half-precision bits to a float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * Parses safetensors bytes. F16 and BF16 tensors are upcast to float32; `source` names the file
 * in error messages.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (bytes.byteLength < 8) throw new SafetensorsError(`${source}: too short to be a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.byteLength - 8) throw new SafetensorsError(`${source}: header length ${headerLen} exceeds the file size`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SafetensorsError(`${source}: the header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new SafetensorsError(`${source}: tensor ${name} has dtype ${dtype}, which tuna does not read`);
    const [start, end] = data_offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - start !== count * BYTES[dtype as SafetensorsDType] || base + end > bytes.byteLength) {
      throw new SafetensorsError(`${source}: tensor ${name} has inconsistent offsets [${start}, ${end}] for shape [${shape}]`);
    }
    tensors.set(name, { shape, data: decode(dtype as SafetensorsDType, alignedBytes(bytes, base + start, base + end, dtype as SafetensorsDType), count) });
  }
  return { tensors, metadata };
}

/** The bytes of one tensor, viewed in place when suitably aligned and copied otherwise. */
function alignedBytes(bytes: Uint8Array, start: number, end: number, dtype: SafetensorsDType): Uint8Array {
  const view = bytes.subarray(start, end);
  return view.byteOffset % BYTES[dtype] === 0 ? view : new Uint8Array(view);
}

function decode(dtype: SafetensorsDType, raw: Uint8Array, count: number): NamedTensor['data'] {
  const buf = raw.buffer;
  const at = raw.byteOffset;
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
    case 'F16': {
      const h = new Uint16Array(buf, at, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    case 'BF16': {
      const h = new Uint16Array(buf, at, count);
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = h[i]! << 16;
      return out;
    }
  }
}

function dtypeOf(data: NamedTensor['data']): SafetensorsDType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Int8Array) return 'I8';
  return 'U8';
}

/** Encodes tensors (in the given order) as safetensors bytes, header first. */
export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new SafetensorsError(`tensor ${name} has ${t.data.length} values but shape [${t.shape}]`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  // Pad the header so the data that follows starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  return [len, head, ...chunks];
}

/** Reads a safetensors file. */
export async function readSafetensors(path: string) {
  return parseSafetensors(await readFile(path), path);
}

/** Writes a safetensors file atomically. */
export async function writeSafetensors(path: string, tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
