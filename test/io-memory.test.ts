import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NamedTensor, floatToHalf, halfToFloat, writeSafetensors } from '../src/io/safetensors.js';

/**
 * Resident memory of reading a bert-base sized (110M parameters, ~440 MB) safetensors file: the
 * file is read once into shared buffers that the tensors view, so the peak stays under 2x the file
 * size. Set TUNA_SKIP_BIG=1 to skip (it writes ~660 MB to the temp directory).
 */

const safetensorsModule = fileURLToPath(new URL('../src/io/safetensors.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

/** bert-base-uncased parameter shapes (BertModel with pooler): 109,482,240 parameters. */
function bertBaseShapes(): [string, number[]][] {
  const h = 768;
  const shapes: [string, number[]][] = [
    ['embeddings.word_embeddings.weight', [30522, h]],
    ['embeddings.position_embeddings.weight', [512, h]],
    ['embeddings.token_type_embeddings.weight', [2, h]],
    ['embeddings.LayerNorm.weight', [h]],
    ['embeddings.LayerNorm.bias', [h]],
  ];
  for (let l = 0; l < 12; l++) {
    const p = `encoder.layer.${l}.`;
    for (const m of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense'])
      shapes.push([`${p}${m}.weight`, [h, h]], [`${p}${m}.bias`, [h]]);
    shapes.push([`${p}intermediate.dense.weight`, [4 * h, h]], [`${p}intermediate.dense.bias`, [4 * h]]);
    shapes.push([`${p}output.dense.weight`, [h, 4 * h]], [`${p}output.dense.bias`, [h]]);
    for (const n of ['attention.output.LayerNorm', 'output.LayerNorm']) shapes.push([`${p}${n}.weight`, [h]], [`${p}${n}.bias`, [h]]);
  }
  shapes.push(['pooler.dense.weight', [h, h]], ['pooler.dense.bias', [h]]);
  return shapes;
}

/** Writes the file; tensors of one shape share one array, so the writer's own memory stays small. */
async function writeBig(path: string, dtype: 'F32' | 'F16'): Promise<number> {
  const shared = new Map<string, Float32Array>();
  const tensors = new Map<string, NamedTensor>();
  let params = 0;
  for (const [name, shape] of bertBaseShapes()) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data = shared.get(shape.join());
    if (!data) {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = ((i * 7919) % 1000) / 1000 - 0.5;
      shared.set(shape.join(), data);
    }
    tensors.set(name, { shape, data, dtype });
    params += n;
  }
  await writeSafetensors(path, tensors);
  return params;
}

/** Loads the file in a fresh process; returns its resident memory before and after, and its peak. */
function loadInChild(path: string): { before: number; after: number; peak: number; tensors: number; values: number; check: number } {
  const script = `
    const { readSafetensors } = await import(${JSON.stringify(safetensorsModule)});
    const before = process.memoryUsage().rss;
    const { tensors } = await readSafetensors(${JSON.stringify(path)});
    const after = process.memoryUsage().rss;
    const peak = process.resourceUsage().maxRSS * 1024;
    let values = 0;
    for (const t of tensors.values()) values += t.data.length;
    const check = tensors.get('embeddings.word_embeddings.weight').data[12345];
    console.log(JSON.stringify({ before, after, peak, tensors: tensors.size, values, check }));
  `;
  const out = execFileSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

test('loading a 110M-parameter F32 file peaks under 2x its size in resident memory', { skip: process.env.TUNA_SKIP_BIG === '1' && 'TUNA_SKIP_BIG=1' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-big-'));
  try {
    const f32 = join(dir, 'f32.safetensors');
    const params = await writeBig(f32, 'F32');
    const size = (await stat(f32)).size;
    assert.ok(params > 109e6 && size > 437e6, `${params} parameters, ${size} bytes`);
    const r = loadInChild(f32);
    assert.equal(r.values, params);
    assert.equal(r.check, Math.fround(((12345 * 7919) % 1000) / 1000 - 0.5));
    t.diagnostic(`F32 ${mib(size)}: rss ${mib(r.before)} before, ${mib(r.after)} after loading, peak ${mib(r.peak)} = ${(r.peak / size).toFixed(2)}x the file`);
    assert.ok(r.peak < 2 * size, `peak rss ${mib(r.peak)} for a ${mib(size)} file`);
    assert.ok(r.after - r.before < 1.15 * size, `loading added ${mib(r.after - r.before)} for a ${mib(size)} file`);

    // F16: the float32 result is necessarily twice the file; the half bytes are never all held beside it.
    const f16 = join(dir, 'f16.safetensors');
    await writeBig(f16, 'F16');
    await rm(f32);
    const half = (await stat(f16)).size;
    const h = loadInChild(f16);
    t.diagnostic(`F16 ${mib(half)} (float32 result ${mib(2 * half)}): rss ${mib(h.before)} before, ${mib(h.after)} after loading, peak ${mib(h.peak)}`);
    assert.equal(h.values, params);
    assert.equal(h.check, halfToFloat(floatToHalf(((12345 * 7919) % 1000) / 1000 - 0.5)));
    assert.ok(h.peak - h.before < 1.1 * 2 * half, `F16 load grew rss by ${mib(h.peak - h.before)} for a ${mib(2 * half)} result`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
