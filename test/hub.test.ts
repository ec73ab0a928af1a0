import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubError, resolveModel } from '../src/io/hub.js';
import { loadBert } from '../src/models/bert/pretrained.js';

const source = fileURLToPath(new URL('./fixtures/bert/BertForSequenceClassification/', import.meta.url));

/** A loopback Hub: /{id}/resolve/{rev}/{file}, LFS-style sha256 ETag plus a CDN redirect for weights. */
async function hub(opts: { corrupt?: boolean } = {}) {
  const files = new Map<string, Buffer>();
  for (const f of await readdir(source)) files.set(f, await readFile(join(source, f)));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`);
    const m = /^\/(?:cdn\/)?org\/tiny\/resolve\/main\/(.+)$/.exec(req.url ?? '') ?? /^\/cdn\/(.+)$/.exec(req.url ?? '');
    const name = m?.[1];
    const body = name ? files.get(name) : undefined;
    if (!name || !body) {
      res.writeHead(404).end('not found');
      return;
    }
    if (name === 'model.safetensors' && !req.url!.startsWith('/cdn/')) {
      res.writeHead(302, { location: `/cdn/${name}`, 'x-linked-etag': `"${createHash('sha256').update(body).digest('hex')}"` }).end();
      return;
    }
    const etag = name === 'model.safetensors' ? createHash('sha256').update(body).digest('hex') : createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
    const payload = opts.corrupt && name === 'config.json' ? Buffer.concat([body, Buffer.from(' ')]) : body;
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (range) {
      const from = Number(range[1]);
      res.writeHead(206, { etag: `"${etag}"`, 'content-range': `bytes ${from}-${payload.length - 1}/${payload.length}` }).end(payload.subarray(from));
      return;
    }
    res.writeHead(200, { etag: `"${etag}"` }).end(payload);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

test('downloads a model into the cache, then serves it from there with no requests', async () => {
  const h = await hub();
  const cacheDir = await mkdtemp(join(tmpdir(), 'tuna-cache-'));
  const dir = await resolveModel('org/tiny', { endpoint: h.endpoint, cacheDir });
  assert.deepEqual(await readFile(join(dir, 'model.safetensors')), await readFile(join(source, 'model.safetensors')));
  assert.deepEqual(await readFile(join(dir, 'config.json')), await readFile(join(source, 'config.json')));
  const count = h.requests.length;
  assert.equal(await resolveModel('org/tiny', { endpoint: h.endpoint, cacheDir }), dir);
  assert.equal(h.requests.length, count);
  assert.equal(await resolveModel('org/tiny', { cacheDir, offline: true }), dir);
  const loaded = await loadBert('org/tiny', { hub: { cacheDir, offline: true } });
  assert.deepEqual(loaded.report, { missing: [], unexpected: [], mismatched: [] });
  await assert.rejects(resolveModel('org/other', { cacheDir, offline: true }), (e: unknown) => e instanceof HubError && /offline/.test(String(e)));
  await assert.rejects(resolveModel('org/missing', { endpoint: h.endpoint, cacheDir }), /model not found/);
  await h.close();
});

test('an interrupted download resumes with a Range request', async () => {
  const h = await hub();
  const cacheDir = await mkdtemp(join(tmpdir(), 'tuna-cache-'));
  const snap = join(cacheDir, 'models--org--tiny', 'snapshots', 'main');
  await mkdir(snap, { recursive: true });
  const weights = await readFile(join(source, 'model.safetensors'));
  await writeFile(join(snap, 'model.safetensors.incomplete'), weights.subarray(0, 1000));
  const dir = await resolveModel('org/tiny', { endpoint: h.endpoint, cacheDir });
  assert.ok(h.requests.some((r) => /model\.safetensors bytes=1000-/.test(r)), h.requests.join('\n'));
  assert.deepEqual(await readFile(join(dir, 'model.safetensors')), weights);
  await h.close();
});

test('a file that does not match its ETag is rejected and not kept', async () => {
  const h = await hub({ corrupt: true });
  const cacheDir = await mkdtemp(join(tmpdir(), 'tuna-cache-'));
  await assert.rejects(resolveModel('org/tiny', { endpoint: h.endpoint, cacheDir }), /does not match its ETag/);
  const snap = join(cacheDir, 'models--org--tiny', 'snapshots', 'main');
  assert.ok(!existsSync(join(snap, 'config.json')) && !existsSync(join(snap, 'config.json.incomplete')));
  await h.close();
});

test('a local directory is used as is', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-local-'));
  await mkdir(join(dir, 'm'));
  await writeFile(join(dir, 'm', 'config.json'), '{}');
  assert.equal(await resolveModel(join(dir, 'm')), join(dir, 'm'));
});
