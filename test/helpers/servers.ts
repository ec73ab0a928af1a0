// Real PostgreSQL and Redis servers for the tests that store or queue: Debian's binaries, each
// started on a free loopback port with its data in a new temporary directory, stopped (and the
// directory deleted) by `stop()`. PostgreSQL refuses to run as root, so as root the cluster is
// owned by and run as the `postgres` user. `.ci/run` installs the packages when they are missing.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running server. */
export interface TestServer {
  /** Connection URL (`postgres://…` or `redis://…`). */
  readonly url: string;
  readonly port: number;
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  throw new Error(`PostgreSQL's ${name} was not found under ${root}: install Debian's postgresql package (apt-get install postgresql)`);
}

function uidOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function waitFor(check: () => Promise<boolean>, what: string, child: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}:\n${log()}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start within ${timeoutMs} ms:\n${log()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * A fresh PostgreSQL cluster (initdb, trust authentication on loopback, fsync off) with database
 * `tuna`, user `postgres`.
 */
export async function startPostgres(): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tuna-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? uidOf('postgres') : undefined;
  if (owner) {
    chmodSync(dir, 0o755);
    chownSync(dir, owner.uid, owner.gid);
  }
  const runOpts = owner ? { uid: owner.uid, gid: owner.gid } : {};
  execFileSync(postgresBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    ...runOpts,
    stdio: 'pipe',
  });
  const port = await freePort();
  let log = '';
  const child = spawn(
    postgresBin('postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    { ...runOpts, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const ready = () => {
    try {
      execFileSync(postgresBin('pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'pipe' });
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  };
  await waitFor(ready, 'postgres', child, () => log);
  execFileSync(postgresBin('createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'tuna'], { stdio: 'pipe' });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/tuna`,
    port,
    async stop() {
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function redisBin(): string {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(p)) return p;
  throw new Error("redis-server was not found: install Debian's redis-server package (apt-get install redis-server)");
}

/** A fresh Redis server without persistence. Also returns its process, for tests that need to kill it. */
export async function startRedis(): Promise<TestServer & { readonly process: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'tuna-redis-'));
  const port = await freePort();
  let log = '';
  const child = spawn(redisBin(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  await waitFor(
    () => canConnect(port),
    'redis-server',
    child,
    () => log,
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
