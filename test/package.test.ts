// The package other projects get: `npm pack` (whose prepack script builds dist/), installed from
// the tarball into a new project, where `import ... from 'tuna'` runs a real pipeline on the
// bundled model, the README's Library snippets run or type-check as written, and `npx tuna` works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let work: string;
let project: string;
let installed: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion. The npm_* variables that `npm test` sets are left out, so that the
 * npm run in another directory sees that directory's project and not this one's.
 */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Result> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: { ...clean, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what} exited with ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tuna-package-'));
  const out = join(work, 'pack');
  project = join(work, 'app');
  await Promise.all([mkdir(out), mkdir(project)]);
  // What the README tells another project to do about onnxruntime-node's GPU download.
  const pkg = { name: 'tuna-package-test', version: '1.0.0', private: true, type: 'module', allowScripts: { 'onnxruntime-node': false, protobufjs: false } };
  await writeFile(join(project, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const install = (specs: string[], save: boolean) =>
    run('npm', ['install', ...specs, save ? '--save' : '--no-save', '--prefer-offline', '--no-audit', '--no-fund'], project, { ONNXRUNTIME_NODE_INSTALL: 'skip' });

  // The build is the slow part: meanwhile, the dependencies that the tarball will ask for go in.
  const { dependencies } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const specs = Object.entries(dependencies).map(([name, range]) => `${name}@${range}`);
  const [packed, deps] = await Promise.all([run('npm', ['pack', '--pack-destination', out], ROOT), install(specs, false)]);
  ok(packed, 'npm pack');
  ok(deps, 'npm install of the dependencies');
  const tarballs = (await readdir(out)).filter((f) => f.endsWith('.tgz'));
  assert.deepEqual(tarballs, [`tuna-${VERSION}.tgz`]);
  ok(await install([join(out, tarballs[0]!)], true), 'npm install of the tarball');
  installed = join(project, 'node_modules', 'tuna');
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('the tarball holds the build, the executable, the models and the demo data, and no sources', async () => {
  for (const f of [
    'package.json',
    'README.md',
    'LICENSE',
    'bin/tuna.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli/main.js',
    'models/tuna-small-en/model.safetensors',
    'models/tuna-small-zh/vocab.txt',
    'examples/data/spam-train.csv',
  ]) {
    assert.ok(existsSync(join(installed, f)), `${f} is in the package`);
  }
  for (const f of ['src', 'test', 'bench', 'tools', 'docs', 'tsconfig.json', '.ci', 'node_modules/tsx']) assert.ok(!existsSync(join(installed, f)), `${f} is not in the package`);
  const entries = await readdir(join(installed, 'dist'), { recursive: true });
  assert.deepEqual(
    entries.filter((f) => f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    [],
    'no source maps or sources in dist/',
  );
  const license = await readFile(join(installed, 'LICENSE'), 'utf8');
  assert.match(license, /^Copyright \d{4} The tuna authors\n/);
  assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
});

test("import { pipeline } from 'tuna' in an ES module runs fill-mask on the bundled model", async () => {
  const script = `import { bundledModelDir, pipeline, PIPELINE_TASKS } from 'tuna';
import { createRequire } from 'node:module';
const unmasker = await pipeline('fill-mask', bundledModelDir('en'), { threads: 1 });
const fills = await unmasker('Paris is the capital of [MASK].', { topK: 3 });
await unmasker.dispose();
const pkg = createRequire(import.meta.url)('tuna/package.json');
console.log(JSON.stringify({ tasks: PIPELINE_TASKS, modelDir: bundledModelDir('en'), fills, version: pkg.version }));
`;
  await writeFile(join(project, 'check.mjs'), script);
  const r = ok(await run(process.execPath, ['check.mjs'], project), 'node check.mjs');
  const got = JSON.parse(r.stdout) as { tasks: string[]; modelDir: string; fills: { score: number; token: number; token_str: string; sequence: string }[]; version: string };
  assert.deepEqual(got.tasks, ['text-classification', 'token-classification', 'fill-mask', 'feature-extraction', 'text-ranking', 'zero-shot-classification']);
  assert.ok(got.modelDir.startsWith(installed), `the bundled model is read from the installed package (${got.modelDir})`);
  assert.equal(got.version, VERSION);
  assert.equal(got.fills.length, 3);
  for (const [i, f] of got.fills.entries()) {
    assert.ok(f.score > 0 && f.score <= 1, `score ${f.score}`);
    if (i > 0) assert.ok(f.score <= got.fills[i - 1]!.score, 'most likely first');
    assert.ok(Number.isInteger(f.token) && f.token_str.length > 0);
    assert.ok(f.sequence.startsWith('paris is the capital of'), f.sequence);
  }
});

test('npx tuna --help, and tuna --version, run the installed executable', async () => {
  const help = ok(await run('npx', ['--no-install', 'tuna', '--help'], project), 'npx tuna --help');
  assert.match(help.stdout, /^Usage: tuna /);
  for (const command of ['train', 'eval', 'predict', 'serve', 'export', 'demo']) assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`), `--help lists ${command}`);
  const version = ok(await run(join(project, 'node_modules', '.bin', 'tuna'), ['--version'], project), 'tuna --version');
  assert.equal(version.stdout.trim(), VERSION);
});

/** The fenced code blocks of the README's Library section that import from 'tuna'. */
async function librarySection(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library\n');
  assert.ok(start >= 0, 'the README has a Library section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The fenced code blocks of the README's Library section that import from 'tuna'. */
function librarySnippets(section: string): { lang: string; code: string }[] {
  return [...section.matchAll(/\n```(js|ts)\n([\s\S]*?)\n```/g)].map((m) => ({ lang: m[1]!, code: `${m[2]!}\n` })).filter((s) => /from 'tuna'/.test(s.code));
}

/** The names in the Exports column of the Library section's table. */
function tableExports(section: string): string[] {
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Area') && !l.startsWith('| ---'));
  return [...new Set(rows.flatMap((r) => [...(r.split('|')[2] ?? '').matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!)))];
}

test("the README's Library section works in another project: the JavaScript snippet runs, the TypeScript ones and the table's names type-check", async () => {
  const section = await librarySection();
  const snippets = librarySnippets(section);
  const js = snippets.filter((s) => s.lang === 'js');
  const ts = snippets.filter((s) => s.lang === 'ts');
  assert.ok(js.length >= 1 && ts.length >= 2, `${js.length} JavaScript and ${ts.length} TypeScript snippets`);
  for (const [i, s] of js.entries()) {
    await writeFile(join(project, `readme-${i}.mjs`), s.code);
    const r = ok(await run(process.execPath, [`readme-${i}.mjs`], project), `README snippet ${i}`);
    assert.match(r.stdout, /token_str/);
  }
  const dir = join(project, 'readme-ts');
  await mkdir(dir, { recursive: true });
  const files = await Promise.all(
    ts.map(async (s, i) => {
      await writeFile(join(dir, `snippet-${i}.ts`), s.code);
      return `snippet-${i}.ts`;
    }),
  );
  // Every name the table lists is exported (a value or a type): tsc names each one that is not.
  const names = tableExports(section);
  assert.ok(names.length > 50, `${names.length} names in the table`);
  await writeFile(join(dir, 'exports.ts'), `import { ${names.join(', ')} } from 'tuna';\n`);
  files.push('exports.ts');
  // A consumer's plain strict settings; the Node types come from this repository's dev dependencies.
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      types: ['node'],
    },
    files,
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  ok(await run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir), 'tsc on the README snippets');
});
