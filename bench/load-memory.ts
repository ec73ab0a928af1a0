/**
 * Resident memory of loading a bert-base sized (110M parameters, ~440 MB F32) checkpoint with
 * PreTrainedModel.fromPretrained: writes a random checkpoint to a temp dir, loads it in a fresh process and prints the
 * peak resident set size against the file size (target < 2x).
 *
 *   npm run bench:load-memory
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bertConfig, bertConfigToJson } from '../src/models/bert/config.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';

if (process.argv[2] === '--child') {
  const before = process.memoryUsage().rss;
  const m = await PreTrainedModel.fromPretrained(process.argv[3]!);
  const after = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ params: m.store.count(), rssBefore: before, rssAfter: after, missing: m.loadReport.missing.length }));
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'tuna-load-'));
try {
  const config = bertConfig({ architectures: ['BertForSequenceClassification'] });
  await PreTrainedModel.fromConfig(bertConfigToJson(config), { seed: 1 }).savePretrained(dir);
  const size = statSync(join(dir, 'model.safetensors')).size;
  const child = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', dir], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(child.stderr);
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  console.log(`checkpoint: ${r.params.toLocaleString('en')} parameters, model.safetensors ${mb(size)}`);
  console.log(`resident memory: ${mb(r.rssBefore)} before loading, peak ${mb(r.rssAfter)} while loading; peak / file size = ${(r.rssAfter / size).toFixed(2)} (target < 2)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
