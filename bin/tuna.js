#!/usr/bin/env node
// The `tuna` command. In a clone it runs the TypeScript sources through tsx, so it works straight
// after `npm ci`, with no build step; the published package has no sources and runs the
// compiled dist/ instead.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = (p) => fileURLToPath(new URL(p, import.meta.url));

// `tuna ... | head` closes stdout early; that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

/** The CLI's entry module: the sources through tsx in a clone, else the build in dist/. */
async function loadCli() {
  if (existsSync(path('../src/cli/main.ts'))) {
    let register;
    try {
      ({ register } = await import('tsx/esm/api'));
    } catch (e) {
      // A clone installed without devDependencies can still run a build.
      if (!existsSync(path('../dist/cli/main.js'))) throw new Error(`tuna: tsx is needed to run the sources (npm ci), or build dist/ with npm run build (${e.message})`);
    }
    if (register) {
      const tsconfig = path('../tsconfig.json');
      // A namespaced registration compiles only tuna's own module graph, whatever the caller's cwd.
      const api = register({ namespace: 'tuna-cli', tsconfig: existsSync(tsconfig) ? tsconfig : false });
      return api.import('../src/cli/main.ts', import.meta.url);
    }
  }
  return import('../dist/cli/main.js');
}

const { run } = await loadCli();
process.exitCode = await run(process.argv.slice(2));
