// `tuna serve` as a process against hostile clients and bad settings: SIGTERM with a client still
// trickling its body ends at --shutdown-timeout with exit code 0 (and a keep-alive request sent
// during the shutdown is answered); a blank API key, an invalid model name and a port in use stop
// it at start with a message naming them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { type ServeOptions, serveCommand, serveCommandOptions } from '../src/cli/commands/serve.js';
import type { Output } from '../src/cli/output.js';
import { BUNDLED_EN } from './helpers/serve.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const module = (path: string) => new URL(`../src/${path}`, import.meta.url).href;

/**
 * `tuna serve` in a process of its own: the CLI's commands with the serve flags of
 * `serveCommandOptions` (added here when the program does not define them yet), parsed as `tuna`
 * parses them, and errors reported as `tuna` reports them.
 */
const DRIVER = `
const { createProgram } = await import(${JSON.stringify(module('cli/main.ts'))});
const { serveCommandOptions } = await import(${JSON.stringify(module('cli/commands/serve.ts'))});
const { CliError } = await import(${JSON.stringify(module('cli/errors.ts'))});
const { CommanderError } = await import('commander');
const program = createProgram();
const serve = program.commands.find((c) => c.name() === 'serve');
if (!serve.options.some((o) => o.long === '--shutdown-timeout')) serveCommandOptions(serve);
try {
  await program.parseAsync(process.argv.slice(1), { from: 'user' });
} catch (e) {
  if (!(e instanceof CommanderError)) process.stderr.write('tuna: ' + CliError.of(e).message + '\\n');
  process.exitCode = 1;
}
`;

interface Serving {
  readonly child: ChildProcess;
  readonly base: string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

/** Starts `tuna serve ARGS` and resolves once it listens. */
function serve(args: readonly string[]): Promise<Serving> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', DRIVER, 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Runs `tuna ARGS` (bin/tuna.js) to its end. */
function tuna(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (err, _stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

test('SIGTERM with a client still trickling its body: a keep-alive request meanwhile is answered, the trickler gets 503 at --shutdown-timeout, exit code 0', async () => {
  const s = await serve(['--model', `en=${BUNDLED_EN}`, '--port', '0', '--threads', '1', '--shutdown-timeout', '0.8', '--body-timeout', '30', '--request-timeout', '120']);
  const url = new URL(s.base);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const embed = (text: string) =>
    new Promise<{ status: number; connection?: string; reused: boolean }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/embed', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, reused: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ inputs: text }));
    });
  try {
    assert.equal((await embed('opens a keep-alive connection')).status, 200);
    // A client that sends its headers, then one byte of its 1000-byte body every 200 ms.
    const slow = connect(Number(url.port), url.hostname);
    let slowAnswer = '';
    slow.setEncoding('utf8').on('data', (c: string) => (slowAnswer += c));
    slow.on('error', () => {});
    const slowClosed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    slow.write('POST /v1/embed HTTP/1.1\r\nHost: tuna\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const drip = setInterval(() => slow.writable && slow.write(' '), 200);
    await new Promise((r) => setTimeout(r, 400));
    const started = Date.now();
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const during = await embed('sent on the open connection after SIGTERM');
    assert.deepEqual(during, { status: 200, connection: 'close', reused: true });
    assert.equal(await s.exit, 0, s.stderr());
    const took = Date.now() - started;
    await slowClosed;
    clearInterval(drip);
    assert.match(slowAnswer, /^HTTP\/1\.1 503 /);
    assert.match(slowAnswer, /"code":"unavailable"/);
    assert.ok(took < 5000, `exited ${took} ms after SIGTERM`);
    assert.match(s.stderr(), /SIGTERM: finishing the requests received \(for up to 0\.8 s\)/);
    assert.match(s.stderr(), /requests still open after 0\.8 s were answered 503 and their connections closed/);
    assert.match(s.stderr(), /stopped/);
  } finally {
    agent.destroy();
    s.child.kill('SIGKILL');
  }
});

test('the timeout and response-size flags: their defaults, and bad values refused before any model loads', async () => {
  const parsed = serveCommandOptions(new Command('serve').exitOverride()).parse([], { from: 'user' }).opts();
  assert.deepEqual(parsed, { requestTimeout: '60', headersTimeout: '20', bodyTimeout: '10', shutdownTimeout: '10', maxResponseBytes: '33554432' });
  const base: ServeOptions = {
    model: [BUNDLED_EN],
    host: '127.0.0.1',
    port: '0',
    maxBatchSize: '32',
    maxWaitMs: '0',
    maxQueue: '64',
    maxBodyBytes: '1048576',
    maxTextChars: '100',
    maxInputs: '8',
    ...parsed,
  };
  const out = { stdout: () => {}, stderr: () => {} } as unknown as Output;
  const cases: [Partial<ServeOptions>, RegExp][] = [
    [{ bodyTimeout: '0' }, /^--body-timeout must be a number > 0 and <= 86400, got "0"$/],
    [{ requestTimeout: 'soon' }, /^--request-timeout must be a number/],
    [{ shutdownTimeout: '-1' }, /^--shutdown-timeout must be a number > 0/],
    [{ headersTimeout: '0.0001' }, /^--headers-timeout must be at least 0\.001 seconds/],
    [{ maxResponseBytes: '10' }, /^--max-response-bytes must be an integer >= 1024/],
    [{ apiKey: ' ' }, /^--api-key is blank \(only spaces\); set it to the key clients must send$/],
  ];
  for (const [bad, message] of cases) {
    await assert.rejects(serveCommand({ ...base, ...bad }, out), (e: any) => {
      assert.equal(e.code, 'usage');
      assert.match(e.message, message);
      return true;
    });
  }
});

test('a blank TUNA_API_KEY or --api-key, an invalid model name and a port in use stop tuna serve at start, naming them', async () => {
  const busy = createNetServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--model', BUNDLED_EN], { TUNA_API_KEY: ' ' }, /^tuna: TUNA_API_KEY is blank \(only spaces\); set it to the key clients must send, or unset it\n$/],
      [['--model', BUNDLED_EN], { TUNA_API_KEY: 'key ' }, /^tuna: TUNA_API_KEY has spaces at its start or end/],
      [
        ['--model', `na me=${BUNDLED_EN}`],
        {},
        /^tuna: model name "na me" in "na me=.*" is not valid: a model name is 1 to 100 letters, digits, "\.", "_" or "-", starting with a letter or digit\n$/,
      ],
      [
        ['--model', BUNDLED_EN, '--port', String(port)],
        {},
        new RegExp(`^tuna: port ${port} is already in use on 127\\.0\\.0\\.1 \\(another process listens there\\); choose another port, or 0 for any free one\\n$`),
      ],
    ];
    await Promise.all(
      cases.map(async ([args, env, message]) => {
        const r = await tuna(['serve', ...args], env);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, message);
      }),
    );
  } finally {
    busy.close();
  }
});
