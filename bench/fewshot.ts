/**
 * Few-shot and zero-shot text classification from the bundled models (models/tuna-small-en for
 * SST-2 and CLINC150, models/tuna-small-zh for waimai_10k): accuracy of standard fine-tuning,
 * prompt-based fine-tuning, SetFit-style training and zero-shot classification with K labelled
 * examples per class, mean ± std over seeds, and seconds per run (training plus evaluation).
 *
 *   npm run bench:fewshot -- [--datasets sst2,clinc150,waimai10k] [--k 8,16,32] [--seeds 13,21,42,87,100]
 *     [--methods finetune,prompt,setfit,zeroshot-cloze,zeroshot-embedding] [--threads 1] [--test-size 1000]
 *     [--output bench/results/fewshot.json]
 *
 * Data (from /work/shared/datasets, or --data-dir):
 * - sst2: train_full.tsv is the pool, dev.tsv (872 sentences) the test set.
 * - clinc150: data_full.json, in-scope only (150 intents): "train" is the pool, "test" the test set.
 * - waimai10k: waimai_10k.csv shuffled with seed 7; its first 1,000 rows are the test set, the rest the pool.
 * The test set is at most --test-size examples: the first ones after a fixed shuffle (seed 0) of the test
 * split, the same for every run. The seed picks the K examples of each class from the pool (a seeded
 * shuffle of each class's examples) and seeds training (weights of new heads, dropout, batch order).
 *
 * Methods and their fixed settings (chosen before any run, never tuned on the test set); all use
 * max length 64, AdamW, linear decay without warmup, gradient clipping at 1, dropout 0.1:
 * - finetune: the Trainer with a fresh sequence-classification head; batch 8 for two classes, 16 for
 *   more; 20 epochs for two classes, 2 for 150 classes (80 and 300 steps at K=16); lr 3e-4 (tuna's
 *   default for hidden size 256); weight decay 0.01.
 * - prompt: trainPrompt (LM-BFF style; one template per dataset, see PROMPTS): batch and epochs as
 *   finetune, lr 1e-4, weight decay 0.01. CLINC150's label words are the words of the intent name
 *   (freeze_account: "freeze" and "account", a label scoring the mean of its words), leaving out words
 *   of more than 3 word pieces when the name has another (nutrition_info: "info"), since every distinct
 *   piece count is one more prompt per example.
 * - setfit: trainSetFit, mean pooling, batch 16, lr 1e-4, head C = 1; two classes: 10 pair iterations
 *   (SetFit's positive and negative pair per example and iteration), one epoch (40 steps at K=16); 150
 *   classes: 1 iteration, at most 150 steps.
 * - setfit-head, setfit-e2e: the body as setfit, then SetFit's differentiable head (a linear layer, cross-entropy,
 *   AdamW at a constant rate, weight decay 0.01, head lr 1e-2) instead of the logistic regression, on frozen
 *   embeddings (setfit-head) or with the body trained at lr 5e-5 (setfit-e2e); two classes: SetFit's defaults of
 *   16 epochs of batch 2 (256 steps at K=16); 150 classes: 4 epochs of batch 16 (600 steps at K=16).
 * - zeroshot-cloze: the zero-shot pipeline in cloze mode with the prompt method's template and
 *   verbalizer, on the untrained masked LM (no examples: one run per dataset, K and seed do not apply).
 * - zeroshot-embedding: the zero-shot pipeline in embedding mode (mean-pooled embeddings of the
 *   untrained model) against label descriptions (see DESCRIPTIONS); one run per dataset.
 *
 * Results are merged into --output after every run (a run is keyed by dataset, K, seed and method),
 * so an interrupted or partial benchmark keeps what it measured.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Feature, LabelMap, loadTextExamples, shuffle } from '../src/data/index.js';
import { savePromptModel, trainPrompt } from '../src/fewshot/prompt.js';
import { trainSetFit } from '../src/fewshot/setfit.js';
import { AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer } from '../src/models/auto.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import type { Tokenizer } from '../src/models/registry.js';
import { pipeline } from '../src/pipelines/pipeline.js';
import { wordPieces } from '../src/pipelines/zero-shot-cloze.js';
import { defaultLayout } from '../src/sentence/model.js';
import { predictDataset } from '../src/train/evaluate.js';
import { Trainer } from '../src/train/trainer.js';

const root = resolve(new URL('..', import.meta.url).pathname);
const { values: args } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'sst2,clinc150,waimai10k' },
    k: { type: 'string', default: '16' },
    seeds: { type: 'string', default: '13,21,42,87,100' },
    methods: { type: 'string', default: 'finetune,prompt,setfit,zeroshot-cloze,zeroshot-embedding' },
    threads: { type: 'string', default: '1' },
    'test-size': { type: 'string', default: '1000' },
    output: { type: 'string', default: join(root, 'bench/results/fewshot.json') },
    'data-dir': { type: 'string', default: join(root, '../shared/datasets') },
  },
});

const METHODS = ['finetune', 'prompt', 'setfit', 'setfit-head', 'setfit-e2e', 'zeroshot-cloze', 'zeroshot-embedding'] as const;
type Method = (typeof METHODS)[number];
const ZERO_SHOT: readonly Method[] = ['zeroshot-cloze', 'zeroshot-embedding'];
const MAX_LENGTH = 64;

interface Example {
  readonly text: string;
  readonly label: string;
}

interface Dataset {
  readonly name: string;
  readonly model: string;
  /** Class names in id order. */
  readonly labels: readonly string[];
  readonly pool: readonly Example[];
  readonly test: readonly Example[];
  /** Cloze template with {text} and {mask}. */
  readonly template: string;
  readonly verbalizer: Readonly<Record<string, readonly string[]>>;
  /** Embedding zero-shot: each label's description. */
  readonly descriptions: Readonly<Record<string, string>>;
}

/** The prompt of each dataset (PET / LM-BFF style). */
const PROMPTS = {
  sst2: { template: '{text} it was {mask} .', words: { negative: ['terrible'], positive: ['great'] } },
  waimai10k: { template: '{text}。总之很{mask}。', words: { negative: ['差'], positive: ['好'] } },
  clinc150: { template: '{text} ? the topic is {mask} .' },
} as const;

/** Zero-shot embedding: the description of a label. */
const DESCRIPTIONS = {
  sst2: { negative: 'it was terrible .', positive: 'it was great .' },
  waimai10k: { negative: '很差，不好吃。', positive: '很好，好吃。' },
} as const;

async function loadDataset(name: string, dataDir: string, testSize: number): Promise<Dataset> {
  const sample = (xs: readonly Example[]) => shuffle(xs, 0).slice(0, testSize);
  if (name === 'sst2') {
    const read = async (f: string) =>
      (await loadTextExamples(join(dataDir, 'sst2', f), { columns: { text: 'sentence', label: 'label' } })).map((e) => ({
        text: e.text.trim(),
        label: e.label === '1' ? 'positive' : 'negative',
      }));
    return {
      name,
      model: join(root, 'models/tuna-small-en'),
      labels: ['negative', 'positive'],
      pool: await read('train_full.tsv'),
      test: sample(await read('dev.tsv')),
      template: PROMPTS.sst2.template,
      verbalizer: PROMPTS.sst2.words,
      descriptions: DESCRIPTIONS.sst2,
    };
  }
  if (name === 'waimai10k') {
    const all = shuffle(
      (await loadTextExamples(join(dataDir, 'waimai10k', 'waimai_10k.csv'), { columns: { text: 'review', label: 'label' } })).map((e) => ({
        text: e.text,
        label: e.label === '1' ? 'positive' : 'negative',
      })),
      7,
    );
    return {
      name,
      model: join(root, 'models/tuna-small-zh'),
      labels: ['negative', 'positive'],
      pool: all.slice(1000),
      test: sample(all.slice(0, 1000)),
      template: PROMPTS.waimai10k.template,
      verbalizer: PROMPTS.waimai10k.words,
      descriptions: DESCRIPTIONS.waimai10k,
    };
  }
  if (name === 'clinc150') {
    const raw = JSON.parse(readFileSync(join(dataDir, 'clinc150', 'data_full.json'), 'utf8')) as Record<string, [string, string][]>;
    const split = (key: string) => raw[key]!.map(([text, label]) => ({ text, label }));
    const pool = split('train');
    const labels = [...new Set(pool.map((e) => e.label))].sort();
    const phrase = (intent: string) => intent.split('_').join(' ');
    const tokenizer = await AutoTokenizer.fromPretrained(join(root, 'models/tuna-small-en'));
    const pieces = (word: string) => wordPieces(tokenizer, word, 'clinc150 label word').length;
    // Each word of the intent name is a word of the label; words of more than 3 pieces are left out
    // when the name has another (each distinct piece count is one more prompt per example).
    const wordsOf = (intent: string) => {
      const words = intent.split('_');
      const short = words.filter((w) => pieces(w) <= 3);
      return short.length ? short : [words.sort((a, b) => pieces(a) - pieces(b))[0]!];
    };
    return {
      name,
      model: join(root, 'models/tuna-small-en'),
      labels,
      pool,
      test: sample(split('test')),
      template: PROMPTS.clinc150.template,
      verbalizer: Object.fromEntries(labels.map((l) => [l, wordsOf(l)])),
      descriptions: Object.fromEntries(labels.map((l) => [l, `the topic is ${phrase(l)} .`])),
    };
  }
  throw new Error(`--datasets: unknown dataset "${name}"; choose from sst2, clinc150, waimai10k`);
}

/** K examples of each class, drawn with `seed`. */
function fewShot(data: Dataset, k: number, seed: number): Example[] {
  return shuffle(
    data.labels.flatMap((label) =>
      shuffle(
        data.pool.filter((e) => e.label === label),
        seed,
      ).slice(0, k),
    ),
    seed,
  );
}

function features(tokenizer: Tokenizer, examples: readonly Example[], labels: LabelMap): Feature[] {
  return examples.map((e, i) => {
    const enc = tokenizer.encode(e.text, undefined, { maxLength: MAX_LENGTH, truncation: true });
    return { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), labels: labels.id(e.label, { file: 'train', line: i + 1 }), line: i + 1 };
  });
}

const accuracyOf = (predicted: readonly string[], test: readonly Example[]) => predicted.filter((p, i) => p === test[i]!.label).length / test.length;

interface Budget {
  readonly batchSize: number;
  readonly epochs: number;
}
/** Batch and epochs of finetune and prompt: fixed per number of classes. */
const budget = (classes: number): Budget => (classes === 2 ? { batchSize: 8, epochs: 20 } : { batchSize: 16, epochs: 2 });

interface RunResult {
  accuracy: number;
  trainSeconds: number;
  evalSeconds: number;
  steps?: number;
}

async function runMethod(method: Method, data: Dataset, train: readonly Example[], seed: number, threads: number, work: string): Promise<RunResult> {
  const labelIds = new Map(data.labels.map((l, i) => [l, i]));
  const texts = data.test.map((e) => e.text);
  const started = performance.now();
  const timed = async (train: () => Promise<number | undefined>, evaluate: () => Promise<string[]>): Promise<RunResult> => {
    const steps = await train();
    const trained = performance.now();
    const predicted = await evaluate();
    return {
      accuracy: accuracyOf(predicted, data.test),
      trainSeconds: (trained - started) / 1000,
      evalSeconds: (performance.now() - trained) / 1000,
      ...(steps === undefined ? {} : { steps }),
    };
  };
  const { batchSize, epochs } = budget(data.labels.length);
  if (method === 'finetune') {
    const labels = LabelMap.fromExamples([...data.labels]);
    let model: PreTrainedModel | undefined;
    try {
      return await timed(
        async () => {
          model = await AutoModelForSequenceClassification.fromPretrained(data.model, { id2label: labels.toConfig().id2label, seed, threads });
          const tokenizer = await model.loadTokenizer();
          const trainer = new Trainer({
            model,
            args: {
              outputDir: join(work, 'finetune'),
              numTrainEpochs: epochs,
              perDeviceTrainBatchSize: batchSize,
              learningRate: 3e-4,
              warmupRatio: 0,
              weightDecay: 0.01,
              seed,
              threads,
              evalStrategy: 'no',
              saveStrategy: 'no',
              progress: 'none',
            },
            trainDataset: features(tokenizer, train, labels),
          });
          const out = await trainer.train();
          return (out as { globalStep?: number }).globalStep;
        },
        async () => {
          const tokenizer = await model!.loadTokenizer();
          const { prediction } = await predictDataset(model!, features(tokenizer, data.test, labels), { batchSize: 64 });
          return prediction.logits.map((l) => labels.label(l.indexOf(Math.max(...l))));
        },
      );
    } finally {
      await model?.dispose();
    }
  }
  if (method === 'prompt') {
    const dir = join(work, 'prompt');
    const config = { templates: [data.template], labels: data.labels, verbalizer: data.verbalizer };
    return timed(
      async () => {
        const model = await AutoModelForMaskedLM.fromPretrained(data.model, { seed, threads });
        try {
          const tokenizer = await AutoTokenizer.fromPretrained(data.model);
          const result = await trainPrompt({
            model,
            tokenizer,
            config,
            examples: train.map((e) => ({ text: e.text, label: labelIds.get(e.label)! })),
            batchSize,
            epochs,
            learningRate: 1e-4,
            weightDecay: 0.01,
            maxLength: MAX_LENGTH,
            seed,
            threads,
          });
          await savePromptModel(dir, model, tokenizer, config);
          return result.steps;
        } finally {
          await model.dispose();
        }
      },
      () => classify(dir, texts, threads),
    );
  }
  if (method === 'setfit' || method === 'setfit-head' || method === 'setfit-e2e') {
    const dir = join(work, 'setfit');
    const two = data.labels.length === 2;
    const differentiable =
      method === 'setfit'
        ? {}
        : {
            head: 'differentiable' as const,
            endToEnd: method === 'setfit-e2e',
            headLearningRate: 1e-2,
            bodyLearningRate: 5e-5,
            l2Weight: 0.01,
            headEpochs: two ? 16 : 4,
            headBatchSize: two ? 2 : 16,
          };
    return timed(
      async () => {
        const model = await PreTrainedModel.fromPretrained(data.model, { head: 'encoder', seed, threads });
        try {
          const tokenizer = await model.loadTokenizer();
          tokenizer.modelMaxLength = MAX_LENGTH;
          const result = await trainSetFit({
            model,
            tokenizer,
            layout: defaultLayout(model.config.hidden_size, { modes: ['mean'] }),
            examples: train.map((e) => ({ text: e.text, label: labelIds.get(e.label)! })),
            labels: data.labels,
            output: dir,
            iterations: data.labels.length === 2 ? 10 : 1,
            batchSize: 16,
            epochs: 1,
            ...(data.labels.length === 2 ? {} : { maxSteps: 150 }),
            learningRate: 1e-4,
            maxLength: MAX_LENGTH,
            C: 1,
            ...differentiable,
            seed,
            threads,
          });
          return result.body.steps + (result.headTraining?.steps ?? 0);
        } finally {
          await model.dispose();
        }
      },
      () => classify(dir, texts, threads),
    );
  }
  const mode = method === 'zeroshot-cloze' ? 'cloze' : 'embedding';
  return timed(
    async () => undefined,
    async () => {
      const zs = await pipeline('zero-shot-classification', data.model, { mode, threads });
      try {
        const candidates = [...data.labels];
        const results =
          mode === 'cloze'
            ? await zs.runBatch(texts, { candidateLabels: candidates, template: data.template, verbalizer: data.verbalizer, batchSize: 64 })
            : await zs.runBatch(texts, { candidateLabels: candidates.map((l) => data.descriptions[l]!), hypothesisTemplate: '{}', batchSize: 64 });
        const byDescription = new Map(data.labels.map((l) => [data.descriptions[l]!, l]));
        return results.map((r) => (mode === 'cloze' ? r.labels[0]! : byDescription.get(r.labels[0]!)!));
      } finally {
        await zs.dispose();
      }
    },
  );
}

/** The labels a trained directory's text-classification pipeline predicts for `texts`. */
async function classify(dir: string, texts: readonly string[], threads: number): Promise<string[]> {
  const classifier = await pipeline('text-classification', dir, { threads });
  try {
    const results = (await classifier.runBatch(texts, { batchSize: 64 })) as { label: string }[][];
    return results.map((r) => r[0]!.label);
  } finally {
    await classifier.dispose();
  }
}

interface RunRecord extends RunResult {
  dataset: string;
  /** 0 for the zero-shot methods. */
  k: number;
  /** null for the zero-shot methods. */
  seed: number | null;
  method: Method;
  seconds: number;
  testSize: number;
  trainExamples: number;
}

interface SummaryRow {
  dataset: string;
  k: number;
  method: Method;
  runs: number;
  seeds: (number | null)[];
  mean: number;
  std: number;
  secondsPerRun: number;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
/** Sample standard deviation (n - 1); 0 for one run. */
const std = (xs: readonly number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

function summarize(runs: readonly RunRecord[]): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = `${r.dataset}\u0000${r.k}\u0000${r.method}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()]
    .map((g) => ({
      dataset: g[0]!.dataset,
      k: g[0]!.k,
      method: g[0]!.method,
      runs: g.length,
      seeds: g.map((r) => r.seed),
      mean: mean(g.map((r) => r.accuracy)),
      std: std(g.map((r) => r.accuracy)),
      secondsPerRun: mean(g.map((r) => r.seconds)),
    }))
    .sort((a, b) => a.dataset.localeCompare(b.dataset) || a.k - b.k || METHODS.indexOf(a.method) - METHODS.indexOf(b.method));
}

function table(rows: readonly SummaryRow[]): string {
  const lines = ['| dataset | K | method | runs | accuracy (mean ± std) | s/run |', '| --- | ---: | --- | ---: | --- | ---: |'];
  for (const r of rows) {
    lines.push(
      `| ${r.dataset} | ${r.k === 0 ? '0 (zero-shot)' : r.k} | ${r.method} | ${r.runs} | ${(100 * r.mean).toFixed(1)} ± ${(100 * r.std).toFixed(1)} | ${r.secondsPerRun.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const datasets = list(args.datasets!);
const ks = list(args.k!).map(Number);
const seeds = list(args.seeds!).map(Number);
const methods = list(args.methods!) as Method[];
for (const m of methods) if (!METHODS.includes(m)) throw new Error(`--methods: unknown method "${m}"; choose from ${METHODS.join(', ')}`);
const threads = Number(args.threads);
const testSize = Number(args['test-size']);
const output = resolve(args.output!);

const previous = existsSync(output) ? (JSON.parse(readFileSync(output, 'utf8')) as { runs?: RunRecord[] }) : {};
const runs: RunRecord[] = previous.runs ?? [];
const keyOf = (r: Pick<RunRecord, 'dataset' | 'k' | 'seed' | 'method'>) => `${r.dataset}/${r.k}/${r.seed}/${r.method}`;

/** Merges this process's runs into --output (re-read first: another process may be writing other runs). */
function save(mine: RunRecord): void {
  const onDisk = existsSync(output) ? ((JSON.parse(readFileSync(output, 'utf8')) as { runs?: RunRecord[] }).runs ?? []) : [];
  for (const r of onDisk) {
    const at = runs.findIndex((x) => keyOf(x) === keyOf(r));
    if (at < 0) runs.push(r);
    else if (keyOf(r) !== keyOf(mine)) runs[at] = r;
  }
  const summary = summarize(runs);
  const json = {
    benchmark: 'bench/fewshot.ts',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    settings: {
      threads,
      testSize,
      maxLength: MAX_LENGTH,
      test: 'sst2: dev.tsv (872); clinc150: test, in-scope (4,500), first 1,000 after shuffle seed 0; waimai10k: first 1,000 rows after shuffle seed 7',
      finetune: 'Trainer, lr 3e-4, weight decay 0.01, no warmup; 2 classes: batch 8, 20 epochs; 150 classes: batch 16, 2 epochs',
      prompt: 'trainPrompt, lr 1e-4, weight decay 0.01; batch and epochs as finetune',
      setfit: 'trainSetFit, mean pooling, batch 16, lr 1e-4, head C 1; 2 classes: 10 pair iterations, 1 epoch; 150 classes: 1 iteration, at most 150 steps',
      'setfit-head':
        'the setfit body, then the differentiable head on frozen embeddings: head lr 1e-2, weight decay 0.01, constant rate; 2 classes: 16 epochs of batch 2; 150 classes: 4 epochs of batch 16',
      'setfit-e2e': 'as setfit-head, the body trained with the head at lr 5e-5',
      zeroshot: 'K = 0, no seed: cloze with the prompt template and verbalizer; embedding against label descriptions',
      prompts: PROMPTS,
      descriptions: DESCRIPTIONS,
    },
    summary,
    runs,
  };
  writeFileSync(`${output}.${process.pid}`, `${JSON.stringify(json, null, 2)}\n`);
  renameSync(`${output}.${process.pid}`, output);
}

for (const name of datasets) {
  const data = await loadDataset(name, args['data-dir']!, testSize);
  const plan: { k: number; seed: number | null; method: Method }[] = [];
  for (const method of methods.filter((m) => ZERO_SHOT.includes(m))) plan.push({ k: 0, seed: null, method });
  for (const k of ks) for (const seed of seeds) for (const method of methods.filter((m) => !ZERO_SHOT.includes(m))) plan.push({ k, seed, method });
  for (const { k, seed, method } of plan) {
    const train = seed === null ? [] : fewShot(data, k, seed);
    const work = mkdtempSync(join(tmpdir(), 'tuna-bench-fewshot-'));
    try {
      const result = await runMethod(method, data, train, seed ?? 0, threads, work);
      const record: RunRecord = {
        dataset: name,
        k,
        seed,
        method,
        ...result,
        seconds: result.trainSeconds + result.evalSeconds,
        testSize: data.test.length,
        trainExamples: train.length,
      };
      const at = runs.findIndex((r) => keyOf(r) === keyOf(record));
      if (at >= 0) runs[at] = record;
      else runs.push(record);
      save(record);
      console.log(
        `${name}\tK=${k}\tseed ${seed ?? '-'}\t${method}\taccuracy ${(100 * result.accuracy).toFixed(1)}\ttrain ${result.trainSeconds.toFixed(1)} s\teval ${result.evalSeconds.toFixed(1)} s`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
console.log(`\n${table(summarize(runs))}\n\nwritten to ${output}`);
