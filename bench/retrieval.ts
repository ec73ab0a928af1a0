/**
 * Retrieval on StackFAQ (bench/stackfaq.ts: 75 train / 50 test threads, corpus = all 719 answers,
 * 500 test paraphrase queries): BM25, dense retrieval with the bundled English model before and
 * after MultipleNegativesRanking fine-tuning by `tuna train --task sentence-embedding`, hybrids of
 * BM25 and the fine-tuned model, and (when `tuna train --task cross-encoder` exists) hybrid +
 * cross-encoder reranking; beside them sentence-transformers on the same base, recipe and split
 * (tools/bench-retrieval-st.py), and embedding throughput of both on the same texts.
 *
 * Metrics are computed by src/retrieval/metrics.ts (sentence-transformers' InformationRetrievalEvaluator
 * semantics) over the top-100 of each retriever; the sentence-transformers rows are scored by its own
 * evaluator, and its rankings are re-scored here as a cross-check.
 *
 *   npm run bench:retrieval [-- --python /tmp/refvenv/bin/python --threads 2 --epochs 1 --out DIR]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pipeline } from '../src/pipelines/index.js';
import { type BeirDocument, type BeirQuery, type Qrels, readBeirCorpus, readBeirQueries, readQrels } from '../src/retrieval/beir.js';
import { Bm25Index, DEFAULT_BM25 } from '../src/retrieval/bm25.js';
import { reciprocalRankFusion, weightedFusion } from '../src/retrieval/fusion.js';
import { type Rankings, retrievalMetrics, retrievalMetricsJson } from '../src/retrieval/metrics.js';
import { answerId, readStackFaq, splitThreads, writeStackFaqSplit } from './stackfaq.js';

const { values: args } = parseArgs({
  options: {
    python: { type: 'string' },
    threads: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '1' },
    'batch-size': { type: 'string', default: '32' },
    lr: { type: 'string', default: '1e-4' },
    'max-length': { type: 'string', default: '128' },
    seed: { type: 'string', default: '14' },
    'rerank-top': { type: 'string', default: '30' },
    alpha: { type: 'string', default: '0.5' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const threads = Number(args.threads);
const epochs = Number(args.epochs);
const batchSize = Number(args['batch-size']);
const lr = Number(args.lr);
const maxLength = Number(args['max-length']);
const seed = Number(args.seed);
const rerankTop = Number(args['rerank-top']);
const alpha = Number(args.alpha);
const TOP = 100;
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin', 'tuna.js');
const base = join(root, 'models', 'tuna-small-en');
const work = mkdtempSync(join(tmpdir(), 'tuna-bench-retrieval-'));
const out = args.out ?? join(tmpdir(), 'tuna-bench-retrieval');
mkdirSync(out, { recursive: true });

// ---------------------------------------------------------------- data
const splitDir = join(work, 'split');
mkdirSync(splitDir);
const files = writeStackFaqSplit(splitDir);
const corpus: BeirDocument[] = await readBeirCorpus(files.corpus);
const queries: BeirQuery[] = await readBeirQueries(files.queries);
const qrels: Qrels = await readQrels(files.qrels);
const trainSteps = Math.ceil((files.counts.trainPairs / batchSize) * epochs);
const warmupSteps = Math.ceil(trainSteps * 0.1);
console.error(`stackfaq split: ${JSON.stringify(files.counts)}; ${trainSteps} training steps, ${warmupSteps} warmup`);

/** An ordered list of corpus indices as hits whose scores keep that order. */
const ordered = (docs: readonly number[]) => docs.map((d, i) => ({ id: corpus[d]!.id, score: docs.length - i }));

type Row = { name: string; metrics: Record<string, number>; note?: string };
const rows: Row[] = [];
const rankings = new Map<string, Map<string, number[]>>();
function record(name: string, ranked: Map<string, number[]>, note?: string): void {
  rankings.set(name, ranked);
  const r: Rankings = new Map([...ranked].map(([q, docs]) => [q, ordered(docs)]));
  rows.push({ name, metrics: retrievalMetricsJson(retrievalMetrics(r, qrels)), ...(note ? { note } : {}) });
  console.error(`${name}: nDCG@10 ${rows.at(-1)!.metrics['ndcg@10']!.toFixed(4)}`);
}

// ---------------------------------------------------------------- BM25
const bm25 = Bm25Index.create({ ...DEFAULT_BM25, locale: 'en' });
bm25.add(corpus.map((d, i) => ({ key: i, content: d.text })));
const bm25Ranked = new Map(queries.map((q) => [q.id, bm25.search(q.text, TOP).map((h) => h.key)]));
record('BM25', bm25Ranked, 'k1 1.2, b 0.75');

// ---------------------------------------------------------------- dense
/** Unit-length embeddings of `texts` by the model in `dir`, row-major. */
async function embedAll(dir: string, texts: readonly string[]): Promise<Float32Array[]> {
  const embed = await pipeline('feature-extraction', dir, { threads, batchSize, maxLength });
  try {
    const vectors = await embed(texts, { pooling: 'model', normalize: true });
    return vectors.map((v) => Float32Array.from(v));
  } finally {
    await embed.dispose();
  }
}

/** Exact cosine top-`TOP` of every query (unit vectors), ties by ascending corpus id. */
function exactSearch(q: Float32Array[], d: Float32Array[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  q.forEach((qv, qi) => {
    const scores = d.map((dv, di) => {
      let s = 0;
      for (let j = 0; j < qv.length; j++) s += qv[j]! * dv[j]!;
      return { di, s };
    });
    scores.sort((a, b) => b.s - a.s || (corpus[a.di]!.id < corpus[b.di]!.id ? -1 : 1));
    out.set(
      queries[qi]!.id,
      scores.slice(0, TOP).map((x) => x.di),
    );
  });
  return out;
}

/** Query and document vectors of the model in `dir`, and the exact top-`TOP` of each query. */
async function dense(dir: string): Promise<{ ranked: Map<string, number[]>; q: Float32Array[]; d: Float32Array[] }> {
  const vectors = await embedAll(dir, [...queries.map((q) => q.text), ...corpus.map((d) => d.text)]);
  const q = vectors.slice(0, queries.length);
  const d = vectors.slice(queries.length);
  return { ranked: exactSearch(q, d), q, d };
}

record('dense, tuna-small-en (mean pooling)', (await dense(base)).ranked);

// Throughput: corpus and queries, as the sentence-transformers side encodes them, best of 3 after a warm-up.
const texts = [...corpus.map((d) => d.text), ...queries.map((q) => q.text)];
let tunaThroughput = 0;
{
  const embed = await pipeline('feature-extraction', base, { threads, batchSize, maxLength });
  await embed(texts.slice(0, batchSize * 2), { pooling: 'mean' });
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    await embed(texts, { pooling: 'mean' });
    tunaThroughput = Math.max(tunaThroughput, texts.length / ((performance.now() - t0) / 1000));
  }
  await embed.dispose();
}
console.error(`tuna feature-extraction: ${tunaThroughput.toFixed(1)} texts/s`);

// Fine-tuning: MultipleNegativesRanking on (paraphrase or question, answer) pairs of the train threads.
const recipe = { loss: 'mnrl (scale 20)', epochs, batchSize, lr, warmupSteps, weightDecay: 0.01, maxGradNorm: 1, maxLength, scheduler: 'linear', seed, pooling: 'mean' };
const tunaModel = join(work, 'tuna-mnrl');
const t0 = performance.now();
run('tuna train --task sentence-embedding', [
  bin,
  'train',
  '--task',
  'sentence-embedding',
  '--model',
  base,
  '--train',
  files.trainPairs,
  '--output',
  tunaModel,
  '--loss',
  'mnrl',
  '--pooling',
  'mean',
  '--epochs',
  String(epochs),
  '--batch-size',
  String(batchSize),
  '--lr',
  String(lr),
  '--warmup-steps',
  String(warmupSteps),
  '--weight-decay',
  '0.01',
  '--max-grad-norm',
  '1',
  '--max-length',
  String(maxLength),
  '--seed',
  String(seed),
  '--threads',
  String(threads),
  '--progress',
  'none',
]);
const tunaTrainSeconds = (performance.now() - t0) / 1000;
const tuned = await dense(tunaModel);
const denseFt = tuned.ranked;
record('dense, tuna MNRL fine-tuned', denseFt);

// ---------------------------------------------------------------- hybrid
const fuseRrf = (a: Map<string, number[]>, b: Map<string, number[]>) => new Map(queries.map((q) => [q.id, reciprocalRankFusion([a.get(q.id)!, b.get(q.id)!]).map((r) => r.item)]));
const hybrid = fuseRrf(bm25Ranked, denseFt);
record('hybrid: RRF(BM25, tuned dense)', hybrid, 'k = 60');
// Weighted fusion needs the scores: min-max normalised BM25 and cosine of each query's top 100.
{
  const bm25Scored = new Map(queries.map((q) => [q.id, bm25.search(q.text, TOP).map((h) => ({ item: h.key, score: h.score }))]));
  const { q: qv, d: dv } = tuned;
  const weighted = new Map(
    queries.map((q, qi) => {
      const denseScored = denseFt.get(q.id)!.map((di) => ({ item: di, score: dot(qv[qi]!, dv[di]!) }));
      return [q.id, weightedFusion(denseScored, bm25Scored.get(q.id)!, alpha).map((r) => r.item)];
    }),
  );
  record(`hybrid: ${alpha} dense + ${1 - alpha} BM25 (min-max)`, weighted);

  // The same with alpha chosen on other queries: the test threads in two folds (alternate threads),
  // each fold ranked with the alpha that gives the other fold its best nDCG@10 (0 to 1 by 0.05).
  const fuseAt = (a: number, qs: readonly BeirQuery[]) =>
    new Map(
      qs.map((q) => {
        const qi = queries.indexOf(q);
        const denseScored = denseFt.get(q.id)!.map((di) => ({ item: di, score: dot(qv[qi]!, dv[di]!) }));
        return [q.id, weightedFusion(denseScored, bm25Scored.get(q.id)!, a).map((r) => r.item)];
      }),
    );
  const ndcgOf = (ranked: Map<string, number[]>) => {
    const sub: Qrels = new Map([...ranked.keys()].map((id) => [id, qrels.get(id)!]));
    return retrievalMetrics(new Map([...ranked].map(([q, docs]) => [q, ordered(docs)])), sub).ndcg.get(10)!;
  };
  const threadOf = (q: BeirQuery) => q.id.split('-')[0]!;
  const threadOrder = [...new Set(queries.map(threadOf))].sort();
  const folds = [0, 1].map((f) => queries.filter((q) => threadOrder.indexOf(threadOf(q)) % 2 === f));
  const alphas = Array.from({ length: 21 }, (_, i) => i / 20);
  const chosen: number[] = [];
  const crossFitted = new Map<string, number[]>();
  folds.forEach((fold, f) => {
    const other = folds[1 - f]!;
    const best = alphas.reduce((b, a) => (ndcgOf(fuseAt(a, other)) > ndcgOf(fuseAt(b, other)) + 1e-12 ? a : b), alphas[0]!);
    chosen.push(best);
    for (const [q, docs] of fuseAt(best, fold)) crossFitted.set(q, docs);
  });
  record(
    'hybrid: weighted, alpha by 2-fold cross-fitting',
    new Map(queries.map((q) => [q.id, crossFitted.get(q.id)!])),
    `alpha ${chosen.join(' / ')} (fold of even / odd test threads, each chosen on the other)`,
  );
}

// ---------------------------------------------------------------- hybrid + rerank
const trainHelp = spawnSync(process.execPath, [bin, 'train', '--help'], { encoding: 'utf8' }).stdout;
let rerankNote = '';
if (/cross-encoder/.test(trainHelp)) {
  const { train } = splitThreads(readStackFaq());
  // (anchor, answer, 1) for the thread's answers; (anchor, answer, 0) for the 4 best BM25 answers of other threads.
  const rowsCe: { query: string; passage: string; label: number }[] = [];
  const idIndex = new Map(corpus.map((d, i) => [d.id, i]));
  for (const t of train) {
    const own = new Set(t.answers.map((_, j) => idIndex.get(answerId(t, j))!));
    for (const anchor of [...t.paraphrases, t.question]) {
      for (const a of t.answers) rowsCe.push({ query: anchor, passage: a, label: 1 });
      const negatives = bm25
        .search(anchor, 20)
        .map((h) => h.key)
        .filter((k) => !own.has(k))
        .slice(0, 4);
      for (const k of negatives) rowsCe.push({ query: anchor, passage: corpus[k]!.text, label: 0 });
    }
  }
  const ceTrain = join(work, 'cross-encoder-train.jsonl');
  writeFileSync(ceTrain, `${rowsCe.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const ceModel = join(work, 'tuna-cross-encoder');
  const ce = spawnSync(
    process.execPath,
    [
      bin,
      'train',
      '--task',
      'cross-encoder',
      '--model',
      base,
      '--train',
      ceTrain,
      '--output',
      ceModel,
      '--epochs',
      '1',
      '--batch-size',
      String(batchSize),
      '--lr',
      String(lr),
      '--warmup-steps',
      String(Math.ceil(rowsCe.length / batchSize / 10)),
      '--max-length',
      String(maxLength),
      '--seed',
      String(seed),
      '--threads',
      String(threads),
      '--progress',
      'none',
    ],
    { encoding: 'utf8' },
  );
  if (ce.status === 0) {
    const ranker = await pipeline('text-ranking', ceModel, { threads, batchSize, maxLength });
    const reranked = new Map<string, number[]>();
    for (const q of queries) {
      const candidates = hybrid.get(q.id)!;
      const head = candidates.slice(0, rerankTop);
      const scores = (await ranker.predict(head.map((d) => [q.text, corpus[d]!.text] as [string, string]))) as number[];
      const order = head.map((d, i) => ({ d, s: scores[i]! })).sort((a, b) => b.s - a.s);
      reranked.set(q.id, [...order.map((x) => x.d), ...candidates.slice(rerankTop)]);
    }
    await ranker.dispose();
    record(`hybrid (RRF) + cross-encoder rerank of top ${rerankTop}`, reranked, `${rowsCe.length} training pairs, BM25 hard negatives`);
  } else {
    rerankNote = `tuna train --task cross-encoder failed: ${ce.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  }
} else {
  rerankNote = 'not run: tuna train has no --task cross-encoder in this checkout';
}
if (rerankNote) console.error(`hybrid + rerank: ${rerankNote}`);

// ---------------------------------------------------------------- sentence-transformers
type StOut = { before: Record<string, number>; after: Record<string, number>; throughput: number; train_seconds: number; train_steps: number; versions: Record<string, string> };
let st: StOut | undefined;
if (args.python) {
  const stOut = join(work, 'st');
  const py = spawnSync(
    args.python,
    [
      join(root, 'tools', 'bench-retrieval-st.py'),
      '--split',
      splitDir,
      '--model',
      base,
      '--out',
      stOut,
      '--epochs',
      String(epochs),
      '--batch-size',
      String(batchSize),
      '--lr',
      String(lr),
      '--warmup-steps',
      String(warmupSteps),
      '--weight-decay',
      '0.01',
      '--max-length',
      String(maxLength),
      '--seed',
      String(seed),
      '--threads',
      String(threads),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (py.status !== 0) throw new Error(`tools/bench-retrieval-st.py failed:\n${py.stderr}`);
  st = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as StOut;
  rows.push({ name: 'sentence-transformers, tuna-small-en (mean pooling)', metrics: st.before });
  rows.push({ name: 'sentence-transformers MNRL fine-tuned', metrics: st.after });
  // Cross-check: the sentence-transformers rankings scored by tuna's metrics.
  for (const [name, metrics] of [
    ['st-before', st.before],
    ['st-after', st.after],
  ] as const) {
    const r = JSON.parse(readFileSync(join(stOut, `rankings-${name}.json`), 'utf8')) as Record<string, { id: string; score: number }[]>;
    const ours = retrievalMetricsJson(retrievalMetrics(new Map(Object.entries(r)), qrels));
    const worst = Math.max(...['ndcg@10', 'mrr@10', 'recall@10', 'map@100'].map((k) => Math.abs(ours[k]! - metrics[k]!)));
    console.error(`${name}: tuna metrics vs InformationRetrievalEvaluator on the same rankings: largest difference ${worst.toExponential(2)}`);
  }
}

// ---------------------------------------------------------------- report
const cols = ['ndcg@10', 'mrr@10', 'recall@10', 'map@100', 'recall@100'];
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`StackFAQ retrieval: ${files.counts.testQueries} test queries (${files.counts.testThreads} threads), ${files.counts.corpus} answers; ${threads} threads`);
console.log(`${''.padEnd(width)}  ${cols.map((c) => c.padStart(10)).join('')}`);
for (const r of rows) console.log(`${r.name.padEnd(width)}  ${cols.map((c) => (r.metrics[c] ?? Number.NaN).toFixed(4).padStart(10)).join('')}`);
if (rerankNote) console.log(`hybrid + rerank: ${rerankNote}`);
console.log(
  `recipe (both): MNRL, ${epochs} epoch(s), batch ${batchSize}, lr ${lr}, linear schedule, ${warmupSteps} warmup steps, weight decay 0.01, max length ${maxLength}, seed ${seed}`,
);
console.log(`training time: tuna ${tunaTrainSeconds.toFixed(1)} s${st ? `, sentence-transformers ${st.train_seconds.toFixed(1)} s` : ''}`);
console.log(
  `embedding throughput (${texts.length} texts, batch ${batchSize}, max length ${maxLength}, ${threads} threads): tuna ${tunaThroughput.toFixed(1)} texts/s${
    st ? `, sentence-transformers ${st.throughput.toFixed(1)} texts/s, ${(tunaThroughput / st.throughput).toFixed(2)}x` : ''
  }`,
);
const byName = (n: string) => rows.find((r) => r.name.startsWith(n))?.metrics['ndcg@10'];
const goals: Record<string, unknown> = {};
if (st) {
  const gap = byName('dense, tuna MNRL')! - st.after['ndcg@10']!;
  goals.fineTunedWithin002 = { tuna: byName('dense, tuna MNRL'), st: st.after['ndcg@10'], difference: gap, met: Math.abs(gap) <= 0.02 || gap > 0 };
  goals.throughput13x = { ratio: tunaThroughput / st.throughput, met: tunaThroughput / st.throughput >= 1.3 };
}
const singles = Math.max(byName('BM25')!, byName('dense, tuna MNRL')!);
goals.hybridAtLeastBestSingle = {
  rrf: byName('hybrid: RRF'),
  weighted: byName(`hybrid: ${alpha}`),
  weightedCrossFitted: byName('hybrid: weighted, alpha by'),
  bestSingle: singles,
  met: Math.max(byName('hybrid: RRF')!, byName(`hybrid: ${alpha}`)!, byName('hybrid: weighted, alpha by')!) >= singles,
};
console.log(`goals: ${JSON.stringify(goals)}`);
const report = {
  split: JSON.parse(readFileSync(files.split, 'utf8')),
  recipe,
  rows,
  rerank: rerankNote || undefined,
  throughput: { texts: texts.length, batchSize, maxLength, threads, tuna: tunaThroughput, sentenceTransformers: st?.throughput },
  trainSeconds: { tuna: tunaTrainSeconds, sentenceTransformers: st?.train_seconds },
  versions: st?.versions,
  goals,
};
writeFileSync(join(out, 'retrieval.json'), `${JSON.stringify(report, null, 1)}\n`);
console.log(`written: ${join(out, 'retrieval.json')}`);
if (!args.keep) rmSync(work, { recursive: true, force: true });
else console.log(`work files kept in ${work}`);

function run(what: string, argv: string[]): void {
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed:\n${r.stderr}`);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * b[j]!;
  return s;
}
