// `tuna serve` as a process: it starts, serves, and on SIGTERM answers every request it has
// accepted before exiting 0; bad flags and model directories stop it with a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_EN, get, metricValue, post, waitFor } from './helpers/serve.js';

const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));

/** Starts `tuna serve` and resolves once it listens, with its address and the stderr so far. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; base: string; stderr: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve({ child, base: m[1]!, stderr: () => stderr, exit });
    });
    exit.then((code) => reject(new Error(`tuna serve exited with ${code} before listening: ${stderr}`)));
  });
}

test('SIGTERM under load: every accepted request gets a 200, then the process exits 0', async () => {
  const s = await serve(['--model', `en=${BUNDLED_EN}`, '--port', '0', '--max-batch-size', '8', '--max-wait-ms', '2000', '--threads', '1', '--api-key', 'k']);
  const auth = { authorization: 'Bearer k' };
  try {
    assert.match(s.stderr(), /en: embed, fill-mask \(BertForMaskedLM, max length 128\)/);
    const texts = Array.from({ length: 40 }, (_, i) => `request ${i} of the shutdown test [MASK]`);
    const pending = texts.map((t, i) => post(s.base, i % 2 ? '/v1/embed' : '/v1/fill-mask', { inputs: t }, auth));
    // Wait until the server has received all 40: 32 run in batches of 8, the rest wait for company.
    await waitFor(
      'every request to be received',
      async () => {
        const m = (await get(s.base, '/metrics', auth)).body as string;
        return metricValue(m, 'tuna_http_requests_in_flight') + metricValue(m, 'tuna_http_requests_total', { method: 'POST' }) === 40;
      },
      20000,
    );
    s.child.kill('SIGTERM');
    const answers = await Promise.all(pending);
    answers.forEach((a, i) => {
      assert.equal(a.status, 200, `request ${i}: ${JSON.stringify(a.body)}`);
      assert.equal(a.body.length, i % 2 ? 256 : 5);
    });
    assert.equal(await s.exit, 0);
    assert.match(s.stderr(), /SIGTERM: finishing the requests received/);
    assert.match(s.stderr(), /stopped/);
    await assert.rejects(fetch(`${s.base}/healthz`));
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('TUNA_API_KEY sets the key; SIGINT stops an idle server with exit code 0', async () => {
  const s = await serve(['--model', BUNDLED_EN, '--port', '0', '--threads', '1'], { TUNA_API_KEY: 'from-env' });
  try {
    assert.match(s.stderr(), /API key required/);
    assert.equal((await post(s.base, '/v1/embed', { inputs: 'a' })).status, 401);
    const ok = await post(s.base, '/v1/embed', { inputs: 'a', model: 'tuna-small-en' }, { authorization: 'Bearer from-env' });
    assert.equal(ok.status, 200);
    s.child.kill('SIGINT');
    assert.equal(await s.exit, 0);
  } finally {
    s.child.kill('SIGKILL');
  }
});

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
  });
}

test('bad flags and model directories stop tuna serve with a message and exit code 1', async () => {
  const cases: [string[], RegExp][] = [
    [['serve'], /give at least one --model DIR/],
    [['serve', '--model', '/nonexistent/model'], /\/nonexistent\/model/],
    [['serve', '--model', BUNDLED_EN, '--port', 'http'], /--port must be an integer/],
    [['serve', '--model', BUNDLED_EN, '--max-batch-size', '0'], /--max-batch-size must be an integer >= 1/],
    [['serve', '--model', `a=${BUNDLED_EN}`, '--model', `a=${BUNDLED_EN}`], /two models are named "a"/],
  ];
  await Promise.all(
    cases.map(async ([args, message]) => {
      const r = await run(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^tuna: /);
    }),
  );
});

test('an unusable model directory is named once in the message', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-serve-nomodel-'));
  try {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertForMaskedLM'] }));
    for (const missing of ['/nonexistent/model', dir]) {
      const r = await run(['serve', '--model', missing, '--port', '0']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.equal(r.stderr.split(missing).length - 1, 1, `${missing} once in: ${r.stderr}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
