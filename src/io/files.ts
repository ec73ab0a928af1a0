/**
 * Reading the files a user names, safely: the real target of a link is checked before it is read,
 * devices are refused, named pipes are refused where a file must be seekable (read whole, sized or
 * read at offsets), and small files (configs, JSON) are read with a byte limit.
 */
import { constants as fsConstants, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { TunaError } from '../errors.js';

/** The largest JSON or text config file read whole (tokenizer.json of large vocabularies is ~20 MB). */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/** How a file is going to be read. */
export interface FileUse {
  /** What the file is for, in the message (e.g. `the model config`, `the --input file`). */
  readonly what?: string;
  /** Whether it is read at offsets or measured first (weights, ONNX): a named pipe is then refused. */
  readonly seekable?: boolean;
}

/**
 * The stats of the file `path` resolves to, after checking it is a file that can be read as `use`
 * says: a regular file, or (when not `seekable`) a named pipe. Devices, sockets and directories are
 * refused by name.
 */
export async function checkReadableFile(path: string, use: FileUse = {}): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw fileSystemError(path, e, 'read');
  }
  return checkStats(path, st, use);
}

/** {@link checkReadableFile}, synchronously. */
export function checkReadableFileSync(path: string, use: FileUse = {}): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw fileSystemError(path, e, 'read');
  }
  return checkStats(path, st, use);
}

function checkStats(path: string, st: Stats, use: FileUse): Stats {
  const what = use.what === undefined ? '' : ` (${use.what})`;
  if (st.isFile()) return st;
  if (st.isDirectory()) throw new TunaError('file_unreadable', `${path}${what}: is a directory, not a file`, { file: path });
  if (st.isFIFO()) {
    if (!use.seekable) return st;
    throw new TunaError('file_unreadable', `${path}${what}: is a named pipe; give a regular file (copy the stream to disk first)`, {
      file: path,
    });
  }
  const kind = st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file';
  throw new TunaError('file_unreadable', `${path}${what}: is ${kind}, not a file; give a regular file`, { file: path });
}

/** Limits of {@link readSmallFile}. */
export interface SmallFileOptions extends FileUse {
  /** The most bytes read (default {@link MAX_CONFIG_BYTES}). */
  readonly maxBytes?: number;
  /** How long a named pipe may stay without a writer's first byte (default 10 s). */
  readonly pipeWaitMs?: number;
}

/**
 * The bytes of a small file (config, JSON, vocabulary), refusing devices and anything larger than
 * `maxBytes` without reading past the limit. A named pipe is read up to the limit; one whose writer
 * sends nothing within `pipeWaitMs` is refused rather than waited on for ever.
 */
export async function readSmallFile(path: string, opts: SmallFileOptions = {}): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? MAX_CONFIG_BYTES;
  const st = await checkReadableFile(path, opts);
  const what = opts.what === undefined ? '' : ` (${opts.what})`;
  const tooLarge = (size: string) =>
    new TunaError('too_large', `${path}${what}: is ${size}, larger than the ${formatBytes(maxBytes)} such a file may be; check that it is the right file`, { file: path });
  if (st.isFile() && st.size > maxBytes) throw tooLarge(formatBytes(st.size));
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, fsConstants.O_RDONLY | (st.isFIFO() ? fsConstants.O_NONBLOCK : 0));
  } catch (e) {
    throw fileSystemError(path, e, 'read');
  }
  // A pipe opened without blocking reads as ended until its writer's first byte arrives.
  const pipeDeadline = st.isFIFO() ? Date.now() + (opts.pipeWaitMs ?? 10_000) : 0;
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, 0, buf.length, null));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw fileSystemError(path, e, 'read');
        bytesRead = -1;
      }
      if (bytesRead <= 0 && (bytesRead === -1 || (total === 0 && pipeDeadline > 0))) {
        if (pipeDeadline > 0 && total === 0 && Date.now() > pipeDeadline) {
          throw new TunaError('file_unreadable', `${path}${what}: is a named pipe and nothing was written to it; give a regular file`, { file: path });
        }
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(`more than ${formatBytes(maxBytes)}`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}

/** {@link readSmallFile} decoded as UTF-8 (a leading byte-order mark removed). */
export async function readSmallTextFile(path: string, opts: SmallFileOptions = {}): Promise<string> {
  return (await readSmallFile(path, opts)).toString('utf8').replace(/^\uFEFF/, '');
}

/** A size in bytes as people read it (`64 MiB`). */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v >= 10 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

const FIXES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory; check the path',
  EACCES: 'permission denied; check the file and directory permissions (ls -l)',
  EPERM: 'operation not permitted; check the permissions and that no other program holds the file',
  ENOSPC: 'no space left on the device; free some space or write elsewhere',
  EDQUOT: 'disk quota exceeded; free some space or write elsewhere',
  EROFS: 'the file system is read-only; write elsewhere',
  EEXIST: 'already exists; remove it or choose another path',
  ENOTDIR: 'a part of the path is a file, not a directory; check the path',
  EISDIR: 'is a directory, not a file',
  ELOOP: 'the path has a symbolic-link loop; fix or remove the link',
  ENAMETOOLONG: 'the path is too long; choose a shorter one',
  EMFILE: 'too many open files; raise the limit (ulimit -n) or open fewer models',
  EBUSY: 'the file is busy; close the program that holds it',
  EIO: 'an input/output error from the device; check the disk',
};

/** The errno codes {@link fileSystemError} knows how to explain. */
export function isFileSystemErrno(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && Object.hasOwn(FIXES, code) && e instanceof Error;
}

/**
 * A TunaError for a Node.js file-system error on `path` during `action` (`read`, `write`, `create`,
 * `rename`...), naming the file and what to do. A TunaError is returned as it is.
 */
export function fileSystemError(path: string | undefined, e: unknown, action = 'access'): TunaError {
  if (e instanceof TunaError) return e;
  const errno = e as NodeJS.ErrnoException;
  const file = path ?? errno.path;
  const where = file === undefined ? '' : `${file}: `;
  const fix = errno.code !== undefined ? FIXES[errno.code] : undefined;
  const text = fix ?? errno.message ?? String(e);
  const code = errno.code === 'ENOENT' ? 'file_not_found' : errno.code === 'EISDIR' ? 'file_unreadable' : 'file_system';
  return new TunaError(code, `${where}cannot ${action}: ${text}${errno.code !== undefined && fix !== undefined ? ` (${errno.code})` : ''}`, {
    ...(file === undefined ? {} : { file }),
    cause: e,
  });
}
