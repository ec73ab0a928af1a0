// Headless Chromium for the browser tests, with nothing but npm: CHROMIUM_PATH when set, else the
// system's Chromium (Debian's /usr/bin/chromium) when there is one, else the Chromium build that
// ships inside the @sparticuz/chromium npm package (a brotli-compressed headless shell that needs
// only glibc and libexpat), unpacked once into node_modules/.cache.
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createBrotliDecompress } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';

/** Headless, no sandbox (tests run as root), and no background connections (the network is closed). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/tuna-chromium/', import.meta.url));

export interface ChromiumExecutable {
  path: string;
  /** Where it came from: `CHROMIUM_PATH`, `system` or `@sparticuz/chromium`. */
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

/** The Chromium executable the browser tests use. */
export async function findChromium(): Promise<ChromiumExecutable> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is ${fromEnv}, which does not exist`);
    return { path: fromEnv, source: 'CHROMIUM_PATH' };
  }
  const system = SYSTEM_CHROMIUM.find((p) => existsSync(p));
  if (system) return { path: system, source: 'system' };
  return { path: await unpackNpmChromium(), source: '@sparticuz/chromium' };
}

/**
 * Unpacks @sparticuz/chromium's bin/chromium.br into node_modules/.cache/tuna-chromium/VERSION/ (once per
 * version; written under a temporary name and renamed, so an interrupted run never leaves half a binary).
 */
async function unpackNpmChromium(): Promise<string> {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    throw new Error(`no Chromium found: @sparticuz/chromium has Linux x64/arm64 builds only (this is ${process.platform}/${process.arch}); install Chromium or set CHROMIUM_PATH`);
  }
  // The package exports only its entry point; its root is two levels above build/cjs/index.cjs.
  const root = dirname(dirname(dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium'))));
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const dir = join(CACHE, version);
  const executable = join(dir, 'chromium');
  if (existsSync(executable)) return executable;
  await mkdir(dir, { recursive: true });
  const partial = `${executable}.${process.pid}.partial`;
  try {
    await pipeline(createReadStream(join(root, 'bin', 'chromium.br')), createBrotliDecompress({ chunkSize: 2 ** 21 }), createWriteStream(partial, { mode: 0o755 }));
    await rename(partial, executable);
  } finally {
    await rm(partial, { force: true });
  }
  return executable;
}

/** Launches headless Chromium through playwright-core. */
export async function launchChromium(): Promise<Browser> {
  const { path } = await findChromium();
  return chromium.launch({ executablePath: path, args: CHROMIUM_ARGS });
}
