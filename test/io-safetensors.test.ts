import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type NamedTensor,
  SafetensorsError,
  bfloat16ToFloat,
  encodeSafetensors,
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from '../src/io/safetensors.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/io/${name}`, import.meta.url));
const temps: string[] = [];
const tmp = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-st-'));
  temps.push(dir);
  return dir;
};
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));
const f32Bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)].map((b) => b.toString(16).padStart(8, '0'));
const concat = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));

/** A safetensors file with an arbitrary header object and data section, for malformed-file tests. */
function raw(header: unknown, data = new Uint8Array(0), headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

interface Expected {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; values: (string | number)[] }>;
}

test('reads every dtype of a file written by an independent (numpy) writer, exactly', async () => {
  const expected = JSON.parse(await readFile(fixture('mixed.expected.json'), 'utf8')) as Expected;
  const fromFile = await readSafetensors(fixture('mixed.safetensors'));
  const fromBytes = parseSafetensors(await readFile(fixture('mixed.safetensors')), 'mixed.safetensors');
  for (const { tensors, metadata } of [fromFile, fromBytes]) {
    assert.deepEqual(metadata, expected.metadata);
    assert.deepEqual([...tensors.keys()], Object.keys(expected.tensors).sort());
    for (const [name, e] of Object.entries(expected.tensors)) {
      const t = tensors.get(name)!;
      assert.deepEqual(t.shape, e.shape, name);
      assert.equal(t.stored, e.dtype, name);
      const d = t.data;
      switch (e.dtype) {
        case 'F32':
        case 'F16':
        case 'BF16':
          assert.ok(d instanceof Float32Array, name);
          assert.deepEqual(f32Bits(d), e.values, name);
          break;
        case 'F64':
          assert.ok(d instanceof Float64Array);
          assert.deepEqual([...d], e.values.map(Number));
          break;
        case 'I64':
          assert.ok(d instanceof BigInt64Array);
          assert.deepEqual(
            [...d],
            e.values.map((v) => BigInt(v)),
          );
          break;
        default:
          assert.equal(d.constructor.name, { I32: 'Int32Array', I8: 'Int8Array', U8: 'Uint8Array', BOOL: 'Uint8Array' }[e.dtype], name);
          assert.deepEqual([...(d as Int32Array)], e.values, name);
      }
    }
  }
  const half = fromFile.tensors.get('half')!.data as Float32Array;
  assert.deepEqual([...half.slice(4, 12)], [2 ** -14, 2 ** -24, 3 * 2 ** -24, 1023 * 2 ** -24, 0, -0, Infinity, -Infinity]);
  assert.ok(Number.isNaN(half[12]));
  assert.ok(Object.is(half[9], -0));
  const f64 = await readSafetensors(fixture('mixed.safetensors'), { f64: 'float32', select: (n) => n === 'double' });
  assert.deepEqual([...f64.tensors.keys()], ['double']);
  assert.deepEqual([...(f64.tensors.get('double')!.data as Float32Array)], [Math.fround(0.1), -Infinity, 0]);
});

test('writes the same bytes as the reference layout: dtype rank then name, metadata first, 8-byte padding', async () => {
  const bytes = await readFile(fixture('mixed.safetensors'));
  const { tensors, metadata } = parseSafetensors(bytes);
  // Store each tensor as the file did (F16, BF16, BOOL need saying; the rest follow the array type).
  const again = new Map<string, NamedTensor>([...tensors].reverse().map(([k, t]) => [k, { shape: t.shape, data: t.data, dtype: t.stored }]));
  assert.deepEqual(Buffer.from(concat(encodeSafetensors(again, metadata))), bytes);
  const dir = await tmp();
  await writeSafetensors(join(dir, 'out.safetensors'), again, metadata);
  assert.deepEqual(await readFile(join(dir, 'out.safetensors')), bytes);
  assert.deepEqual(await readdir(dir), ['out.safetensors'], 'no temporary file left behind');
});

test('matches the byte vectors of the reference implementation', () => {
  const data = new Float32Array([0, 1, 2, 3, 4, 5]);
  const tail = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
  const one = concat(encodeSafetensors(new Map([['attn.0', { shape: [1, 2, 3], data }]])));
  assert.deepEqual([...one.subarray(0, 8)], [64, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(new TextDecoder().decode(one.subarray(8, 72)), '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
  assert.deepEqual([...one.subarray(72)], tail);
  const padded = concat(encodeSafetensors(new Map([['attn0', { shape: [1, 1, 2, 3], data }]])));
  assert.deepEqual([...padded.subarray(0, 8)], [72, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(new TextDecoder().decode(padded.subarray(8, 80)), '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
  assert.deepEqual([...padded.subarray(80)], tail);
  const empty = concat(encodeSafetensors(new Map(), { framework: 'pt' }));
  assert.deepEqual([...empty], [40, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode('{"__metadata__":{"framework":"pt"}}     ')]);
  assert.deepEqual([...concat(encodeSafetensors(new Map()))], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  assert.equal(parseSafetensors(empty).metadata.framework, 'pt');
});

test('F16: all 65536 values read exactly (subnormals, infinities, NaN) and write back to the same bits', async () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const file = raw({ h: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } }, new Uint8Array(all.buffer));
  const h = parseSafetensors(file).tensors.get('h')!.data as Float32Array;
  for (let i = 0; i < 65536; i++) {
    const v = halfToFloat(i);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(h[i]) && (new Uint32Array(h.buffer, h.byteOffset)[i]! & 0x80000000) === (i & 0x8000) << 16);
    else assert.ok(Object.is(h[i], v), `half ${i.toString(16)}`);
  }
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0xfc00), -Infinity);
  const back = concat(encodeSafetensors(new Map([['h', { shape: [65536], data: h, dtype: 'F16' }]])));
  const bits = new Uint16Array(back.slice(back.byteLength - 131072).buffer);
  for (let i = 0; i < 65536; i++) {
    const nan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (nan) assert.ok((bits[i]! & 0x7c00) === 0x7c00 && bits[i]! & 0x3ff, `NaN ${i.toString(16)} stays NaN`);
    else assert.equal(bits[i], i);
  }
});

test('F16 writing rounds to nearest, ties to even, exactly as numpy does', () => {
  const ref = JSON.parse(readFileSync(fixture('f16-rounding.json'), 'utf8')) as { input_f32_bits: string[]; half_bits: string[] };
  const inputs = new Float32Array(new Uint32Array(ref.input_f32_bits.map((b) => parseInt(b, 16))).buffer);
  const want = ref.half_bits.map((b) => parseInt(b, 16));
  const fromF32 = concat(encodeSafetensors(new Map([['x', { shape: [inputs.length], data: inputs, dtype: 'F16' }]])));
  const got32 = new Uint16Array(fromF32.slice(fromF32.byteLength - inputs.length * 2).buffer);
  const fromF64 = concat(encodeSafetensors(new Map([['x', { shape: [inputs.length], data: Float64Array.from(inputs), dtype: 'F16' }]])));
  const got64 = new Uint16Array(fromF64.slice(fromF64.byteLength - inputs.length * 2).buffer);
  let checked = 0;
  for (let i = 0; i < inputs.length; i++) {
    assert.equal(got32[i], want[i], `float32 ${ref.input_f32_bits[i]} (${inputs[i]})`);
    assert.equal(got64[i], want[i], `float64 ${inputs[i]}`);
    assert.equal(floatToHalf(inputs[i]!), want[i]);
    checked++;
  }
  assert.ok(checked > 5000);
  // Every tie between neighbouring finite halves goes to the even one; just off the tie goes to the nearer.
  const up = new Float32Array(1);
  const upBits = new Uint32Array(up.buffer);
  for (let h = 0; h < 0x7bff; h++) {
    const mid = (halfToFloat(h) + halfToFloat(h + 1)) / 2;
    assert.equal(floatToHalf(mid), h % 2 === 0 ? h : h + 1);
    up[0] = mid;
    upBits[0]! += 1;
    assert.equal(floatToHalf(up[0]!), h + 1);
    upBits[0]! -= 2;
    assert.equal(floatToHalf(up[0]!), h);
  }
  assert.equal(floatToHalf(65519.99), 0x7bff);
  assert.equal(floatToHalf(65520), 0x7c00);
  assert.equal(floatToHalf(-1e10), 0xfc00);
  assert.equal(floatToHalf(2 ** -25), 0);
  assert.equal(floatToHalf(-(2 ** -25) * 1.5), 0x8001);
  assert.equal(floatToHalf(-0), 0x8000);
  assert.equal(floatToHalf(NaN) & 0x7e00, 0x7e00);
});

test('BF16: read exactly, written with round to nearest even (float32 and float64 paths agree)', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const file = raw({ b: { dtype: 'BF16', shape: [256, 256], data_offsets: [0, 131072] } }, new Uint8Array(all.buffer));
  const b = parseSafetensors(file).tensors.get('b')!.data as Float32Array;
  const bits = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < 65536; i++) assert.equal(bits[i], (i << 16) >>> 0);
  assert.equal(bfloat16ToFloat(0x3f80), 1);
  // Ties: 1 + 2^-8 lies halfway between bf16 1 (0x3f80) and 1 + 2^-7 (0x3f81): goes to even 0x3f80.
  assert.equal(floatToBfloat16(1 + 2 ** -8), 0x3f80);
  assert.equal(floatToBfloat16(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(floatToBfloat16(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  assert.equal(floatToBfloat16(3.4028234663852886e38), 0x7f80, 'max float32 rounds up to infinity');
  assert.equal(floatToBfloat16(-(2 ** -133)), 0x8001, 'smallest bf16 subnormal');
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0), seed);
  const inputs = new Uint32Array(20000).map(() => rand() ^ (rand() << 16));
  const floats = new Float32Array(inputs.buffer);
  const viaF32 = concat(encodeSafetensors(new Map([['x', { shape: [floats.length], data: floats, dtype: 'BF16' }]])));
  const viaF64 = concat(encodeSafetensors(new Map([['x', { shape: [floats.length], data: Float64Array.from(floats), dtype: 'BF16' }]])));
  const a = new Uint16Array(viaF32.slice(viaF32.byteLength - floats.length * 2).buffer);
  const c = new Uint16Array(viaF64.slice(viaF64.byteLength - floats.length * 2).buffer);
  for (let i = 0; i < floats.length; i++) {
    if (Number.isNaN(floats[i])) assert.ok((a[i]! & 0x7f80) === 0x7f80 && a[i]! & 0x7f);
    else {
      assert.equal(a[i], c[i], `bf16 of ${floats[i]}`);
      const back = bfloat16ToFloat(a[i]!);
      const err = Math.abs(back - floats[i]!);
      if (Number.isFinite(back)) assert.ok(err <= Math.abs(floats[i]!) * 2 ** -8 + 2 ** -133, `bf16 of ${floats[i]} is ${back}`);
    }
  }
});

test('tensors are views into one buffer, not copies; unaligned offsets are copied', async () => {
  const a = new Float32Array([1, 2, 3, 4]);
  const b = new Float32Array([5, 6]);
  const ids = new BigInt64Array([1n, 2n]);
  const dir = await tmp();
  const path = join(dir, 'v.safetensors');
  await writeSafetensors(
    path,
    new Map<string, NamedTensor>([
      ['a', { shape: [2, 2], data: a }],
      ['b', { shape: [2], data: b }],
      ['ids', { shape: [2], data: ids }],
    ]),
  );
  const { tensors } = await readSafetensors(path);
  const [ta, tb, ti] = ['a', 'b', 'ids'].map((n) => tensors.get(n)!.data);
  assert.equal(ta!.buffer, tb!.buffer);
  assert.equal(ta!.buffer, ti!.buffer);
  assert.deepEqual([...(ta as Float32Array)], [1, 2, 3, 4]);
  const bytes = await readFile(path);
  const parsed = parseSafetensors(bytes);
  assert.equal(parsed.tensors.get('a')!.data.buffer, bytes.buffer, 'parseSafetensors views the given bytes');
  // A U8 byte first puts the F32 tensor at an odd offset: still read correctly (through a copy).
  const data = new Uint8Array(9);
  data[0] = 7;
  new DataView(data.buffer).setFloat32(1, 1.25, true);
  new DataView(data.buffer).setFloat32(5, -3, true);
  const odd = raw({ u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] } }, data);
  await writeFile(join(dir, 'odd.safetensors'), odd);
  for (const r of [parseSafetensors(odd), await readSafetensors(join(dir, 'odd.safetensors'))]) {
    assert.deepEqual([...(r.tensors.get('f')!.data as Float32Array)], [1.25, -3]);
    assert.deepEqual([...(r.tensors.get('u')!.data as Uint8Array)], [7]);
  }
  const header = await readSafetensorsHeader(join(dir, 'odd.safetensors'));
  assert.deepEqual(
    header.tensors.map((t) => [t.name, t.dtype, t.dataOffsets]),
    [
      ['u', 'U8', [0, 1]],
      ['f', 'F32', [1, 9]],
    ],
  );
});

test('malformed files are rejected with errors naming the file and the tensor', async () => {
  const dir = await tmp();
  const cases: [string, Uint8Array, RegExp][] = [
    ['short', new Uint8Array(5), /short\.safetensors: 5 bytes is too short/],
    ['huge-header', raw('{}', new Uint8Array(0), 200_000_000), /huge-header\.safetensors: the header claims 200000000 bytes, more than the format's limit/],
    ['header-past-end', raw('{}', new Uint8Array(0), 50), /header-past-end\.safetensors: the header claims 50 bytes but the file has only 2 .*truncated/],
    ['not-json', raw('{"a": '), /not-json\.safetensors: the header is not valid JSON/],
    ['pickle', raw('\x80\x02}q'), /pickle\.safetensors: not a safetensors file/],
    ['dtype', raw({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /dtype\.safetensors: tensor "w" has dtype F8_E4M3, which tuna does not read/],
    [
      'size',
      raw({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12)),
      /size\.safetensors: tensor "w": shape \[2, 2\] of F32 needs 16 bytes but data_offsets \[0, 12\] span 12/,
    ],
    [
      'overlap',
      raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      /overlap\.safetensors: tensor "b" \(bytes 4\.\.12\) overlaps tensor "a" \(bytes 0\.\.8\)/,
    ],
    [
      'gap',
      raw({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)),
      /gap\.safetensors: bytes 4\.\.8 of the data section belong to no tensor \(before tensor "b"\)/,
    ],
    [
      'truncated',
      raw({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [256], data_offsets: [16, 1040] } }, new Uint8Array(100)),
      /truncated\.safetensors: tensor "b": data_offsets \[16, 1040\] run past the end of the file \(its data section has 100 bytes\); the file is truncated/,
    ],
    ['trailing', raw({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /trailing\.safetensors: the last 4 bytes of the file belong to no tensor/],
    [
      'shape',
      raw({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /shape\.safetensors: tensor "a": shape \[-1\] is not a list of non-negative integers/,
    ],
    ['offsets', raw({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /offsets\.safetensors: tensor "a": data_offsets \[4, 0\] end before they start/],
    ['meta', raw({ __metadata__: { format: 1 } }), /meta\.safetensors: __metadata__ entry "format" is 1, not a string/],
  ];
  for (const [name, bytes, message] of cases) {
    const path = join(dir, `${name}.safetensors`);
    await writeFile(path, bytes);
    await assert.rejects(readSafetensors(path), (e: unknown) => e instanceof SafetensorsError && message.test(e.message), name);
    assert.throws(
      () => parseSafetensors(bytes, path),
      (e: unknown) => e instanceof SafetensorsError && message.test(e.message),
      name,
    );
  }
  await assert.rejects(readSafetensors(join(dir, 'absent.safetensors')), /absent\.safetensors: no such file/);
});

test('writing checks shapes and dtypes and keeps metadata', async () => {
  const dir = await tmp();
  const path = join(dir, 'w.safetensors');
  const bad: [NamedTensor, RegExp][] = [
    [{ shape: [3], data: new Float32Array(2) }, /tensor "t": has 2 values but shape \[3\] needs 3/],
    [{ shape: [2], data: new Int32Array(2), dtype: 'F16' }, /tensor "t": a Int32Array cannot be stored as F16/],
    [{ shape: [2], data: new Uint8Array([0, 2]), dtype: 'BOOL' }, /BOOL values must be 0 or 1/],
    [{ shape: [1.5], data: new Float32Array(1) }, /shape \[1.5\] is not a list of non-negative integers/],
  ];
  for (const [t, message] of bad) await assert.rejects(writeSafetensors(path, new Map([['t', t]])), (e: unknown) => e instanceof SafetensorsError && message.test(e.message));
  assert.deepEqual(await readdir(dir), [], 'a failed write leaves nothing behind');
  const tensors = new Map<string, NamedTensor>([
    ['z', { shape: [2], data: new Float32Array([1, 2]) }],
    ['m', { shape: [3], data: new Uint8Array([1, 0, 1]), dtype: 'BOOL' }],
    ['a', { shape: [2], data: new Float64Array([0.1, 2]), dtype: 'F32' }],
    ['h', { shape: [2], data: new Float32Array([0.1, 70000]), dtype: 'F16' }],
  ]);
  await writeSafetensors(path, tensors, { format: 'pt' });
  const header = await readSafetensorsHeader(path);
  assert.deepEqual(
    header.tensors.map((t) => `${t.name}:${t.dtype}`),
    ['a:F32', 'z:F32', 'h:F16', 'm:BOOL'],
  );
  const back = await readSafetensors(path);
  assert.deepEqual(back.metadata, { format: 'pt' });
  assert.deepEqual([...(back.tensors.get('a')!.data as Float32Array)], [Math.fround(0.1), 2]);
  assert.deepEqual([...(back.tensors.get('h')!.data as Float32Array)], [halfToFloat(floatToHalf(0.1)), Infinity]);
  assert.equal(back.tensors.get('m')!.stored, 'BOOL');
  await assert.rejects(writeSafetensors(path, new Map(), { n: 3 as unknown as string }), /metadata "n" must be a string/);
});

test('large F16/BF16/F64 tensors are read piecewise from the file with the same result as from memory', async () => {
  const dir = await tmp();
  const path = join(dir, 'big.safetensors');
  const n = 3_000_001;
  const values = new Float32Array(n).map((_, i) => Math.sin(i) * 100);
  await writeSafetensors(
    path,
    new Map<string, NamedTensor>([
      ['h', { shape: [n], data: values, dtype: 'F16' }],
      ['b', { shape: [n], data: values, dtype: 'BF16' }],
      ['d', { shape: [n], data: values, dtype: 'F64' }],
      ['f', { shape: [n], data: values }],
    ]),
  );
  const fromFile = await readSafetensors(path, { f64: 'float32' });
  const fromBytes = parseSafetensors(await readFile(path), path, { f64: 'float32' });
  for (const name of ['h', 'b', 'd', 'f']) assert.deepEqual(fromFile.tensors.get(name)!.data, fromBytes.tensors.get(name)!.data, name);
  assert.deepEqual(fromFile.tensors.get('d')!.data, values);
  const h = fromFile.tensors.get('h')!.data as Float32Array;
  for (const i of [0, 1, 1048576, 2097151, 2097152, n - 1]) assert.equal(h[i], halfToFloat(floatToHalf(values[i]!)));
});
