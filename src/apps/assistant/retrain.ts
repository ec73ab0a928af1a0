/**
 * Retraining from feedback: the stored corrections, confirmations, new intents and unhelpful
 * replies join the configuration's examples, and the intent classifier continues from the current
 * version's weights (its head extended by one row per new intent) for a few epochs; calibration,
 * thresholds and the FAQ index are fitted again as `trainAssistant` fits them, and the result
 * becomes the next version (written atomically, then made current).
 */
import { randomBytes } from 'node:crypto';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type NamedTensor, pipeline, readCheckpoint, writeCheckpoint } from '../../index.js';
import { type AssistantConfig, type IntentConfig, OUT_OF_SCOPE_CLASS } from './config.js';
import { AssistantError } from './errors.js';
import { openAssistantStore } from './postgres-store.js';
import type { AssistantStore, FeedbackRecord } from './store.js';
import { type AssistantManifest, type TrainAssistantResult, trainAssistant } from './train.js';
import { CLASSIFIER_DIR, MANIFEST, resolveVersionDir } from './versions.js';

/** What the feedback adds to the configuration. */
export interface FeedbackExamples {
  /** Utterances per intent: corrections (`intent` differs from the reply's), new intents' examples and confirmed replies. */
  readonly examples: ReadonlyMap<string, readonly string[]>;
  /** Intents named by feedback that are neither in the configuration nor in the current version. */
  readonly newIntents: readonly string[];
  /** User messages whose reply was marked unhelpful without a corrected intent: out-of-scope examples for the rule. */
  readonly outOfScope: readonly string[];
  readonly corrections: number;
  readonly confirmations: number;
}

/**
 * Sorts feedback into training material: a feedback `intent` labels the user message with it
 * (a correction, or an example of a new intent); a helpful reply confirms its intent; an unhelpful
 * one without an intent makes the message an out-of-scope example.
 */
export function feedbackExamples(records: readonly FeedbackRecord[], knownIntents: ReadonlySet<string>): FeedbackExamples {
  const examples = new Map<string, string[]>();
  const outOfScope: string[] = [];
  let corrections = 0;
  let confirmations = 0;
  const add = (intent: string, text: string) => {
    const list = examples.get(intent) ?? [];
    if (!list.includes(text)) list.push(text);
    examples.set(intent, list);
  };
  for (const f of records) {
    const text = f.userText?.trim();
    if (!text) continue;
    if (f.intent) {
      add(f.intent, text);
      if (f.intent === f.predictedIntent) confirmations++;
      else corrections++;
    } else if (f.helpful && f.predictedIntent) {
      add(f.predictedIntent, text);
      confirmations++;
    } else if (!f.helpful && !outOfScope.includes(text)) {
      outOfScope.push(text);
    }
  }
  const newIntents = [...examples.keys()].filter((i) => !knownIntents.has(i)).sort();
  return { examples, newIntents, outOfScope, corrections, confirmations };
}

/** Options of {@link retrainAssistant}. */
export interface RetrainOptions {
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /**
   * `head` (default): the encoder stays as it is and only the classification head is fitted on its
   * pooled features (seconds); `full`: the whole classifier continues fine-tuning (minutes).
   */
  readonly mode?: 'head' | 'full';
  /** Epochs: of head fitting (default 30) or of continued fine-tuning (default 2). */
  readonly epochs?: number;
  /** The store to read the feedback from (default: the configuration's `database`). */
  readonly store?: AssistantStore;
}

/** What {@link retrainAssistant} returns. */
export interface RetrainResult extends TrainAssistantResult {
  /** The version retraining started from. */
  readonly from: number;
  readonly feedback: Omit<FeedbackExamples, 'examples'> & { readonly examples: number; readonly skippedIntents: readonly string[] };
  /** Seconds from start to the new version being current. */
  readonly seconds: number;
}

/**
 * The configuration with the feedback's examples added; new intents get the current version's
 * response when it has one, else the handoff (the fallback text, `action: "handoff"`) until the
 * configuration defines them.
 */
export function configWithFeedback(
  config: AssistantConfig,
  fb: FeedbackExamples,
  current: AssistantManifest,
  log: (line: string) => void = () => {},
): { config: AssistantConfig; skipped: string[] } {
  const skipped: string[] = [];
  const intents: IntentConfig[] = config.intents.map((it) => ({ ...it, examples: [...new Set([...it.examples, ...(fb.examples.get(it.name) ?? [])])] }));
  const configured = new Set(config.intents.map((i) => i.name));
  for (const [name, examples] of [...fb.examples].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (configured.has(name)) continue;
    if (examples.length < 2) {
      skipped.push(name);
      log(`intent "${name}" from feedback has ${examples.length} example; it is trained once it has 2 (or add it to ${config.file})`);
      continue;
    }
    const known = current.responses[name];
    const reply = known && (known.response !== undefined || known.action !== undefined) ? known : { response: config.messages.fallback, action: 'handoff' };
    if (!known) log(`new intent "${name}" from feedback (${examples.length} examples) answers with the handoff until ${config.file} gives it a response`);
    intents.push({ name, examples: [...examples], ...reply });
  }
  return { config: { ...config, intents, outOfScope: [...config.outOfScope, ...fb.outOfScope.filter((t) => !config.outOfScope.includes(t))] }, skipped };
}

/**
 * A copy of a classifier checkpoint whose head has the rows of `labels` (in that order): rows of
 * intents it knows are kept, rows of new intents start at zero weight and the mean bias, so every
 * new intent begins as an even guess and the encoder keeps what it learnt.
 */
export async function extendClassifier(from: string, to: string, labels: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
  await cp(from, to, { recursive: true });
  const ck = await readCheckpoint(from);
  const id2label = (ck.config.id2label ?? {}) as Record<string, string>;
  const old = Object.keys(id2label)
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => id2label[String(i)]!);
  const w = ck.tensors.get('classifier.weight');
  const b = ck.tensors.get('classifier.bias');
  if (!w || !b || w.shape.length !== 2 || w.shape[0] !== old.length)
    throw new AssistantError('invalid_model', `${from}: not a sequence classifier with one head row per label (classifier.weight/bias)`, { file: from });
  const hidden = w.shape[1]!;
  const oldW = w.data as Float32Array;
  const oldB = b.data as Float32Array;
  const meanBias = oldB.reduce((s, v) => s + v, 0) / Math.max(1, oldB.length);
  const weight = new Float32Array(labels.length * hidden);
  const bias = new Float32Array(labels.length).fill(meanBias);
  const index = new Map(old.map((l, i) => [l, i]));
  labels.forEach((l, row) => {
    const i = index.get(l);
    if (i === undefined) return;
    weight.set(oldW.subarray(i * hidden, (i + 1) * hidden), row * hidden);
    bias[row] = oldB[i]!;
  });
  const tensors = new Map<string, NamedTensor>(ck.tensors);
  tensors.set('classifier.weight', { shape: [labels.length, hidden], data: weight });
  tensors.set('classifier.bias', { shape: [labels.length], data: bias });
  const config = {
    ...ck.config,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
  await writeCheckpoint(to, { config, tensors });
  const wanted = new Set(labels);
  return { added: labels.filter((l) => !index.has(l)), removed: old.filter((l) => !wanted.has(l)) };
}

/**
 * Retrains the assistant in `modelDir` from its current version and the stored feedback, and makes
 * the new version current (a running `tuna assistant serve` switches to it).
 *
 * @throws AssistantError `invalid_model` when `modelDir` has no current version; `store_error` when the store cannot be read.
 */
export async function retrainAssistant(config: AssistantConfig, modelDir: string, opts: RetrainOptions = {}): Promise<RetrainResult> {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const { dir: currentDir, version: from } = await resolveVersionDir(modelDir);
  if (from === undefined)
    throw new AssistantError('invalid_model', `${modelDir}: a version directory, not a model directory; retrain the directory that holds current and versions/`, {
      file: modelDir,
    });
  const current = JSON.parse(await readFile(join(currentDir, MANIFEST), 'utf8')) as AssistantManifest;

  const store = opts.store ?? openAssistantStore(config.database);
  let records: FeedbackRecord[];
  try {
    records = await store.feedback();
  } finally {
    if (!opts.store) await store.close();
  }
  const known = new Set([...config.intents.map((i) => i.name), ...current.intents]);
  const fb = feedbackExamples(records, known);
  const { config: merged, skipped } = configWithFeedback(config, fb, current, log);
  const added = [...fb.examples.values()].reduce((n, l) => n + l.length, 0);
  log(
    `feedback: ${records.length} records; ${fb.corrections} corrections, ${fb.confirmations} confirmations, ${fb.newIntents.length} new intents (${fb.newIntents.join(', ') || 'none'}), ${fb.outOfScope.length} unhelpful replies as out-of-scope examples`,
  );

  const intentNames = [...new Set(merged.intents.map((i) => i.name))].sort();
  const labels = merged.outOfScopeClass ? [...intentNames, OUT_OF_SCOPE_CLASS] : intentNames;
  const warm = join(modelDir, `.retrain-${randomBytes(4).toString('hex')}`);
  try {
    const head = await extendClassifier(join(currentDir, CLASSIFIER_DIR), warm, labels);
    log(`continuing from version ${from}: head rows added for ${head.added.join(', ') || 'no intent'}${head.removed.length ? `, dropped for ${head.removed.join(', ')}` : ''}`);
    const mode = opts.mode ?? 'head';
    const threads = merged.training.threads;
    const r =
      mode === 'full'
        ? await trainAssistant(merged, modelDir, { log, from: warm, epochs: opts.epochs ?? 2 })
        : await trainAssistant(merged, modelDir, {
            log,
            from: warm,
            fitClassifier: (job) => fitHead(job, { epochs: opts.epochs ?? 30, seed: merged.training.seed, ...(threads !== undefined ? { threads } : {}) }),
          });
    return {
      ...r,
      from,
      feedback: { newIntents: fb.newIntents, outOfScope: fb.outOfScope, corrections: fb.corrections, confirmations: fb.confirmations, examples: added, skippedIntents: skipped },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await rm(warm, { recursive: true, force: true });
  }
}

/** The pooler of a BERT classifier: tanh(W x + b) of the [CLS] vector, as the classifier computes it. */
function pool(cls: readonly number[][], w: Float32Array, b: Float32Array, hidden: number): Float32Array[] {
  return cls.map((x) => {
    const out = new Float32Array(hidden);
    for (let o = 0; o < hidden; o++) {
      let s = b[o]!;
      const row = o * hidden;
      for (let i = 0; i < hidden; i++) s += w[row + i]! * x[i]!;
      out[o] = Math.tanh(s);
    }
    return out;
  });
}

/**
 * Fits the classification head of `job.from` (whose labels are `job.labels`) on the pooled
 * features of the training texts, the encoder unchanged: softmax regression from the current head,
 * Adam (learning rate 0.003, batch 32), and writes the checkpoint into `job.to`.
 */
export async function fitHead(
  job: { from: string; to: string; train: readonly { readonly text: string; readonly label: string }[]; labels: readonly string[] },
  opts: { epochs: number; seed: number; threads?: number },
): Promise<{ globalStep: number; trainingLoss: number; learningRate: number }> {
  const ck = await readCheckpoint(job.from);
  const pw = ck.tensors.get('bert.pooler.dense.weight');
  const pb = ck.tensors.get('bert.pooler.dense.bias');
  const cw = ck.tensors.get('classifier.weight');
  const cb = ck.tensors.get('classifier.bias');
  if (!pw || !pb || !cw || !cb || cw.shape[0] !== job.labels.length)
    throw new AssistantError('invalid_model', `${job.from}: not a BERT sequence classifier with a pooler and ${job.labels.length} head rows; retrain with --mode full`, {
      file: job.from,
    });
  const H = cw.shape[1]!;
  const C = job.labels.length;
  const fe = await pipeline('feature-extraction', job.from, opts.threads === undefined ? {} : { threads: opts.threads });
  let cls: number[][];
  try {
    cls = await fe.runBatch(
      job.train.map((u) => u.text),
      { pooling: 'cls' },
    );
  } finally {
    await fe.dispose();
  }
  const X = pool(cls, pw.data as Float32Array, pb.data as Float32Array, H);
  const index = new Map(job.labels.map((l, i) => [l, i]));
  const y = job.train.map((u) => index.get(u.label)!);
  const W = Float32Array.from(cw.data as Float32Array);
  const B = Float32Array.from(cb.data as Float32Array);
  const mW = new Float32Array(W.length);
  const vW = new Float32Array(W.length);
  const mB = new Float32Array(C);
  const vB = new Float32Array(C);
  const gW = new Float32Array(W.length);
  const gB = new Float32Array(C);
  const lr = 0.003;
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const batch = 32;
  let seed = opts.seed * 2654435761 + 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const order = X.map((_, i) => i);
  const logits = new Float32Array(C);
  let step = 0;
  let lossSum = 0;
  let lossCount = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < order.length; start += batch) {
      const members = order.slice(start, start + batch);
      gW.fill(0);
      gB.fill(0);
      for (const n of members) {
        const x = X[n]!;
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < C; c++) {
          let s = B[c]!;
          const row = c * H;
          for (let h = 0; h < H; h++) s += W[row + h]! * x[h]!;
          logits[c] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(logits[c]! - max);
        if (epoch === opts.epochs - 1) {
          lossSum += Math.log(sum) + max - logits[y[n]!]!;
          lossCount++;
        }
        for (let c = 0; c < C; c++) {
          const g = (Math.exp(logits[c]! - max) / sum - (c === y[n] ? 1 : 0)) / members.length;
          gB[c]! += g;
          const row = c * H;
          for (let h = 0; h < H; h++) gW[row + h]! += g * x[h]!;
        }
      }
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let k = 0; k < W.length; k++) {
        mW[k] = beta1 * mW[k]! + (1 - beta1) * gW[k]!;
        vW[k] = beta2 * vW[k]! + (1 - beta2) * gW[k]! * gW[k]!;
        W[k]! -= (lr * (mW[k]! / c1)) / (Math.sqrt(vW[k]! / c2) + eps);
      }
      for (let c = 0; c < C; c++) {
        mB[c] = beta1 * mB[c]! + (1 - beta1) * gB[c]!;
        vB[c] = beta2 * vB[c]! + (1 - beta2) * gB[c]! * gB[c]!;
        B[c]! -= (lr * (mB[c]! / c1)) / (Math.sqrt(vB[c]! / c2) + eps);
      }
    }
  }
  await cp(job.from, job.to, { recursive: true });
  const tensors = new Map<string, NamedTensor>(ck.tensors);
  tensors.set('classifier.weight', { shape: [C, H], data: W });
  tensors.set('classifier.bias', { shape: [C], data: B });
  await writeCheckpoint(job.to, { config: ck.config, tensors });
  return { globalStep: step, trainingLoss: lossSum / Math.max(1, lossCount), learningRate: lr };
}
