// A misbehaving Hub: weak or opaque ETags with corrupted bytes, truncated bodies that match their
// own Content-Length, files that change between a partial download and its resumption, servers
// that never answer or stall mid-body, endless bodies, a bad HF_ENDPOINT, and a cache that cannot
// be written. Each case runs against a real loopback HTTP server playing the Hub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type Server as NetServer, type Socket, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { HubError, resolveModel, snapshotDir } from '../src/io/hub.js';
import { tempDir } from './helpers/pipeline-models.js';

// No real Hugging Face cache, endpoint or timeout setting leaks into these tests.
process.env.HF_HUB_CACHE = await tempDir('hub-hard-hf-empty');
for (const v of ['HF_ENDPOINT', 'HF_HUB_DOWNLOAD_TIMEOUT', 'HF_HUB_ETAG_TIMEOUT', 'TUNA_CACHE', 'HF_HUB_OFFLINE', 'TUNA_OFFLINE']) delete process.env[v];

const ID = 'org/m';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const flip = (b: Buffer, at = b.length - 1) => Buffer.concat([b.subarray(0, at), Buffer.from([b[at]! ^ 0xff]), b.subarray(at + 1)]);

/** A small safetensors file: one F32 tensor of `n` values. */
function safetensors(n: number, seed = 1): Buffer {
  const json = JSON.stringify({ w: { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] } });
  const header = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.from(new Float32Array(n).map((_, i) => Math.sin(seed * 1000 + i)).buffer);
  return Buffer.concat([len, header, data]);
}

/** How long a server that cuts a connection waits after its last write, so the client has read what was sent. */
const CUT_DELAY_MS = 250;

const CONFIG = Buffer.from(`${JSON.stringify({ model_type: 'bert', hidden_size: 8 })}\n`);

interface Logged {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  readonly ifRange?: string;
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback server answering `/{ID}/resolve/main/{file}` (and any other path) from `routes`; others get 404 EntryNotFound. */
async function startServer(routes: Record<string, Route>) {
  const log: Logged[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url!.replace(`/${ID}/resolve/main/`, '');
    log.push({ method: req.method!, path, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route) route(req, res);
    else res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    log,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Serves `body` with `headers`, honouring `Range: bytes=N-`, and If-Range when `ifRange` is set (a
 * validator other than the ETag sent gets the whole file, 200, as RFC 9110 says).
 */
function sendFile(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string>, opts: { ifRange?: boolean } = {}) {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ranged = m && !(opts.ifRange && req.headers['if-range'] !== undefined && req.headers['if-range'] !== headers.etag);
  const from = ranged ? Number(m[1]) : 0;
  const part = body.subarray(from);
  const h: Record<string, string> = { ...headers, 'content-length': String(part.length), 'accept-ranges': 'bytes' };
  if (ranged) h['content-range'] = `bytes ${from}-${body.length - 1}/${body.length}`;
  res.writeHead(ranged ? 206 : 200, h).end(part);
}

/** A regular (non-LFS) file the Hub serves itself, with its git blob sha1 as ETag unless `etag` is given. */
const regular =
  (body: Buffer, etag = `"${gitSha1(body)}"`): Route =>
  (req, res) =>
    sendFile(req, res, body, { etag, 'x-repo-commit': 'c'.repeat(40) });

/** An LFS file: the Hub redirects to `blobs/{name}` with X-Linked-Etag and X-Linked-Size. */
const lfs =
  (name: string, linked: { etag?: string; size?: number }): Route =>
  (_req, res) =>
    res
      .writeHead(302, {
        location: `/blobs/${name}`,
        ...(linked.etag ? { 'x-linked-etag': linked.etag } : {}),
        ...(linked.size === undefined ? {} : { 'x-linked-size': String(linked.size) }),
      })
      .end();

const isHub = (code: string, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof HubError, String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, re);
  return true;
};

/** The snapshot is not marked complete and holds no file by that name. */
async function assertNotCached(cacheDir: string, file: string) {
  const snap = snapshotDir(ID, { cacheDir });
  const left = existsSync(snap) ? await readdir(snap) : [];
  assert.ok(!left.includes(file), `${file} is in the snapshot: ${left.join(', ')}`);
  assert.ok(!existsSync(join(cacheDir, 'models--org--m', 'manifests', 'main.json')), 'the snapshot is not marked complete');
}

/** The clear-the-cache hint every integrity error ends with. */
const clearHint = (cacheDir: string) => new RegExp(`delet\\w* the directory ${snapshotDir(ID, { cacheDir }).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`);

test('a weak ETag still verifies its hash; an opaque one is checked against the Hub file list; corrupted bytes are never cached', async () => {
  const weights = safetensors(64);
  const siblings = [
    { rfilename: 'config.json', size: CONFIG.length, blobId: gitSha1(CONFIG) },
    { rfilename: 'model.safetensors', size: weights.length, blobId: 'f'.repeat(40), lfs: { sha256: sha256(weights), size: weights.length } },
  ];
  const api: Route = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: ID, siblings }));
  const cases: Array<{ name: string; routes: Record<string, Route>; bad: string; how: RegExp }> = [
    {
      name: 'weak git-sha1 ETag, corrupted config.json',
      routes: { 'config.json': regular(flip(CONFIG), `W/"${gitSha1(CONFIG)}"`) },
      bad: 'config.json',
      how: /does not match its ETag [0-9a-f]{40} \(the git-sha1 of its content;/,
    },
    {
      name: 'opaque weak ETag, corrupted config.json',
      routes: { 'config.json': regular(flip(CONFIG), 'W/"2f-opaque"'), '/api/models/org/m/revision/main?blobs=true': api },
      bad: 'config.json',
      how: /does not match its ETag [0-9a-f]{40} \(the git-sha1 of its content, from the Hub's file list;/,
    },
    {
      name: 'opaque weak X-Linked-Etag, corrupted weights',
      routes: {
        'config.json': regular(CONFIG),
        'model.safetensors': lfs('w', { etag: 'W/"opaque"' }),
        '/blobs/w': (req, res) => sendFile(req, res, flip(weights, 100), { etag: '"cdn-1"' }),
        '/api/models/org/m/revision/main?blobs=true': api,
      },
      bad: 'model.safetensors',
      how: /does not match its ETag [0-9a-f]{64} \(the sha256 of its content, from the Hub's file list;/,
    },
  ];
  for (const c of cases) {
    const hub = await startServer(c.routes);
    try {
      const cacheDir = await tempDir('hub-hard-cache');
      await assert.rejects(resolveModel(ID, { endpoint: hub.url, cacheDir }), (e: unknown) => {
        isHub('hub_error', c.how)(e);
        assert.match((e as Error).message, clearHint(cacheDir), c.name);
        return true;
      });
      await assertNotCached(cacheDir, c.bad);
    } finally {
      await hub.close();
    }
  }
  // The same opaque ETags with the right bytes are verified by the file list and cached.
  const hub = await startServer({
    'config.json': regular(CONFIG, 'W/"2f-opaque"'),
    'model.safetensors': lfs('w', { etag: 'W/"opaque"' }),
    '/blobs/w': (req, res) => sendFile(req, res, weights, { etag: '"cdn-1"' }),
    '/api/models/org/m/revision/main?blobs=true': api,
  });
  try {
    const dir = await resolveModel(ID, { endpoint: hub.url, cacheDir: await tempDir('hub-hard-cache') });
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), weights);
    assert.equal(hub.log.filter((r) => r.path.startsWith('/api/')).length, 1, 'the file list is asked for once per snapshot');
  } finally {
    await hub.close();
  }
});

test('a truncated body with a matching Content-Length is refused by the size the Hub gave', async () => {
  const weights = safetensors(256);
  const short = weights.subarray(0, 600);
  for (const etag of [`"${sha256(weights)}"`, '"opaque-mirror-etag"']) {
    const hub = await startServer({
      'config.json': regular(CONFIG),
      'model.safetensors': lfs('w', { etag, size: weights.length }),
      '/blobs/w': (req, res) => sendFile(req, res, short, { etag: '"cdn-short"' }),
    });
    try {
      const cacheDir = await tempDir('hub-hard-cache');
      await assert.rejects(
        resolveModel(ID, { endpoint: hub.url, cacheDir }),
        isHub('hub_error', new RegExp(`sends 600 bytes for model.safetensors, but the Hub gives its size as ${weights.length} \\(X-Linked-Size\\); nothing was kept`)),
      );
      await assertNotCached(cacheDir, 'model.safetensors');
      assert.ok(!existsSync(join(snapshotDir(ID, { cacheDir }), 'model.safetensors.incomplete')));
    } finally {
      await hub.close();
    }
  }
  // Without a hash, a file that ends before its Content-Length is never taken as complete: with a
  // weak ETag it cannot be resumed safely and is deleted; with a strong one it is kept for If-Range.
  for (const [etag, kept] of [
    ['W/"opaque"', false],
    ['"opaque"', true],
  ] as const) {
    const hub = await startServer({
      'config.json': (_req, res) => {
        res.writeHead(200, { etag, 'content-length': String(CONFIG.length) });
        res.write(CONFIG.subarray(0, 10), () => setTimeout(() => res.destroy(), CUT_DELAY_MS));
      },
    });
    try {
      const cacheDir = await tempDir('hub-hard-cache');
      await assert.rejects(
        resolveModel(ID, { endpoint: hub.url, cacheDir }),
        isHub('hub_error', kept ? /download interrupted .*10 bytes are kept in .*, run again to resume/ : /download interrupted .*the partial file was deleted, run again/),
      );
      const snap = snapshotDir(ID, { cacheDir });
      assert.deepEqual(existsSync(snap) ? (await readdir(snap)).sort() : [], kept ? ['config.json.incomplete', 'config.json.incomplete.json'] : []);
      await assertNotCached(cacheDir, 'config.json');
    } finally {
      await hub.close();
    }
  }
});

test('resuming sends If-Range; a changed file answered whole (200) replaces the partial instead of being spliced onto it', async () => {
  const v1 = Buffer.from(`${JSON.stringify({ model_type: 'bert', version: 1, pad: 'a'.repeat(4000) })}\n`);
  const v2 = Buffer.from(`${JSON.stringify({ model_type: 'bert', version: 2, pad: 'b'.repeat(5000) })}\n`);
  let current = { body: v1, etag: '"rev-1"', cut: 1000 as number | undefined };
  const hub = await startServer({
    'config.json': (req, res) => {
      const { body, etag, cut } = current;
      if (cut !== undefined) {
        current = { ...current, cut: undefined };
        res.writeHead(200, { etag, 'content-length': String(body.length) });
        return void res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), CUT_DELAY_MS));
      }
      sendFile(req, res, body, { etag }, { ifRange: true });
    },
  });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    // The ETag is opaque, but strong: the partial file is kept, and resumed only under If-Range.
    await assert.rejects(
      resolveModel(ID, { endpoint: hub.url, cacheDir }),
      isHub('hub_error', /download interrupted .*1000 bytes are kept in .*config\.json\.incomplete, run again to resume/),
    );
    current = { body: v2, etag: '"rev-2"', cut: undefined };
    await assert.rejects(resolveModel(ID, { endpoint: hub.url, cacheDir }), /no model\.safetensors/);
    const resumed = hub.log.filter((r) => r.path === 'config.json')[1]!;
    assert.deepEqual({ range: resumed.range, ifRange: resumed.ifRange }, { range: 'bytes=1000-', ifRange: '"rev-1"' });
    assert.deepEqual(await readFile(join(snapshotDir(ID, { cacheDir }), 'config.json')), v2, 'the new version whole, not v1 spliced with v2');
  } finally {
    await hub.close();
  }
});

test('a 206 of another version, or from another offset, restarts the download from zero', async () => {
  const v1 = Buffer.from(`${JSON.stringify({ model_type: 'bert', version: 1, pad: 'a'.repeat(4000) })}\n`);
  const v2 = Buffer.from(`${JSON.stringify({ model_type: 'bert', version: 2, pad: 'b'.repeat(4000) })}\n`);
  // A server that ignores If-Range: the Hub's ETag tells the change apart.
  let body = v1;
  let cut: number | undefined = 1000;
  const ignoring = await startServer({
    'config.json': (req, res) => {
      if (cut !== undefined) {
        const n = cut;
        cut = undefined;
        res.writeHead(200, { etag: `"${gitSha1(body)}"`, 'content-length': String(body.length) });
        return void res.write(body.subarray(0, n), () => setTimeout(() => res.destroy(), CUT_DELAY_MS));
      }
      sendFile(req, res, body, { etag: `"${gitSha1(body)}"` });
    },
  });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    await assert.rejects(resolveModel(ID, { endpoint: ignoring.url, cacheDir }), /run again to resume/);
    body = v2;
    await assert.rejects(resolveModel(ID, { endpoint: ignoring.url, cacheDir }), /no model\.safetensors/);
    assert.deepEqual(
      ignoring.log.filter((r) => r.path === 'config.json').map((r) => r.range),
      [undefined, 'bytes=1000-', undefined],
    );
    assert.deepEqual(await readFile(join(snapshotDir(ID, { cacheDir }), 'config.json')), v2);
  } finally {
    await ignoring.close();
  }
  // A 206 that starts at 0 when 1000 was asked for, then a proper answer.
  const offset = await startServer({
    'config.json': (req, res) => {
      if (req.headers.range) {
        return void res.writeHead(206, { etag: `"${gitSha1(v1)}"`, 'content-range': `bytes 0-${v1.length - 1}/${v1.length}`, 'content-length': String(v1.length) }).end(v1);
      }
      sendFile(req, res, v1, { etag: `"${gitSha1(v1)}"` });
    },
  });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    await mkdir(snapshotDir(ID, { cacheDir }), { recursive: true });
    await writeFile(join(snapshotDir(ID, { cacheDir }), 'config.json.incomplete'), v1.subarray(0, 1000));
    await assert.rejects(resolveModel(ID, { endpoint: offset.url, cacheDir }), /no model\.safetensors/);
    assert.deepEqual(
      offset.log.filter((r) => r.path === 'config.json').map((r) => r.range),
      ['bytes=1000-', undefined],
    );
    assert.deepEqual(await readFile(join(snapshotDir(ID, { cacheDir }), 'config.json')), v1);
  } finally {
    await offset.close();
  }
  // A partial file whose ETag is neither a hash nor a strong validator is never resumed.
  const opaque = await startServer({ 'config.json': (req, res) => sendFile(req, res, v2, { etag: 'W/"weak"' }) });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    await mkdir(snapshotDir(ID, { cacheDir }), { recursive: true });
    await writeFile(join(snapshotDir(ID, { cacheDir }), 'config.json.incomplete'), v1.subarray(0, 1000));
    await assert.rejects(resolveModel(ID, { endpoint: opaque.url, cacheDir }), /no model\.safetensors/);
    assert.deepEqual(
      opaque.log.filter((r) => r.path === 'config.json').map((r) => r.range),
      ['bytes=1000-', undefined],
    );
    assert.deepEqual(await readFile(join(snapshotDir(ID, { cacheDir }), 'config.json')), v2);
  } finally {
    await opaque.close();
  }
});

/** Runs `fn` with environment variables set, restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('a Hub that accepts the connection and never answers, or stalls mid-body, fails with hub_timeout after HF_HUB_DOWNLOAD_TIMEOUT', async () => {
  const sockets = new Set<Socket>();
  const silent: NetServer = createNetServer((socket) => void sockets.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    const t0 = Date.now();
    await withEnv({ HF_HUB_DOWNLOAD_TIMEOUT: '0.5' }, () =>
      assert.rejects(
        resolveModel(ID, { endpoint: silentUrl, cacheDir }),
        isHub('hub_timeout', new RegExp(`^${silentUrl}/org/m/resolve/main/config\\.json: no answer from the server within 0\\.5 s \\(HF_HUB_DOWNLOAD_TIMEOUT\\)`)),
      ),
    );
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 450 && elapsed < 3000, `${elapsed} ms`);
    // The option says the same.
    const t1 = Date.now();
    await assert.rejects(resolveModel(ID, { endpoint: silentUrl, cacheDir: await tempDir('hub-hard-cache'), downloadTimeout: 0.3 }), isHub('hub_timeout', /within 0\.3 s/));
    assert.ok(Date.now() - t1 < 3000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }

  const stalling = await startServer({
    'config.json': (_req, res) => {
      res.writeHead(200, { etag: `"${gitSha1(CONFIG)}"`, 'content-length': String(CONFIG.length) });
      res.write(CONFIG.subarray(0, 10));
    },
  });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    const t0 = Date.now();
    await withEnv({ HF_HUB_DOWNLOAD_TIMEOUT: '0.5' }, () =>
      assert.rejects(
        resolveModel(ID, { endpoint: stalling.url, cacheDir }),
        isHub(
          'hub_timeout',
          /config\.json: the download stalled: no data for 0\.5 s after 10 bytes \(HF_HUB_DOWNLOAD_TIMEOUT\); 10 bytes are kept in .*config\.json\.incomplete, run again to resume/,
        ),
      ),
    );
    assert.ok(Date.now() - t0 < 3000, `${Date.now() - t0} ms`);
    assert.equal((await stat(join(snapshotDir(ID, { cacheDir }), 'config.json.incomplete'))).size, 10);
  } finally {
    await stalling.close();
  }
});

test('HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT and the downloadTimeout option must be positive numbers', async () => {
  const cacheDir = await tempDir('hub-hard-cache');
  for (const value of ['abc', '0', '-1', 'Infinity', '10s', ' ']) {
    for (const variable of ['HF_HUB_DOWNLOAD_TIMEOUT', 'HF_HUB_ETAG_TIMEOUT']) {
      await withEnv({ [variable]: value }, () =>
        assert.rejects(resolveModel(ID, { endpoint: 'http://127.0.0.1:1', cacheDir }), (e: unknown) => {
          assert.ok(e instanceof HubError && e.code === 'invalid_option' && e.field === variable, String(e));
          assert.ok(e.message.startsWith(`${variable} is ${JSON.stringify(value)}; it must be a positive number of seconds (default 10`), e.message);
          return true;
        }),
      );
    }
  }
  for (const downloadTimeout of [0, -2, Number.NaN]) {
    await assert.rejects(
      resolveModel(ID, { endpoint: 'http://127.0.0.1:1', cacheDir, downloadTimeout }),
      (e: unknown) => e instanceof HubError && e.field === 'downloadTimeout' && /^the downloadTimeout option is/.test(e.message),
    );
  }
  // A valid value is used (the connection is refused at once, which is not a timeout).
  await withEnv({ HF_HUB_DOWNLOAD_TIMEOUT: '2.5' }, () => assert.rejects(resolveModel(ID, { endpoint: 'http://127.0.0.1:1', cacheDir }), isHub('hub_error', /request failed/)));
});

test('an endless body is cut at the size the Hub gave, at a safetensors header, or at the cap of config files, and deleted', async () => {
  const weights = safetensors(32);
  // An endless chunked body: 64 KiB chunks as fast as the client takes them.
  let sent = 0;
  const endless =
    (prefix: Buffer = Buffer.alloc(0)): Route =>
    (_req, res) => {
      res.writeHead(200, { etag: '"opaque"' });
      let first = true;
      const pump = () => {
        while (!res.destroyed) {
          const chunk = first ? Buffer.concat([prefix, Buffer.alloc(65536 - prefix.length, 32)]) : Buffer.alloc(65536, 32);
          first = false;
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => res.destroy());
      pump();
    };
  const cases: Array<{ name: string; routes: Record<string, Route>; re: RegExp; code: string; max: number }> = [
    {
      name: 'weights with X-Linked-Size',
      routes: { 'config.json': regular(CONFIG), 'model.safetensors': lfs('w', { etag: '"opaque"', size: 1000 }), '/blobs/w': endless() },
      re: /the server sent more than the 1000 bytes of model\.safetensors \(X-Linked-Size\); the download was stopped and the partial file deleted/,
      code: 'too_large',
      max: 1000,
    },
    {
      name: 'weights without a size: the safetensors header bounds them',
      routes: { 'config.json': regular(CONFIG), 'model.safetensors': endless(weights) },
      re: new RegExp(`the server sent more than the ${weights.length} bytes of model\\.safetensors \\(its safetensors header\\)`),
      code: 'too_large',
      max: weights.length,
    },
    {
      name: 'weights without a size that are not safetensors',
      routes: { 'config.json': regular(CONFIG), 'model.safetensors': endless(Buffer.from('<html>not found</html>')) },
      re: /model\.safetensors is not a safetensors file \(its header claims \d+ bytes, more than the format's limit/,
      code: 'invalid_checkpoint',
      max: 0,
    },
    {
      name: 'config.json without a size',
      routes: { 'config.json': endless() },
      re: /the server sent more than the 67108864 bytes of config\.json \(the 64 MiB limit of config and tokenizer files\)/,
      code: 'too_large',
      max: 64 * 1024 * 1024,
    },
  ];
  for (const c of cases) {
    const hub = await startServer(c.routes);
    try {
      const cacheDir = await tempDir('hub-hard-cache');
      sent = 0;
      await assert.rejects(resolveModel(ID, { endpoint: hub.url, cacheDir }), (e: unknown) => {
        isHub(c.code, c.re)(e);
        assert.match((e as Error).message, clearHint(cacheDir), c.name);
        return true;
      });
      const snap = snapshotDir(ID, { cacheDir });
      const left = (existsSync(snap) ? await readdir(snap) : []).filter((f) => f.includes('incomplete'));
      assert.deepEqual(left, [], `${c.name}: the partial file is deleted`);
      assert.ok(sent < c.max + 8 * 1024 * 1024, `${c.name}: the server got to send ${sent} bytes`);
    } finally {
      await hub.close();
    }
  }
});

test('a config file the Hub says is larger than config files may be is refused before it is downloaded', async () => {
  const hub = await startServer({
    'config.json': (_req, res) => {
      res.writeHead(200, { etag: `"${gitSha1(CONFIG)}"`, 'content-length': String(100 * 1024 * 1024) });
      res.write(CONFIG);
    },
  });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    await assert.rejects(
      resolveModel(ID, { endpoint: hub.url, cacheDir }),
      isHub(
        'too_large',
        /config\.json: the Hub gives config\.json a size of 100 MiB \(Content-Length\), more than the 64 MiB a config or tokenizer file may be; nothing was downloaded/,
      ),
    );
    await assertNotCached(cacheDir, 'config.json.incomplete');
  } finally {
    await hub.close();
  }
});

test('a Hub size larger than the free space is refused before anything is written', async () => {
  const hub = await startServer({
    'config.json': regular(CONFIG),
    'model.safetensors': lfs('w', { etag: `"${'a'.repeat(64)}"`, size: 2 ** 52 }),
    '/blobs/w': (_req, res) => res.writeHead(200, { 'content-length': String(2 ** 52) }).end(),
  });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    await assert.rejects(resolveModel(ID, { endpoint: hub.url, cacheDir }), (e: unknown) => {
      isHub('file_system', /model\.safetensors: cannot write \d+ TiB \(.* free\)/)(e);
      assert.match((e as Error).message, /no space left on the device; .*\(ENOSPC\)\. tuna's download cache is .* \(cacheDir option\); .*pass another cacheDir/);
      return true;
    });
  } finally {
    await hub.close();
  }
});

test('an invalid HF_ENDPOINT is named with its value', async () => {
  const cacheDir = await tempDir('hub-hard-cache');
  for (const [value, why] of [
    ['not a url', /not a valid URL/],
    ['huggingface.co', /not a valid URL/],
    ['ftp://example.org', /a ftp URL, not http or https/],
    ['https://example.org/?mirror=1', /a URL with a query or fragment/],
  ] as const) {
    await withEnv({ HF_ENDPOINT: value }, () =>
      assert.rejects(resolveModel(ID, { cacheDir }), (e: unknown) => {
        assert.ok(e instanceof HubError && e.code === 'invalid_option' && e.field === 'HF_ENDPOINT', String(e));
        assert.ok(e.message.startsWith(`HF_ENDPOINT is ${JSON.stringify(value)}: `), e.message);
        assert.match(e.message, why);
        assert.match(e.message, /set it to the Hub's address, e\.g\. https:\/\/huggingface\.co/);
        return true;
      }),
    );
  }
  await assert.rejects(
    resolveModel(ID, { cacheDir, endpoint: 'http//x' }),
    (e: unknown) => e instanceof HubError && e.field === 'endpoint' && /^the endpoint option is "http\/\/x"/.test(e.message),
  );
});

test('a cache that cannot be written gives a file-system error naming the path, the cache and how to move it', async () => {
  const hub = await startServer({ 'config.json': regular(CONFIG), 'model.safetensors': regular(safetensors(8)) });
  try {
    // A cache whose parent is a regular file (ENOTDIR), set through TUNA_CACHE.
    const root = await tempDir('hub-hard-fs');
    await writeFile(join(root, 'file'), 'x');
    const cacheDir = join(root, 'file', 'cache');
    await withEnv({ TUNA_CACHE: cacheDir }, () =>
      assert.rejects(resolveModel(ID, { endpoint: hub.url }), (e: unknown) => {
        assert.ok(e instanceof HubError && e.code === 'file_system', String(e));
        assert.match(e.message, /^\S+models--org--m\/snapshots\/main: cannot create the directory: a part of the path is a file, not a directory; check the path \(ENOTDIR\)\./);
        assert.ok(
          e.message.includes(`tuna's download cache is ${cacheDir} (TUNA_CACHE); make it writable and give it space, or set TUNA_CACHE (or HF_HOME) to another directory`),
          e.message,
        );
        return true;
      }),
    );
    // A read-only cache directory. Permissions do not stop root: there the manifest's directory is
    // a file, so the downloaded snapshot cannot be recorded.
    const ro = await tempDir('hub-hard-ro');
    if (process.getuid?.() !== 0) {
      await chmod(ro, 0o500);
      try {
        await assert.rejects(
          resolveModel(ID, { endpoint: hub.url, cacheDir: ro }),
          isHub('file_system', /cannot create the directory: permission denied; .*\(EACCES\)\. tuna's download cache is .*\(cacheDir option\); .*pass another cacheDir/),
        );
      } finally {
        await chmod(ro, 0o700);
      }
    } else {
      await mkdir(join(ro, 'models--org--m'), { recursive: true });
      await writeFile(join(ro, 'models--org--m', 'manifests'), 'x');
      await assert.rejects(
        resolveModel(ID, { endpoint: hub.url, cacheDir: ro }),
        isHub(
          'file_system',
          /models--org--m\/manifests: cannot create the directory: already exists; remove it or choose another path \(EEXIST\)\. tuna's download cache is .*\(cacheDir option\); .*pass another cacheDir/,
        ),
      );
    }
  } finally {
    await hub.close();
  }
});

test('a cached file damaged after its download is reported with the directory to delete, and deleting it heals the cache', async () => {
  const weights = safetensors(64);
  const hub = await startServer({ 'config.json': regular(CONFIG), 'model.safetensors': regular(weights, `"${sha256(weights)}"`) });
  try {
    const cacheDir = await tempDir('hub-hard-cache');
    const dir = await resolveModel(ID, { endpoint: hub.url, cacheDir });
    await writeFile(join(dir, 'model.safetensors'), weights.subarray(0, 100));
    for (const offline of [false, true]) {
      await assert.rejects(resolveModel(ID, { endpoint: hub.url, cacheDir, offline }), (e: unknown) => {
        isHub('invalid_checkpoint', /model\.safetensors: is 100 bytes in the cache, but was \d+ when it was downloaded and verified; the cache entry is damaged/)(e);
        assert.match((e as Error).message, clearHint(cacheDir));
        return true;
      });
    }
    await rm(dir, { recursive: true });
    assert.equal(await resolveModel(ID, { endpoint: hub.url, cacheDir }), dir);
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), weights);
  } finally {
    await hub.close();
  }
});
