// Hostile and unusual safetensors files: unpadded headers (as MLX writes them), odd offsets, headers
// listing more tensors than tuna reads, and weights that are not regular files.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint } from '../src/io/checkpoint.js';
import {
  MAX_HEADER_BYTES,
  MAX_TENSORS,
  type NamedTensor,
  SafetensorsError,
  floatToBfloat16,
  floatToHalf,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
} from '../src/io/safetensors.js';

const work = await mkdtemp(join(tmpdir(), 'tuna-hardening-st-'));
after(() => rm(work, { recursive: true, force: true }));

/** A safetensors file with exactly this header text (no padding) and data section. */
function unpadded(header: string, data: Uint8Array): Buffer {
  const json = Buffer.from(header);
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length));
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return out;
}

interface Spec {
  readonly name: string;
  readonly dtype: 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';
  readonly values: readonly number[];
}

const SIZE = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 } as const;

/** The header and data of tensors laid out one after another in the given order, with no alignment. */
function layout(specs: readonly Spec[], headerPad = ''): { header: string; data: Uint8Array } {
  const total = specs.reduce((n, s) => n + s.values.length * SIZE[s.dtype], 0);
  const data = new Uint8Array(total);
  const dv = new DataView(data.buffer);
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const s of specs) {
    header[s.name] = { dtype: s.dtype, shape: [s.values.length], data_offsets: [at, at + s.values.length * SIZE[s.dtype]] };
    for (const v of s.values) {
      if (s.dtype === 'F32') dv.setFloat32(at, v, true);
      else if (s.dtype === 'F16') dv.setUint16(at, floatToHalf(v), true);
      else if (s.dtype === 'BF16') dv.setUint16(at, floatToBfloat16(v), true);
      else if (s.dtype === 'F64') dv.setFloat64(at, v, true);
      else if (s.dtype === 'I64') dv.setBigInt64(at, BigInt(v), true);
      else dv.setInt32(at, v, true);
      at += SIZE[s.dtype];
    }
  }
  return { header: JSON.stringify(header) + headerPad, data };
}

function values(t: NamedTensor | undefined): number[] {
  assert.ok(t, 'tensor present');
  return [...t.data].map(Number);
}

/** Every way tuna reads a safetensors file: from disk (arena and piecewise paths), from a Node Buffer, from a plain Uint8Array, as float32 F64. */
async function readAllWays(path: string): Promise<Map<string, Map<string, NamedTensor>>> {
  const buffer = readFileSync(path);
  const plain = new Uint8Array(buffer.byteLength);
  plain.set(buffer);
  // A Buffer that does not start at the start of its memory, as pooled Buffers do.
  const offsetBuffer = Buffer.concat([Buffer.alloc(3), buffer]).subarray(3);
  return new Map([
    ['readSafetensors', (await readSafetensors(path)).tensors],
    ['readSafetensors f64→f32', (await readSafetensors(path, { f64: 'float32' })).tensors],
    ['parseSafetensors(Buffer)', parseSafetensors(buffer, path).tensors],
    ['parseSafetensors(offset Buffer)', parseSafetensors(offsetBuffer, path).tensors],
    ['parseSafetensors(Uint8Array)', parseSafetensors(plain, path).tensors],
  ]);
}

const SPECS: readonly Spec[] = [
  { name: 'a.f16', dtype: 'F16', values: [1.5] },
  { name: 'b.f32', dtype: 'F32', values: [2.5, -7, 1e-3, 65504.5] },
  { name: 'c.f16', dtype: 'F16', values: [3, -0.5, 2 ** -24] },
  { name: 'd.bf16', dtype: 'BF16', values: [4, 8, -(2 ** 100)] },
  { name: 'e.f64', dtype: 'F64', values: [0.1, -1e300] },
  { name: 'f.i64', dtype: 'I64', values: [7, -9] },
  { name: 'g.i32', dtype: 'I32', values: [123456, -1] },
];

test('unpadded headers of every length mod 8, tensors at odd offsets: every dtype reads back exactly what was written, every way', async () => {
  for (let pad = 0; pad < 8; pad++) {
    const { header, data } = layout(SPECS, ' '.repeat(pad));
    const path = join(work, `unaligned-${pad}.safetensors`);
    await writeFile(path, unpadded(header, data));
    const headerLength = Buffer.byteLength(header);
    for (const [way, tensors] of await readAllWays(path)) {
      const where = `${way}, header length ${headerLength} (mod 8 = ${headerLength % 8})`;
      assert.deepEqual(values(tensors.get('a.f16')), [1.5], where);
      assert.deepEqual(values(tensors.get('b.f32')), [...Float32Array.from([2.5, -7, 1e-3, 65504.5])], where);
      assert.deepEqual(values(tensors.get('c.f16')), [3, -0.5, 2 ** -24], where);
      assert.deepEqual(values(tensors.get('d.bf16')), [4, 8, -(2 ** 100)], where);
      const f64 = way.includes('f32') ? [...Float32Array.from([0.1, -1e300])] : [0.1, -1e300];
      assert.deepEqual(values(tensors.get('e.f64')), f64, where);
      assert.deepEqual(values(tensors.get('f.i64')), [7, -9], where);
      assert.deepEqual(values(tensors.get('g.i32')), [123456, -1], where);
    }
  }
});

test('an odd header length with only F16, only BF16 or only F32 tensors (as MLX writes them) reads correctly', async () => {
  for (const dtype of ['F16', 'BF16', 'F32'] as const) {
    const { header, data } = layout([
      { name: 'w', dtype, values: [0.25, -1, 3] },
      { name: 'x', dtype, values: [5] },
    ]);
    const odd = Buffer.byteLength(header) % 2 === 1 ? header : `${header} `;
    const path = join(work, `odd-${dtype}.safetensors`);
    await writeFile(path, unpadded(odd, data));
    for (const [way, tensors] of await readAllWays(path)) {
      assert.deepEqual(values(tensors.get('w')), [0.25, -1, 3], `${dtype} ${way}`);
      assert.deepEqual(values(tensors.get('x')), [5], `${dtype} ${way}`);
    }
  }
});

test('a checkpoint whose weights have an unpadded header loads with the values written', async () => {
  const dir = join(work, 'mlx-checkpoint');
  await mkdir(dir);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  const { header, data } = layout(SPECS.slice(0, 4), ' ');
  await writeFile(join(dir, 'model.safetensors'), unpadded(header, data));
  const { tensors } = await readCheckpoint(dir);
  assert.deepEqual(values(tensors.get('a.f16')), [1.5]);
  assert.deepEqual(values(tensors.get('b.f32')), [...Float32Array.from([2.5, -7, 1e-3, 65504.5])]);
  assert.deepEqual(values(tensors.get('d.bf16')), [4, 8, -(2 ** 100)]);
});

/** A header of `n` empty tensors. */
function emptyTensors(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  return `{${parts.join(',')}}`;
}

test('a header listing more tensors than tuna reads is refused as too large, naming the file, before it is parsed', async () => {
  const path = join(work, 'many.safetensors');
  await writeFile(path, unpadded(emptyTensors(MAX_TENSORS + 1), new Uint8Array(0)));
  const check = (e: unknown) => {
    assert.ok(e instanceof SafetensorsError);
    assert.equal(e.code, 'too_large');
    assert.equal(e.file, path);
    assert.match(e.message, /many\.safetensors: the header lists more than 100000 tensors/);
    return true;
  };
  await assert.rejects(readSafetensors(path), check);
  await assert.rejects(readSafetensorsHeader(path), check);
  assert.throws(() => parseSafetensors(readFileSync(path), path), check);
  // Exactly the limit is read.
  const limit = join(work, 'limit.safetensors');
  await writeFile(limit, unpadded(emptyTensors(MAX_TENSORS), new Uint8Array(0)));
  assert.equal((await readSafetensorsHeader(limit)).tensors.length, MAX_TENSORS);
  // Colons inside names and nested objects are not counted as tensors.
  const tricky = join(work, 'tricky.safetensors');
  const names = '{"__metadata__":{"a:b":"c:d","e":"{:}"},"x:\\":y":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
  await writeFile(tricky, unpadded(names, new Uint8Array([9])));
  assert.deepEqual([...(await readSafetensors(tricky)).tensors.keys()], ['x:":y']);
});

test('a header length above the format limit is refused without reading it', async () => {
  const path = join(work, 'huge-header.safetensors');
  const bytes = Buffer.alloc(16, 0x20);
  bytes.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES + 1));
  await writeFile(path, bytes);
  await assert.rejects(readSafetensors(path), (e: unknown) => e instanceof SafetensorsError && /huge-header\.safetensors: the header claims 100000001 bytes/.test(e.message));
});

test('weights that are a link to /dev/zero, a named pipe without a writer or a directory are refused by name at once', async () => {
  const zero = join(work, 'zero.safetensors');
  await symlink('/dev/zero', zero);
  const fifo = join(work, 'fifo.safetensors');
  execFileSync('mkfifo', [fifo]);
  const dir = join(work, 'dir.safetensors');
  await mkdir(dir);
  const cases: [string, RegExp][] = [
    [zero, /zero\.safetensors \(safetensors weights\): is a character device, not a file/],
    [fifo, /fifo\.safetensors \(safetensors weights\): is a named pipe; give a regular file/],
    [dir, /dir\.safetensors \(safetensors weights\): is a directory, not a file/],
  ];
  for (const [path, message] of cases) {
    const started = Date.now();
    for (const read of [() => readSafetensors(path), () => readSafetensorsHeader(path)]) {
      await assert.rejects(read(), (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, String(e));
        assert.equal(e.code, 'file_unreadable');
        assert.equal(e.file, path);
        assert.match(e.message, message);
        return true;
      });
    }
    assert.ok(Date.now() - started < 2000, `${path} refused at once`);
  }
});

test('weights behind a link loop or under a file are refused with the file and the fix', async () => {
  const loop = join(work, 'loop.safetensors');
  await symlink(loop, loop);
  await assert.rejects(readSafetensors(loop), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError);
    assert.equal(e.code, 'file_system');
    assert.match(e.message, /loop\.safetensors: cannot read: the path has a symbolic-link loop; fix or remove the link \(ELOOP\)/);
    return true;
  });
  const file = join(work, 'plain-file');
  await writeFile(file, 'x');
  await assert.rejects(readSafetensors(join(file, 'model.safetensors')), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError);
    assert.equal(e.code, 'file_system');
    assert.match(e.message, /plain-file\/model\.safetensors: cannot read: a part of the path is a file, not a directory; check the path \(ENOTDIR\)/);
    return true;
  });
});
