import { readFileSync } from 'node:fs';

/** The version in tuna's package.json. */
export function packageVersion(): string {
  // src/io/ (or dist/io/ once built) sits two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
