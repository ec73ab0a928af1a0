// Reading user-named files safely: devices and oversized files are refused by name, named pipes
// are refused where a file must be seekable and never hang where they are not, and file-system
// failures are explained with the file and what to do.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../src/cli/errors.js';
import { resolveModel } from '../src/io/hub.js';
import { checkReadableFile, fileSystemError, formatBytes, readSmallFile, readSmallTextFile } from '../src/io/files.js';

const work = await mkdtemp(join(tmpdir(), 'tuna-files-'));
after(() => rm(work, { recursive: true, force: true }));

test('a link to a character device is refused by name before anything is read', async () => {
  const link = join(work, 'tokenizer.json');
  await symlink('/dev/zero', link);
  await assert.rejects(readSmallFile(link, { what: 'the tokenizer' }), (e: Error & { code?: string; file?: string }) => {
    assert.equal(e.code, 'file_unreadable');
    assert.equal(e.file, link);
    assert.match(e.message, /tokenizer\.json \(the tokenizer\): is a character device, not a file/);
    return true;
  });
  await assert.rejects(checkReadableFile(link, { seekable: true }), /character device/);
});

test('a file larger than its cap is refused without being read', async () => {
  const big = join(work, 'config.json');
  await writeFile(big, Buffer.alloc(5000, 0x20));
  await assert.rejects(readSmallFile(big, { maxBytes: 4096 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'too_large');
    assert.match(e.message, /config\.json: is 4\.9 KiB, larger than the 4\.0 KiB such a file may be/);
    return true;
  });
  assert.equal((await readSmallFile(big, { maxBytes: 5000 })).length, 5000);
});

test('a byte-order mark is dropped from small text files', async () => {
  const f = join(work, 'bom.json');
  await writeFile(f, '\uFEFF{"a": 1}');
  assert.deepEqual(JSON.parse(await readSmallTextFile(f)), { a: 1 });
});

test('a named pipe is refused where the file must be seekable, and read (capped, without hanging) where it need not be', async () => {
  const fifo = join(work, 'model.safetensors');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(checkReadableFile(fifo, { seekable: true, what: 'the weights' }), /model\.safetensors \(the weights\): is a named pipe; give a regular file/);
  // No writer: refused after a short wait, never blocks.
  const started = Date.now();
  await assert.rejects(readSmallFile(fifo, { pipeWaitMs: 300 }), /model\.safetensors: is a named pipe and nothing was written to it/);
  assert.ok(Date.now() - started < 2000);
  // A writer's bytes are read whole.
  const small = spawn('sh', ['-c', `printf '{"a": 1}' > '${fifo}'`]);
  assert.equal(await readSmallTextFile(fifo), '{"a": 1}');
  small.kill();
  // A writer that sends more than the cap is cut off with a clear error.
  const writer = spawn('sh', ['-c', `head -c 200000 /dev/zero > '${fifo}'`]);
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(readSmallFile(fifo, { maxBytes: 1000 }), /more than 1000 bytes/);
  writer.kill();
});

test('file-system errors name the file, the operation and the fix', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/out/model.safetensors' });
  const e = fileSystemError(undefined, enospc, 'write');
  assert.equal(e.code, 'file_system');
  assert.equal(e.file, '/out/model.safetensors');
  assert.equal(e.message, '/out/model.safetensors: cannot write: no space left on the device; free some space or write elsewhere (ENOSPC)');
  assert.equal(
    fileSystemError('/x/config.json', Object.assign(new Error('ELOOP'), { code: 'ELOOP' }), 'read').message,
    '/x/config.json: cannot read: the path has a symbolic-link loop; fix or remove the link (ELOOP)',
  );
  assert.equal(fileSystemError('/x', Object.assign(new Error('ENOENT'), { code: 'ENOENT' })).code, 'file_not_found');
});

test('the CLI reports a raw file-system error by its file and fix, not as an internal error', () => {
  const eacces = Object.assign(new Error("EACCES: permission denied, mkdir '/data/out'"), { code: 'EACCES', syscall: 'mkdir', path: '/data/out' });
  const e = CliError.of(eacces);
  assert.equal(e.code, 'file_system');
  assert.equal(e.file, '/data/out');
  assert.equal(e.message, '/data/out: cannot create the directory: permission denied; check the file and directory permissions (ls -l) (EACCES)');
  assert.equal(CliError.of(new Error('something else')).code, 'internal');
});

test('sizes are written as people read them', () => {
  assert.equal(formatBytes(512), '512 bytes');
  assert.equal(formatBytes(64 * 1024 * 1024), '64 MiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
});

test('a model path under a file is reported as such, not as an unknown Hub id', async () => {
  const file = join(work, 'notes.txt');
  await writeFile(file, 'x');
  await assert.rejects(resolveModel(join(file, 'model'), { offline: true }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'file_system');
    assert.match(e.message, /notes\.txt\/model: cannot read: a part of the path is a file, not a directory; check the path \(ENOTDIR\)/);
    return true;
  });
});
