#!/usr/bin/env node
// The `tuna` command. It runs the TypeScript sources through tsx, so it works straight from a
// clone after `npm ci`, with no build step.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
// A namespaced registration compiles only tuna's own module graph, whatever the caller's cwd.
const api = register({ namespace: 'tuna-cli', tsconfig: existsSync(tsconfig) ? tsconfig : false });

// `tuna ... | head` closes stdout early; that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const { run } = await api.import('../src/cli/main.ts', import.meta.url);
process.exitCode = await run(process.argv.slice(2));
