// Temporary directories for tests, removed when the test process exits (node --test runs each test
// file in its own process), so no test leaves one behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];

/** A new directory `tuna-PREFIX-XXXXXX` under the system's temporary directory. */
export function tempDirSync(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tuna-${prefix}-`));
  if (dirs.push(dir) === 1) process.once('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return dir;
}
