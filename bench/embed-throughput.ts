/**
 * Sentence-embedding throughput, tuna against sentence-transformers on the same model and texts:
 * the 719 StackFAQ answers and 1,249 paraphrases embedded by `pipeline('feature-extraction')`
 * (mean pooling) and by `SentenceTransformer.encode` (Transformer + mean Pooling), same batch size,
 * maximum length and thread count. The two alternate, round by round, so that a change in the
 * machine's load falls on both; the best round of each is reported.
 *
 *   npm run bench:embed -- --python /path/to/python-with-sentence-transformers [--model DIR] [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pipeline } from '../src/pipelines/index.js';
import { readStackFaq } from './stackfaq.js';

const { values: args } = parseArgs({
  options: {
    python: { type: 'string' },
    model: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '128' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const model = args.model ?? join(root, 'models', 'tuna-small-en');
const rounds = Number(args.rounds);
const threads = Number(args.threads);
const batchSize = Number(args['batch-size']);
const maxLength = Number(args['max-length']);

const threads_ = readStackFaq();
const texts = [...threads_.flatMap((t) => t.answers), ...threads_.flatMap((t) => t.paraphrases)];
const work = mkdtempSync(join(tmpdir(), 'tuna-bench-embed-'));
const textsFile = join(work, 'texts.json');
writeFileSync(textsFile, JSON.stringify(texts));

const embed = await pipeline('feature-extraction', model, { threads, batchSize, maxLength });
await embed(texts.slice(0, batchSize * 2), { pooling: 'mean' });
const tunaRates: number[] = [];
const stRates: number[] = [];
let torchVersion = '';
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  await embed(texts, { pooling: 'mean' });
  tunaRates.push(texts.length / ((performance.now() - t0) / 1000));
  if (args.python) {
    const py = spawnSync(args.python, [join(root, 'tools', 'bench-embed-st.py'), model, textsFile, String(threads), String(batchSize), String(maxLength), '1'], {
      encoding: 'utf8',
    });
    if (py.status !== 0) throw new Error(`tools/bench-embed-st.py failed:\n${py.stderr}`);
    const out = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as { rates: number[]; torch: string };
    stRates.push(...out.rates);
    torchVersion = out.torch;
  }
}
await embed.dispose();
rmSync(work, { recursive: true, force: true });

const best = (xs: number[]) => Math.max(...xs);
console.log(`sentence embeddings of ${texts.length} StackFAQ texts, ${model}, batch ${batchSize}, max length ${maxLength}, ${threads} threads, mean pooling`);
console.log(`tuna                  ${best(tunaRates).toFixed(1)} texts/s (rounds: ${tunaRates.map((x) => x.toFixed(1)).join(', ')})`);
if (stRates.length > 0) {
  console.log(`sentence-transformers ${best(stRates).toFixed(1)} texts/s (rounds: ${stRates.map((x) => x.toFixed(1)).join(', ')}; torch ${torchVersion})`);
  console.log(`tuna / sentence-transformers: ${(best(tunaRates) / best(stRates)).toFixed(2)}x`);
}
