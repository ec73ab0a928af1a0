import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Whether `name` is a temporary file {@link writeFileAtomic} writes (`.model.safetensors.1a2b3c4d5e6f.tmp`),
 * which only a write that died midway (kill -9, power loss) leaves behind.
 */
export function isAtomicTempName(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);
}

/** Data for {@link writeFileAtomic}: one buffer, or buffers (possibly produced on demand) written in order. */
export type AtomicData = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes a file atomically: the data goes to a temporary file in the same directory, is flushed to
 * disk, and is then renamed over `path`, so readers see the old file or the new one, never half.
 * `chunks` may be a generator, so large files can be produced piece by piece without holding all
 * of their bytes in memory. On failure the temporary file is removed and `path` is left untouched.
 */
export async function writeFileAtomic(path: string, chunks: AtomicData): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, atomicTempName(basename(path)));
  const fh = await open(tmp, 'w');
  try {
    const source: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = chunks instanceof Uint8Array ? [chunks] : chunks;
    for await (const c of source) {
      let off = 0;
      while (off < c.byteLength) off += (await fh.write(c, off, Math.min(c.byteLength - off, 1 << 30))).bytesWritten;
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDirectory(dir);
}

/** A fresh temporary name for `name`, as {@link isAtomicTempName} recognises it. */
function atomicTempName(name: string): string {
  return `.${name}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Flushes a directory entry (after a rename) where the platform allows it; a no-op elsewhere. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Directories cannot be opened or flushed on some platforms (Windows); the rename itself stands.
  }
}
