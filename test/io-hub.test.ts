import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TunaError, isTunaError } from '../src/errors.js';
import { pipeline } from '../src/pipelines/index.js';
import { readCheckpoint, writeCheckpoint } from '../src/io/checkpoint.js';
import { type DownloadProgress, HubError, hubCacheSnapshot, resolveModel, snapshotDir } from '../src/io/hub.js';
import type { NamedTensor } from '../src/io/safetensors.js';

// Every temporary directory of this file, removed when it ends.
const temps: string[] = [];
const tmp = async (prefix: string) => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

// The default Hugging Face hub cache is an empty directory here, so a real ~/.cache/huggingface
// never leaks into these tests; the tests that read a hub cache pass their own.
const emptyHubCache = mkdtempSync(join(tmpdir(), 'tuna-hf-empty-'));
temps.push(emptyHubCache);
process.env.HF_HUB_CACHE = emptyHubCache;

/** How long a server that cuts a connection waits after its last write, so the client has read what was sent. */
const CUT_DELAY_MS = 250;

type Files = Record<string, Buffer>;

interface Logged {
  readonly server: 'hub' | 'cdn';
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  readonly ifRange?: string;
  readonly auth?: string;
}

interface HubBehaviour {
  /** Files served with altered bytes (their ETag still that of the true file). */
  corrupt?: Set<string>;
  /** Files whose next download is cut off after this many bytes (the connection is dropped). */
  cut?: Map<string, number>;
  /** Repository ids answered with 403 GatedRepo. */
  gated?: Set<string>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/**
 * A loopback model hub: `/{id}/resolve/{revision}/{file}`. Safetensors files behave like LFS files
 * (302 to a CDN on another origin, ETag/X-Linked-Etag = sha256); others are served directly with
 * the git blob sha1 as ETag. Unknown repositories get 401 RepoNotFound, missing files 404.
 */
async function startHub(repos: Record<string, Record<string, Files>>, behaviour: HubBehaviour = {}) {
  const log: Logged[] = [];
  const blobs = new Map<string, { name: string; body: Buffer }>();
  const listen = async (server: Server) => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const record = (server: 'hub' | 'cdn', req: IncomingMessage) =>
    log.push({
      server,
      method: req.method!,
      path: decodeURIComponent(req.url!),
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      auth: req.headers.authorization,
    });

  const send = (req: IncomingMessage, res: ServerResponse, name: string, body: Buffer, headers: Record<string, string>) => {
    const payload = behaviour.corrupt?.has(name) ? Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([body[body.length - 1]! ^ 0xff])]) : body;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    if (from > payload.length) {
      res.writeHead(416, { 'content-range': `bytes */${payload.length}` }).end();
      return;
    }
    const part = payload.subarray(from);
    const status = m ? 206 : 200;
    const h: Record<string, string> = { ...headers, 'content-length': String(part.length), 'accept-ranges': 'bytes' };
    if (m) h['content-range'] = `bytes ${from}-${payload.length - 1}/${payload.length}`;
    res.writeHead(status, h);
    if (req.method === 'HEAD') return void res.end();
    const cut = behaviour.cut?.get(name);
    if (cut !== undefined) {
      behaviour.cut!.delete(name);
      res.write(part.subarray(0, cut), () => setTimeout(() => res.destroy(), CUT_DELAY_MS));
      return;
    }
    res.end(part);
  };

  const cdn = createServer((req, res) => {
    record('cdn', req);
    const blob = blobs.get(req.url!.replace(/^\/blobs\//, '').split('?')[0]!);
    if (!blob) return void res.writeHead(404).end();
    send(req, res, blob.name, blob.body, { etag: `"cdn-${sha256(blob.body).slice(0, 32)}"` });
  });
  const cdnUrl = await listen(cdn);

  const hub = createServer((req, res) => {
    record('hub', req);
    const m = /^\/(.+?)\/resolve\/([^/]+)\/([^?]+)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    const [, id, rev, file] = m.map((s) => decodeURIComponent(s)) as [string, string, string, string];
    if (behaviour.gated?.has(id)) return void res.writeHead(403, { 'x-error-code': 'GatedRepo' }).end('gated');
    const repo = repos[id];
    if (!repo) return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end('Repository not found');
    const files = repo[rev];
    if (!files) return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
    const body = files[file];
    if (!body) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
    const commit = sha256(Buffer.from(`${id}@${rev}`)).slice(0, 40);
    if (file.endsWith('.safetensors') || file.endsWith('.bin')) {
      const sha = sha256(body);
      blobs.set(sha, { name: file, body });
      res.writeHead(302, {
        location: `${cdnUrl}/blobs/${sha}?signature=x`,
        'x-linked-etag': `"${sha}"`,
        etag: `"${sha}"`,
        'x-linked-size': String(body.length),
        'x-repo-commit': commit,
      });
      return void res.end();
    }
    send(req, res, file, body, { etag: `"${gitSha1(body)}"`, 'x-repo-commit': commit });
  });
  const endpoint = await listen(hub);
  return {
    endpoint,
    log,
    count: () => log.length,
    close: async () => {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

/** A small checkpoint directory's files: weights (~96 KB), config, vocab, tokenizer config. */
async function checkpointFiles(opts: { shards?: boolean } = {}): Promise<Files> {
  const dir = await tmp('tuna-hub-src-');
  const tensors = new Map<string, NamedTensor>();
  for (let i = 0; i < 3; i++) tensors.set(`bert.encoder.layer.${i}.weight`, { shape: [64, 128], data: new Float32Array(64 * 128).map((_, j) => Math.sin(i * 1000 + j)) });
  await writeCheckpoint(dir, {
    config: { model_type: 'bert', architectures: ['BertModel'], hidden_size: 128 },
    tensors,
    extraFiles: { 'vocab.txt': '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n', 'tokenizer_config.json': '{"do_lower_case": true}\n' },
    maxShardBytes: opts.shards ? 40_000 : undefined,
  });
  const files: Files = {};
  for (const f of await readdir(dir)) files[f] = await readFile(join(dir, f));
  return files;
}

/** Runs `fn` with some environment variables set, restoring them afterwards. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<unknown>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const cache = () => tmp('tuna-hub-cache-');

/** The files of a committed checkpoint (tools/make-bert-fixtures.py). */
async function fixtureFiles(name: string): Promise<Files> {
  const dir = fileURLToPath(new URL(`./fixtures/bert/${name}/`, import.meta.url));
  const files: Files = {};
  for (const f of await readdir(dir)) if (f === 'config.json' || f === 'model.safetensors') files[f] = await readFile(join(dir, f));
  return files;
}

/**
 * Writes a repository into a Hugging Face hub cache exactly as huggingface_hub lays it out:
 * `models--owner--name/blobs/{etag}` (sha256 for LFS files such as safetensors, the git blob sha1
 * for others), `snapshots/{commit}/{file}` as relative symlinks into blobs/, and
 * `refs/{revision}` files holding the commit hash (no newline).
 */
async function hubCacheRepo(root: string, id: string, commit: string, files: Files, refs: readonly string[] = ['main']) {
  const repo = join(root, `models--${id.replace('/', '--')}`);
  const snapshot = join(repo, 'snapshots', commit);
  await mkdir(join(repo, 'blobs'), { recursive: true });
  for (const [name, body] of Object.entries(files)) {
    const blob = name.endsWith('.safetensors') ? sha256(body) : gitSha1(body);
    await writeFile(join(repo, 'blobs', blob), body);
    const link = join(snapshot, name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(...Array<string>(name.split('/').length + 1).fill('..'), 'blobs', blob), link);
  }
  for (const ref of refs) {
    await mkdir(dirname(join(repo, 'refs', ref)), { recursive: true });
    await writeFile(join(repo, 'refs', ref), commit);
  }
  return { repo, snapshot };
}

const commitOf = (s: string) => createHash('sha1').update(s).digest('hex');

test('downloads config, weights (via a CDN redirect) and tokenizer files, then uses the cache with no requests', async () => {
  const files = await checkpointFiles();
  const hub = await startHub({ 'org/tiny': { main: files } });
  const cacheDir = await cache();
  try {
    const progress: DownloadProgress[] = [];
    const dir = await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir, token: 'hf_secret', onProgress: (p) => progress.push(p) });
    assert.equal(dir, join(cacheDir, 'models--org--tiny', 'snapshots', 'main'));
    assert.equal(dir, snapshotDir('org/tiny', { cacheDir }));
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    for (const f of await readdir(dir)) assert.deepEqual(await readFile(join(dir, f)), files[f], f);
    assert.ok(
      hub.log.some((r) => r.server === 'cdn' && r.path.startsWith('/blobs/')),
      'the weights came from the CDN',
    );
    assert.ok(
      hub.log.filter((r) => r.server === 'hub').every((r) => r.auth === 'Bearer hf_secret'),
      'the token goes to the hub',
    );
    assert.ok(
      hub.log.filter((r) => r.server === 'cdn').every((r) => r.auth === undefined),
      'and never to another origin',
    );
    assert.deepEqual(
      hub.log.filter((r) => r.server === 'hub').map((r) => r.path.replace('/org/tiny/resolve/main/', '')),
      ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'modules.json'],
    );
    assert.equal(progress.at(-1)?.file, 'tokenizer_config.json');
    assert.ok(progress.some((p) => p.file === 'model.safetensors' && p.received === files['model.safetensors']!.length && p.total === p.received));
    const ckpt = await readCheckpoint(dir);
    assert.equal(ckpt.tensors.size, 3);

    const before = hub.count();
    assert.equal(await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir }), dir);
    assert.equal(await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir, offline: true }), dir);
    await withEnv({ HF_HUB_OFFLINE: '1', TUNA_CACHE: cacheDir, HF_ENDPOINT: hub.endpoint }, async () => assert.equal(await resolveModel('org/tiny'), dir));
    assert.equal(hub.count(), before, 'no request once cached');
  } finally {
    await hub.close();
  }
});

test('offline mode without a cached copy fails clearly and sends nothing', async () => {
  const hub = await startHub({ 'org/tiny': { main: await checkpointFiles() } });
  try {
    const cacheDir = await cache();
    for (const opts of [{ offline: true }, {}]) {
      await withEnv({ TUNA_OFFLINE: '1' }, () =>
        assert.rejects(
          resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir, ...opts }),
          (e: unknown) => e instanceof HubError && /org\/tiny: not in the cache \(.*models--org--tiny.*\) at revision main and offline mode is on/.test(e.message),
        ),
      );
    }
    assert.equal(hub.count(), 0);
  } finally {
    await hub.close();
  }
});

test('a sharded repository: the index and every shard are fetched', async () => {
  const files = await checkpointFiles({ shards: true });
  assert.ok(files['model.safetensors.index.json'] && !files['model.safetensors']);
  const hub = await startHub({ sharded: { main: files } });
  try {
    const dir = await resolveModel('sharded', { endpoint: hub.endpoint, cacheDir: await cache() });
    const shards = Object.keys(files).filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f));
    assert.equal(shards.length, 3);
    for (const f of shards) assert.deepEqual(await readFile(join(dir, f)), files[f]);
    const ckpt = await readCheckpoint(dir);
    assert.equal(ckpt.tensors.size, 3);
    assert.ok(
      hub.log.some((r) => r.path.endsWith('/model.safetensors') && r.server === 'hub'),
      'tried the single file first',
    );
  } finally {
    await hub.close();
  }
});

test('a truncated partial download resumes with a Range request', async () => {
  const files = await checkpointFiles();
  const weights = files['model.safetensors']!;
  const hub = await startHub({ 'org/tiny': { main: files } });
  try {
    // A partial file left by an earlier run.
    const cacheDir = await cache();
    const snap = snapshotDir('org/tiny', { cacheDir });
    await mkdir(snap, { recursive: true });
    await writeFile(join(snap, 'model.safetensors.incomplete'), weights.subarray(0, 30_000));
    const dir = await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir });
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), weights);
    const cdn = hub.log.filter((r) => r.server === 'cdn');
    assert.deepEqual(
      cdn.map((r) => r.range),
      ['bytes=30000-'],
    );
    assert.ok(!existsSync(join(dir, 'model.safetensors.incomplete')));
  } finally {
    await hub.close();
  }
});

test('a connection dropped mid-file keeps the partial file, and the next run resumes from it', async () => {
  const files = await checkpointFiles();
  const weights = files['model.safetensors']!;
  const hub = await startHub({ 'org/tiny': { main: files } }, { cut: new Map([['model.safetensors', 50_000]]) });
  try {
    const cacheDir = await cache();
    await assert.rejects(
      resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir }),
      (e: unknown) => e instanceof HubError && /download interrupted .* run again to resume/.test(e.message),
    );
    const partial = join(snapshotDir('org/tiny', { cacheDir }), 'model.safetensors.incomplete');
    const kept = (await stat(partial)).size;
    assert.ok(kept > 0 && kept <= 50_000, `kept ${kept} bytes`);
    const dir = await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir });
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), weights);
    const resumed = hub.log.filter((r) => r.server === 'cdn').at(-1)!;
    assert.equal(resumed.range, `bytes=${kept}-`);
    assert.equal(resumed.ifRange, `"cdn-${sha256(weights).slice(0, 32)}"`, 'the resumed request is conditional on the version the partial file came from');
    assert.ok(!existsSync(`${partial}.json`), 'the partial file record is removed with it');
  } finally {
    await hub.close();
  }
});

test('a partial file that is not a prefix of the real one is discarded and fetched whole', async () => {
  const files = await checkpointFiles();
  const hub = await startHub({ 'org/tiny': { main: files } });
  try {
    const cacheDir = await cache();
    const snap = snapshotDir('org/tiny', { cacheDir });
    await mkdir(snap, { recursive: true });
    await writeFile(join(snap, 'model.safetensors.incomplete'), Buffer.alloc(1000, 7));
    const dir = await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir });
    assert.deepEqual(await readFile(join(dir, 'model.safetensors')), files['model.safetensors']);
    assert.deepEqual(
      hub.log.filter((r) => r.server === 'cdn').map((r) => r.range),
      ['bytes=1000-', undefined],
    );
  } finally {
    await hub.close();
  }
});

test('a response that does not match its ETag is rejected and nothing is kept in the snapshot', async () => {
  const files = await checkpointFiles();
  for (const bad of ['config.json', 'model.safetensors', 'vocab.txt']) {
    const hub = await startHub({ 'org/tiny': { main: files } }, { corrupt: new Set([bad]) });
    try {
      const cacheDir = await cache();
      await assert.rejects(
        resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir }),
        (e: unknown) => e instanceof HubError && e.message.includes(`/org/tiny/resolve/main/${bad}`) && /does not match its ETag [0-9a-f]{40,64} .*it was deleted/.test(e.message),
      );
      const snap = snapshotDir('org/tiny', { cacheDir });
      const left = existsSync(snap) ? await readdir(snap) : [];
      assert.ok(!left.some((f) => f.startsWith(bad)), `${bad}: ${left.join(', ')}`);
      assert.ok(!existsSync(join(cacheDir, 'models--org--tiny', 'manifests', 'main.json')), 'the snapshot is not marked complete');
    } finally {
      await hub.close();
    }
  }
});

test('unknown models, missing config.json and gated models give clear errors', async () => {
  const files = await checkpointFiles();
  const { 'config.json': _config, ...noConfig } = files;
  const hub = await startHub({ 'org/tiny': { main: files }, 'org/noconfig': { main: noConfig } }, { gated: new Set(['org/gated']) });
  try {
    const cacheDir = await cache();
    for (const id of ['org/noconfig', 'org/unknown']) {
      await assert.rejects(
        resolveModel(id, { endpoint: hub.endpoint, cacheDir }),
        (e: unknown) => e instanceof HubError && e.message.startsWith(`${id}: model not found at ${hub.endpoint}`),
      );
      assert.ok(!existsSync(snapshotDir(id, { cacheDir })), 'no empty snapshot left behind');
    }
    await assert.rejects(resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir, revision: 'v9' }), /org\/tiny: model not found .* at revision v9/);
    await assert.rejects(resolveModel('org/gated', { endpoint: hub.endpoint, cacheDir }), /gated model is restricted \(HTTP 403\); accept its terms on the Hub, then set HF_TOKEN/);
    await assert.rejects(resolveModel('org/tiny', { endpoint: 'http://127.0.0.1:1', cacheDir }), /request failed .* set HF_HUB_OFFLINE=1 to use the cache only/);
  } finally {
    await hub.close();
  }
});

test('a repository with only pickled weights is refused without downloading them', async () => {
  const files = await checkpointFiles();
  const pickled: Files = { 'config.json': files['config.json']!, 'vocab.txt': files['vocab.txt']!, 'pytorch_model.bin': Buffer.from('\x80\x02c__builtin__\neval\n') };
  const hub = await startHub({ 'old/bert': { main: pickled, v2: pickled } });
  try {
    const cacheDir = await cache();
    await assert.rejects(resolveModel('old/bert', { endpoint: hub.endpoint, cacheDir }), (e: unknown) => {
      assert.ok(e instanceof HubError && e instanceof TunaError);
      assert.equal(e.code, 'invalid_checkpoint');
      // The model id and the revision apart, so the id in the message can be copied as it is.
      assert.match(e.message, /^old\/bert: only pickled weights \(pytorch_model\.bin\) at revision main; tuna never executes pickle files/);
      assert.match(e.message, /from_pretrained\('old\/bert'\)\.save_pretrained\('DIR', safe_serialization=True\)/);
      // The remedy in library terms, never a command-line flag.
      assert.match(e.message, /ask for a safetensors revision/i);
      assert.match(e.message, /pass revision: 'refs\/pr\/N'/);
      assert.doesNotMatch(e.message, /--\w/);
      return true;
    });
    await assert.rejects(resolveModel('old/bert', { endpoint: hub.endpoint, cacheDir, revision: 'v2' }), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.match(e.message, /^old\/bert: only pickled weights \(pytorch_model\.bin\) at revision v2;/);
      assert.match(e.message, /from_pretrained\('old\/bert', revision='v2'\)/);
      assert.doesNotMatch(e.message, /--\w/);
      return true;
    });
    assert.ok(!hub.log.some((r) => r.path.endsWith('.bin') && r.method === 'GET'), 'the pickle is never fetched');
    assert.equal(hub.log.filter((r) => r.server === 'cdn').length, 0);
    await assert.rejects(resolveModel('old/bert', { endpoint: hub.endpoint, cacheDir, extraFiles: ['pytorch_model.bin'] }), /refusing to download pytorch_model\.bin/);
    const snap = snapshotDir('old/bert', { cacheDir });
    assert.ok(!existsSync(join(snap, 'pytorch_model.bin')));
  } finally {
    await hub.close();
  }
});

test('revisions, local directories, bad ids, and concurrent calls', async () => {
  const files = await checkpointFiles();
  const hub = await startHub({ 'org/tiny': { main: files, 'v1.0': files } });
  try {
    const cacheDir = await cache();
    const dir = await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir, revision: 'v1.0' });
    assert.equal(dir, join(cacheDir, 'models--org--tiny', 'snapshots', 'v1.0'));
    assert.ok(hub.log.every((r) => r.server === 'cdn' || r.path.includes('/resolve/v1.0/')));
    // Two calls at once: each file is fetched once.
    const n = hub.count();
    const [a, b] = await Promise.all([resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir }), resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir })]);
    assert.equal(a, b);
    const gets = hub.log
      .slice(n)
      .filter((r) => r.server === 'hub')
      .map((r) => r.path);
    assert.equal(new Set(gets).size, gets.length, gets.join('\n'));
    // Local paths are used as they are; paths that do not exist are not taken for Hub ids.
    assert.equal(await resolveModel(dir, { endpoint: 'http://127.0.0.1:1', cacheDir }), dir);
    const local = join(await tmp('tuna-local-'), 'm');
    await mkdir(local);
    await writeFile(join(local, 'config.json'), '{}');
    assert.equal(await resolveModel(local), local);
    await assert.rejects(resolveModel('./no/such/dir', { cacheDir }), /\.\/no\/such\/dir: no such directory, and not a Hub model id/);
    await assert.rejects(resolveModel(join(dir, 'config.json'), { cacheDir }), /config\.json: is a file; pass a checkpoint directory/);
    await assert.rejects(resolveModel('org/tiny', { cacheDir, revision: '../x' }), /invalid revision/);
  } finally {
    await hub.close();
  }
});

test('a model fetched by id loads as a model from the cache, offline', async () => {
  const files = await fixtureFiles('BertForSequenceClassification');
  const hub = await startHub({ 'org/tiny': { main: files } });
  try {
    const cacheDir = await cache();
    await resolveModel('org/tiny', { endpoint: hub.endpoint, cacheDir });
    const before = hub.count();
    // Imported here so the Hub client's tests do not depend on the model code loading.
    const { AutoModelForSequenceClassification } = await import('../src/models/auto.js');
    const model = await AutoModelForSequenceClassification.fromPretrained('org/tiny', { hub: { cacheDir, offline: true }, initMissingWeights: false });
    const { missing, unexpected, mismatched } = model.loadReport;
    assert.deepEqual({ missing, unexpected, mismatched }, { missing: [], unexpected: [], mismatched: [] });
    await model.dispose();
    assert.equal(hub.count(), before);
  } finally {
    await hub.close();
  }
});

test('HubError is a TunaError whose code says what went wrong', async () => {
  const plain = new HubError('org/x: something');
  assert.ok(plain instanceof Error && plain instanceof TunaError && isTunaError(plain));
  assert.equal(plain.name, 'HubError');
  assert.equal(plain.code, 'hub_error');
  assert.equal(plain.message, 'org/x: something');
  assert.equal(plain.httpStatus, 502);
  const files = await checkpointFiles();
  const hub = await startHub({ 'org/tiny': { main: files } });
  try {
    const cacheDir = await cache();
    const code = (p: Promise<unknown>, expected: string, field?: string) => assert.rejects(p, (e: unknown) => e instanceof HubError && e.code === expected && e.field === field);
    await code(resolveModel('org/unknown', { endpoint: hub.endpoint, cacheDir }), 'file_not_found');
    await code(resolveModel('./no/such/dir', { cacheDir }), 'file_not_found');
    await code(resolveModel('org/tiny', { endpoint: 'http://127.0.0.1:1', cacheDir }), 'hub_error');
    await code(resolveModel('org/tiny', { cacheDir, offline: true }), 'hub_error');
    for (const revision of ['../x', 'a//b', './main', 'v1 beta']) await code(resolveModel('org/tiny', { cacheDir, revision }), 'invalid_option', 'revision');
    await code(resolveModel('org/tiny', { cacheDir, extraFiles: ['a/b.txt'] }), 'invalid_option', 'extraFiles');
  } finally {
    await hub.close();
  }
});

test('a model in the Hugging Face hub cache is used from there, with no network', async () => {
  const files = await fixtureFiles('BertForSequenceClassification');
  const hfCache = await tmp('tuna-hf-cache-');
  const main = commitOf('main');
  const tagged = commitOf('v1.0');
  const { snapshot } = await hubCacheRepo(hfCache, 'org/cached', main, { ...files, 'vocab.txt': Buffer.from('[PAD]\n[UNK]\n') });
  const { snapshot: v1 } = await hubCacheRepo(hfCache, 'org/cached', tagged, files, ['v1.0', 'refs/pr/3']);
  // Single-name ids live in models--{name}.
  const { snapshot: bare } = await hubCacheRepo(hfCache, 'bert-tiny', main, files);
  // A server that fails every request: a hit must not send any.
  const hub = await startHub({});
  try {
    const opts = { endpoint: hub.endpoint, cacheDir: await cache(), hubCacheDir: hfCache };
    assert.equal(await resolveModel('org/cached', opts), snapshot);
    assert.equal(await resolveModel('org/cached', { ...opts, revision: 'v1.0' }), v1);
    assert.equal(await resolveModel('org/cached', { ...opts, revision: 'refs/pr/3' }), v1);
    assert.equal(await resolveModel('org/cached', { ...opts, revision: tagged }), v1, 'a commit hash is used directly');
    assert.equal(await resolveModel('bert-tiny', opts), bare);
    assert.equal(await resolveModel('org/cached', { ...opts, offline: true }), snapshot);
    assert.equal(await resolveModel('org/cached', { cacheDir: opts.cacheDir, endpoint: 'http://127.0.0.1:1', hubCacheDir: hfCache }), snapshot);
    // The default location, from the environment as huggingface_hub reads it.
    await withEnv({ HF_HUB_CACHE: hfCache }, async () => assert.equal(await resolveModel('org/cached', { endpoint: hub.endpoint, cacheDir: opts.cacheDir }), snapshot));
    const home = await tmp('tuna-hf-home-');
    await hubCacheRepo(join(home, 'hub'), 'org/cached', main, files);
    await withEnv({ HF_HUB_CACHE: '', HF_HOME: home }, async () =>
      assert.equal(await resolveModel('org/cached', { endpoint: hub.endpoint, cacheDir: opts.cacheDir }), join(home, 'hub', 'models--org--cached', 'snapshots', main)),
    );
    assert.equal(hub.count(), 0, 'nothing was requested');
    assert.equal((await readdir(opts.cacheDir)).length, 0, "tuna's own cache is left alone");
    // The snapshot loads as a checkpoint: its files are symlinks into blobs/.
    const ckpt = await readCheckpoint(snapshot);
    assert.ok(ckpt.tensors.has('classifier.weight'));
    // A revision the cache has no ref for, or a commit it has no snapshot of, is not a hit.
    assert.equal(await hubCacheSnapshot(hfCache, 'org/cached', 'v2.0'), undefined);
    assert.equal(await hubCacheSnapshot(hfCache, 'org/cached', commitOf('other')), undefined);
    await assert.rejects(resolveModel('org/cached', { ...opts, revision: 'v2.0' }), (e: unknown) => e instanceof HubError && /model not found/.test(e.message));
    assert.ok(
      hub.log.some((r) => r.path === '/org/cached/resolve/v2.0/config.json'),
      'fell back to downloading',
    );
    // hubCacheDir: false skips the hub cache.
    await assert.rejects(resolveModel('org/cached', { ...opts, hubCacheDir: false, offline: true }), /not in the cache/);
  } finally {
    await hub.close();
  }
});

test('a sharded model in the Hugging Face hub cache is used only with every shard', async () => {
  const files = await checkpointFiles({ shards: true });
  const shards = Object.keys(files)
    .filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f))
    .sort();
  assert.equal(shards.length, 3);
  const hfCache = await tmp('tuna-hf-cache-');
  const commit = commitOf('sharded');
  const { snapshot } = await hubCacheRepo(hfCache, 'org/sharded', commit, files);
  const { repo: partialRepo, snapshot: partial } = await hubCacheRepo(hfCache, 'org/partial', commit, files);
  const { repo: danglingRepo } = await hubCacheRepo(hfCache, 'org/dangling', commit, files);
  // A shard huggingface_hub never fetched: no snapshot entry (and no blob).
  await unlink(join(partial, shards[1]!));
  await rm(join(partialRepo, 'blobs', sha256(files[shards[1]!]!)));
  // A snapshot entry whose blob is gone (a dangling symlink).
  await rm(join(danglingRepo, 'blobs', sha256(files[shards[2]!]!)));
  const hub = await startHub({ 'org/partial': { main: files } });
  try {
    const cacheDir = await cache();
    const opts = { endpoint: hub.endpoint, cacheDir, hubCacheDir: hfCache };
    const dir = await resolveModel('org/sharded', opts);
    assert.equal(dir, snapshot);
    assert.equal((await readCheckpoint(dir)).tensors.size, 3);
    assert.equal(hub.count(), 0);

    // An incomplete snapshot is not used: the model is downloaded into tuna's cache instead.
    const fetched = await resolveModel('org/partial', opts);
    assert.equal(fetched, snapshotDir('org/partial', { cacheDir }));
    assert.equal((await readCheckpoint(fetched)).tensors.size, 3);
    assert.ok(
      hub.log.some((r) => r.path.endsWith(`/org/partial/resolve/main/${shards[1]}`)),
      'the shards were downloaded',
    );

    // When the download cannot happen either, the error says so clearly.
    await assert.rejects(resolveModel('org/dangling', opts), (e: unknown) => e instanceof HubError && e.message.startsWith(`org/dangling: model not found at ${hub.endpoint}`));
    await assert.rejects(
      resolveModel('org/dangling', { ...opts, endpoint: 'http://127.0.0.1:1' }),
      (e: unknown) => e instanceof HubError && /request failed .*HF_HUB_OFFLINE=1/.test(e.message),
    );
    await assert.rejects(
      resolveModel('org/dangling', { ...opts, offline: true }),
      (e: unknown) => e instanceof HubError && e.message.includes(`nor in the Hugging Face cache ${danglingRepo}`) && /offline mode is on/.test(e.message),
    );
    assert.ok(!existsSync(snapshotDir('org/dangling', { cacheDir })), 'no empty snapshot left behind');
  } finally {
    await hub.close();
  }
});

test('a sentence-transformers repository comes with its module folders: the embeddings equal the local directory', async () => {
  const local = fileURLToPath(new URL('./fixtures/sentence/base/', import.meta.url));
  const files: Files = {};
  const walk = async (dir: string, prefix: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name), `${prefix}${e.name}/`);
      else files[`${prefix}${e.name}`] = await readFile(join(dir, e.name));
    }
  };
  await walk(local, '');
  const hub = await startHub({ 'org/st': { main: files } });
  try {
    const cacheDir = await cache();
    const dir = await resolveModel('org/st', { endpoint: hub.endpoint, cacheDir, hubCacheDir: false });
    for (const f of ['modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', '1_Pooling/config.json', '2_Normalize/config.json']) {
      assert.deepEqual(await readFile(join(dir, f)), files[f], f);
    }
    const requested = hub.log.filter((r) => r.server === 'hub').map((r) => r.path.replace('/org/st/resolve/main/', ''));
    assert.ok(requested.includes('1_Pooling/model.safetensors'), 'a module folder is asked for its weights (a Dense module has them)');
    const before = hub.count();
    assert.equal(await resolveModel('org/st', { endpoint: hub.endpoint, cacheDir, hubCacheDir: false }), dir);
    assert.equal(hub.count(), before, 'the snapshot with its module folders is complete once cached');
    const fromHub = await pipeline('feature-extraction', 'org/st', { threads: 1, hub: { endpoint: hub.endpoint, cacheDir, hubCacheDir: false } });
    const fromDir = await pipeline('feature-extraction', local, { threads: 1 });
    try {
      assert.equal((fromHub as unknown as { isSentenceTransformer: boolean }).isSentenceTransformer, true);
      const a = (await fromHub(['how do i reset my password'], { promptName: 'query' })) as unknown as number[][];
      const b = (await fromDir(['how do i reset my password'], { promptName: 'query' })) as unknown as number[][];
      assert.deepEqual(a, b);
    } finally {
      await fromHub.dispose();
      await fromDir.dispose();
    }
  } finally {
    await hub.close();
  }
});
