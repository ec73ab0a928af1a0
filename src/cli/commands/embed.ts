/**
 * `tuna embed`: sentence embeddings of texts with a model's own pooling, Dense modules,
 * normalisation and prompts (a sentence-transformers directory), or the mean of the tokens of a
 * plain checkpoint.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { DataError, loadTextExamples } from '../../data/index.js';
import { decodedLineBatches } from '../../data/lines.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { resolveModel } from '../../io/hub.js';
import { bundledModelDir, detectLanguage, hasBundledModel } from '../../models/bundled.js';
import { PreTrainedModel } from '../../models/pretrained-model.js';
import { type SentencePooling, featureExtractionPipeline } from '../../pipelines/feature-extraction.js';
import { type SentenceDataset, readSentenceDataset } from '../../sentence/data.js';
import { type PoolingMode, type SentenceLayout, embeddingDimension, readSentenceLayout } from '../../sentence/layout.js';
import { SENTENCE_LOSSES, type SentenceLossName, type SentenceLossOptions, checkLoss } from '../../sentence/losses.js';
import { defaultLayout, saveSentenceTransformer } from '../../sentence/model.js';
import { trainSentenceEmbedding } from '../../sentence/train.js';
import { defaultLearningRate } from '../../train/arguments.js';
import { listCheckpoints, readTrainerState, rotateCheckpoints, writeCheckpointDir } from '../../train/checkpoints.js';
import { prepareOutputDir } from '../../train/output-dir.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { packageVersion } from '../../io/version.js';
import { asError, choice, integer, number } from './options.js';
import { inLockedOutput } from './run-start.js';

/** Options of `tuna embed`, as commander parses them. */
export interface EmbedOptions {
  readonly model: string;
  readonly revision?: string;
  readonly text?: string[];
  readonly input?: string;
  readonly textColumn?: string;
  readonly json?: boolean;
  readonly promptName?: string;
  readonly prompt?: string;
  /** `--normalize` / `--no-normalize`; undefined: the model's own choice. */
  readonly normalize?: boolean;
  readonly pooling?: string;
  readonly batchSize?: string;
  readonly maxLength?: string;
  readonly threads?: string;
}

const TABLE_EXTENSIONS = new Set(['.csv', '.tsv', '.jsonl']);

/** The texts of `--text` (repeatable) or `--input` (one per line, a CSV/TSV/JSONL column, or - for standard input). */
async function readTexts(o: EmbedOptions, out: Output): Promise<string[]> {
  if ((o.text === undefined) === (o.input === undefined)) throw new CliError('usage', 'give --text (one or more) or --input, not both');
  if (o.text !== undefined) {
    for (const t of o.text) if (t.trim() === '') throw new CliError('usage', '--text is empty; give a text with at least one non-space character');
    return o.text;
  }
  const path = o.input!;
  if (path !== '-' && TABLE_EXTENSIONS.has(extname(path).toLowerCase())) {
    const examples = await asError(() => loadTextExamples(path, { columns: { text: o.textColumn }, requireLabels: false }));
    return examples.map((e) => e.text);
  }
  if (o.textColumn !== undefined) throw new CliError('usage', `${path}: --text-column needs a .csv, .tsv or .jsonl file; this one is read as one text per line`);
  const name = path === '-' ? 'standard input' : path;
  const texts: string[] = [];
  let blank = 0;
  const source = { emptyProblem: 'is empty: there is no text to embed. Give one text per line', ...(path === '-' ? { input: process.stdin } : {}) };
  await asError(async () => {
    for await (const { lines } of decodedLineBatches(name, source)) {
      for (const text of lines) {
        if (text.trim() === '') blank++;
        else texts.push(text);
      }
    }
    if (texts.length === 0) throw new DataError(name, undefined, `has no text to embed: its ${blank} line${blank === 1 ? ' is' : 's are'} blank. Give one text per line`);
  });
  if (blank > 0) out.stderr(`tuna: skipped ${blank} blank line(s) of ${name}\n`);
  return texts;
}

/** JSON for one line of JSON Lines output: U+2028/U+2029 escaped. */
function jsonLine(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * `tuna embed --model M (--text T... | --input FILE|-) [--json]`: one embedding per text, in input
 * order; `--json` prints JSON Lines `{"text", "embedding"}`, otherwise one tab-separated line of
 * numbers per text. A summary (dimension, texts per second) goes to standard error.
 */
export async function embedCommand(o: EmbedOptions, out: Output): Promise<void> {
  const batchSize = o.batchSize === undefined ? 32 : integer('--batch-size', o.batchSize, 1);
  const threads = o.threads === undefined ? undefined : integer('--threads', o.threads, 1);
  const maxLength = o.maxLength === undefined ? undefined : integer('--max-length', o.maxLength, 3);
  const pooling = choice('--pooling', o.pooling ?? 'model', ['model', 'mean', 'cls'] as const) as SentencePooling;
  if (o.prompt !== undefined && o.promptName !== undefined) throw new CliError('usage', 'give --prompt or --prompt-name, not both');
  const texts = await readTexts(o, out);
  const dir = await asError(() => resolveModel(o.model, o.revision === undefined ? {} : { revision: o.revision }));
  const extractor = await asError(() =>
    featureExtractionPipeline(dir, { batchSize, ...(threads === undefined ? {} : { threads }), ...(maxLength === undefined ? {} : { maxLength }) }),
  );
  try {
    const started = performance.now();
    const embeddings = (await asError(() =>
      extractor.runBatch(texts, {
        pooling,
        ...(o.normalize === undefined ? {} : { normalize: o.normalize }),
        ...(o.promptName === undefined ? {} : { promptName: o.promptName }),
        ...(o.prompt === undefined ? {} : { prompt: o.prompt }),
      } as never),
    )) as unknown as number[][];
    const seconds = (performance.now() - started) / 1000;
    const lines: string[] = [];
    embeddings.forEach((e, i) => {
      lines.push(o.json ? jsonLine({ text: texts[i], embedding: e }) : e.map((x) => x.toPrecision(7)).join('\t'));
      if (lines.length >= 256) {
        out.stdout(`${lines.join('\n')}\n`);
        lines.length = 0;
      }
    });
    if (lines.length) out.stdout(`${lines.join('\n')}\n`);
    const layout = extractor.sentenceLayout;
    const how = pooling === 'model' ? `${layout.pooling.modes.join('+')} pooling${layout.dense.length ? `, ${layout.dense.length} dense` : ''}` : `${pooling} pooling`;
    out.stderr(
      `tuna: ${texts.length} embedding(s) of ${embeddings[0]?.length ?? 0} dimensions (${how}${extractor.isSentenceTransformer ? '' : ', plain checkpoint'}) in ${seconds.toFixed(2)} s, ${(texts.length / Math.max(seconds, 1e-9)).toFixed(1)} texts/s\n`,
    );
  } finally {
    await extractor.dispose();
  }
}

/** The flags of `tuna train --task sentence-embedding` beyond the common training flags. */
export interface SentenceTrainFlags {
  readonly model?: string;
  readonly revision?: string;
  readonly train: string;
  readonly validation?: string;
  readonly output: string;
  readonly epochs: string;
  readonly maxSteps?: string;
  readonly batchSize: string;
  readonly lr?: string;
  readonly maxLength: string;
  readonly warmupRatio: string;
  readonly warmupSteps?: string;
  readonly weightDecay: string;
  readonly maxGradNorm: string;
  readonly lrSchedulerType: string;
  readonly seed: string;
  readonly threads?: string;
  readonly json?: boolean;
  readonly overwriteOutputDir?: boolean;
  readonly loss?: string;
  readonly pooling?: string;
  readonly normalize?: boolean;
  readonly matryoshkaDims?: string;
  readonly queryPrompt?: string;
  readonly documentPrompt?: string;
  readonly scale?: string;
  readonly margin?: string;
  readonly resume?: boolean;
  readonly resumeFromCheckpoint?: string;
  readonly saveSteps?: string;
  readonly saveTotalLimit?: string;
  readonly test?: string;
  readonly fromScratch?: boolean;
  readonly multiLabel?: boolean;
  readonly gradientAccumulationSteps?: string;
}

/** Adds the sentence-embedding flags to the train command. */
export function sentenceTrainCommandOptions(c: Command): Command {
  return c
    .option('--loss <name>', `sentence-embedding: ${SENTENCE_LOSSES.join(', ')} (default: mnrl for pairs, triplets and raw text (SimCSE), cosent for scored pairs)`)
    .option('--pooling <mode>', 'sentence-embedding: pooling of a new sentence model: mean, cls or max (default mean; a sentence-transformers model keeps its own)')
    .option('--normalize', 'sentence-embedding: add a Normalize module (unit-length embeddings)')
    .option('--no-normalize', 'sentence-embedding: no Normalize module, even when the starting model has one')
    .option('--matryoshka-dims <list>', 'sentence-embedding: also train truncated embeddings of these sizes, e.g. 768,512,256,128,64')
    .option('--query-prompt <text>', 'sentence-embedding: prompt before anchors (saved as the "query" prompt), e.g. "query: "')
    .option('--document-prompt <text>', 'sentence-embedding: prompt before positives and negatives (saved as the "document" prompt), e.g. "passage: "')
    .option('--scale <s>', 'sentence-embedding: similarity scale of mnrl and cosent (default 20)')
    .option('--margin <m>', 'sentence-embedding: margin of contrastive (default 0.5) and triplet (default 5)');
}

/** Mean of the ranks' Pearson correlation: Spearman's rho of two lists (ties get their mean rank). */
function spearman(a: readonly number[], b: readonly number[]): number {
  const rank = (xs: readonly number[]) => {
    const order = [...xs.keys()].sort((i, j) => xs[i]! - xs[j]!);
    const r = new Array<number>(xs.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && xs[order[j + 1]!] === xs[order[i]!]) j++;
      for (let k = i; k <= j; k++) r[order[k]!] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  ra.forEach((x, i) => {
    num += (x - ma) * (rb[i]! - mb);
    da += (x - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  });
  return num / Math.sqrt(da * db || 1);
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const unit = (a: readonly number[]) => {
  const n = Math.hypot(...a) || 1;
  return a.map((x) => x / n);
};

/**
 * Scores a saved sentence model on held-out data: scored pairs by Spearman's rho of cosine and
 * score; pairs and triplets by accuracy@1 of each anchor retrieving its positive among all the
 * set's positives (and, for triplets, how often the positive is closer than the negative).
 */
async function evaluateSentenceModel(
  dir: string,
  dataset: SentenceDataset,
  opts: { queryPrompt?: string; documentPrompt?: string; threads?: number },
): Promise<Record<string, number>> {
  const extractor = await featureExtractionPipeline(dir, { ...(opts.threads === undefined ? {} : { threads: opts.threads }) });
  try {
    const column = async (c: number, prompt: string | undefined) =>
      (
        (await extractor.runBatch(
          dataset.examples.map((e) => e.texts[c]!),
          { pooling: 'model', ...(prompt === undefined ? {} : { prompt }) } as never,
        )) as unknown as number[][]
      ).map(unit);
    const a = await column(0, opts.queryPrompt);
    if (dataset.kind === 'texts') return {};
    const p = await column(1, dataset.kind === 'scored' ? opts.queryPrompt : opts.documentPrompt);
    if (dataset.kind === 'scored') {
      return {
        spearman_cosine: spearman(
          a.map((x, i) => dot(x, p[i]!)),
          dataset.examples.map((e) => e.score!),
        ),
      };
    }
    let hits = 0;
    a.forEach((q, i) => {
      let best = 0;
      let bestScore = -Infinity;
      p.forEach((d, j) => {
        const s = dot(q, d);
        if (s > bestScore) {
          bestScore = s;
          best = j;
        }
      });
      if (best === i) hits++;
    });
    const out: Record<string, number> = { accuracy_at_1: hits / a.length };
    if (dataset.kind === 'triplets') {
      const n = await column(2, opts.documentPrompt);
      out.triplet_accuracy = a.filter((q, i) => dot(q, p[i]!) > dot(q, n[i]!)).length / a.length;
    }
    return out;
  } finally {
    await extractor.dispose();
  }
}

/** The records of `DIR/metrics.jsonl` up to `step` (none when the file is missing or unreadable). */
async function earlierLog(dir: string, step: number): Promise<Record<string, number>[]> {
  const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, number>];
      } catch {
        return [];
      }
    })
    .filter((r) => typeof r.step === 'number' && r.step <= step);
}

/**
 * `tuna train --task sentence-embedding`: fine-tunes a bi-encoder on pairs, triplets, scored
 * pairs or raw text (SimCSE) and writes a sentence-transformers model directory to `--output`
 * (with metrics.jsonl and train_results.json; validation scores when `--validation` is given).
 */
export async function sentenceTrainCommand(o: SentenceTrainFlags, out: Output): Promise<void> {
  const say = (s: string) => out.stderr(`${s}\n`);
  const resuming = !!o.resume || o.resumeFromCheckpoint !== undefined;
  await inLockedOutput(o, resuming, say, () => sentenceTrainLocked(o, out, say, resuming));
}

async function sentenceTrainLocked(o: SentenceTrainFlags, out: Output, say: (line: string) => void, resuming: boolean): Promise<void> {
  // Flags of the classification tasks that sentence-embedding training does not have (yet).
  const unsupported: Record<string, unknown> = {
    '--test': o.test,
    '--from-scratch': o.fromScratch,
    '--multi-label': o.multiLabel,
    '--gradient-accumulation-steps': o.gradientAccumulationSteps !== undefined && o.gradientAccumulationSteps !== '1' ? o.gradientAccumulationSteps : undefined,
  };
  for (const [flag, value] of Object.entries(unsupported)) {
    if (value !== undefined && value !== false)
      throw new CliError('usage', `${flag} does not apply to --task sentence-embedding; leave it out (give held-out data with --validation)`);
  }
  const seed = integer('--seed', o.seed, 0);
  const batchSize = integer('--batch-size', o.batchSize, 2);
  let maxLength = integer('--max-length', o.maxLength, 8);
  const threads = o.threads === undefined ? undefined : integer('--threads', o.threads, 1);
  const epochs = number('--epochs', o.epochs, { min: 0, exclusive: true });
  const maxSteps = o.maxSteps === undefined ? undefined : integer('--max-steps', o.maxSteps, 1);
  const scheduler = choice('--lr-scheduler-type', o.lrSchedulerType, ['linear', 'constant', 'constant_with_warmup'] as const);
  const lossName = o.loss === undefined ? undefined : (choice('--loss', o.loss, SENTENCE_LOSSES) as SentenceLossName);
  const pooling = o.pooling === undefined ? undefined : (choice('--pooling', o.pooling, ['mean', 'cls', 'max'] as const) as PoolingMode);
  const matryoshkaDims = o.matryoshkaDims === undefined ? undefined : o.matryoshkaDims.split(',').map((d) => integer('--matryoshka-dims', d.trim(), 1));
  const scale = o.scale === undefined ? undefined : number('--scale', o.scale, { min: 0, exclusive: true });
  const margin = o.margin === undefined ? undefined : number('--margin', o.margin, { min: 0 });
  const saveSteps = o.saveSteps === undefined ? undefined : integer('--save-steps', o.saveSteps, 1);
  const saveTotalLimit = o.saveTotalLimit === undefined ? undefined : integer('--save-total-limit', o.saveTotalLimit, 1);
  await asError(() => prepareOutputDir(o.output, { resume: resuming, overwrite: !!o.overwriteOutputDir, remedies: { overwrite: '--overwrite-output-dir', resume: '--resume' } }));
  let resumeFrom: string | undefined;
  if (resuming) {
    resumeFrom = o.resumeFromCheckpoint ?? (await listCheckpoints(o.output)).at(-1)?.dir;
    if (resumeFrom === undefined)
      throw new CliError('usage', `--resume: ${o.output} holds no checkpoint-N directory to resume from (they are written with --save-steps N)`, { file: o.output });
    if (!existsSync(join(resumeFrom, 'modules.json'))) {
      throw new CliError('usage', `${resumeFrom}: not a checkpoint of sentence-embedding training (no modules.json); resume it with the task that wrote it`, { file: resumeFrom });
    }
    say(`resuming from ${resumeFrom}: weights, pooling, optimizer state and data position come from the checkpoint`);
  }

  const dataset = await asError(() => readSentenceDataset(o.train));
  const validation = o.validation === undefined ? undefined : await asError(() => readSentenceDataset(o.validation!));
  const loss: SentenceLossOptions = {
    loss: lossName ?? (dataset.kind === 'scored' ? 'cosent' : 'mnrl'),
    ...(scale === undefined ? {} : { scale }),
    ...(margin === undefined ? {} : { margin }),
    ...(matryoshkaDims === undefined ? {} : { matryoshkaDims }),
  };
  let modelSource = resumeFrom ?? o.model;
  if (modelSource === undefined) {
    const lang = detectLanguage(dataset.examples.map((e) => e.texts[0]!));
    if (!hasBundledModel(lang)) throw new CliError('usage', `no --model given and the bundled ${lang} model is missing from this installation; name a checkpoint with --model`);
    modelSource = bundledModelDir(lang);
    say(`no --model: using the bundled ${lang === 'zh' ? 'Chinese' : 'English'} model (${modelSource})`);
  }
  const dir = resumeFrom ?? (await asError(() => resolveModel(modelSource!, o.revision === undefined ? {} : { revision: o.revision })));
  const model = await asError(() => PreTrainedModel.fromPretrained(dir, { head: 'encoder', seed, ...(threads === undefined ? {} : { threads }) }));
  if (model.loadReport.missing.length) say(`initialised ${model.loadReport.missing.length} parameters the checkpoint lacks (${model.loadReport.missing.slice(0, 4).join(', ')})`);
  const tokenizer = await asError(() => model.loadTokenizer());
  if (maxLength > model.config.max_position_embeddings) {
    say(`--max-length ${maxLength}: the model embeds ${model.config.max_position_embeddings} positions; texts are cut at ${model.config.max_position_embeddings} tokens`);
    maxLength = model.config.max_position_embeddings;
  }
  tokenizer.modelMaxLength = maxLength;

  const found = await asError(() => readSentenceLayout(dir));
  const hidden = model.config.hidden_size;
  const base = found ?? defaultLayout(hidden, { modes: [pooling ?? 'mean'] });
  if (found && pooling !== undefined && found.pooling.modes.join() !== pooling) say(`--pooling ${pooling}: replacing the model's ${found.pooling.modes.join('+')} pooling`);
  const prompts: Record<string, string> = { ...base.prompts };
  if (o.queryPrompt !== undefined) prompts.query = o.queryPrompt;
  if (o.documentPrompt !== undefined) prompts.document = o.documentPrompt;
  const layout: SentenceLayout = {
    ...base,
    pooling: pooling === undefined ? base.pooling : { ...base.pooling, modes: [pooling] },
    normalize: o.normalize ?? base.normalize,
    prompts,
  };
  const queryPrompt = prompts.query;
  const documentPrompt = prompts.document;
  await asError(async () => checkLoss(loss, dataset.kind, embeddingDimension(layout), o.train));
  const learningRate = o.lr === undefined ? defaultLearningRate(hidden) : number('--lr', o.lr, { min: 0, exclusive: true });
  const batchesPerEpoch = Math.ceil(dataset.examples.length / batchSize);
  const totalSteps = maxSteps ?? Math.ceil(epochs * batchesPerEpoch);
  const warmupSteps =
    o.warmupSteps !== undefined ? integer('--warmup-steps', o.warmupSteps, 0) : Math.ceil(number('--warmup-ratio', o.warmupRatio, { min: 0, max: 1 }) * totalSteps);
  say(
    `sentence-embedding: ${dataset.examples.length} ${dataset.kind === 'texts' ? 'texts (SimCSE: each text against itself, two dropout views)' : dataset.kind} from ${o.train}; loss ${loss.loss}` +
      `${matryoshkaDims ? ` (Matryoshka ${matryoshkaDims.join(',')})` : ''}; ${layout.pooling.modes.join('+')} pooling${layout.normalize ? ', normalised' : ''}; ` +
      `${totalSteps} steps of ${batchSize}; learning rate ${learningRate}; model ${modelSource} (${(model.store.count() / 1e6).toFixed(1)}M parameters)`,
  );

  await mkdir(o.output, { recursive: true });
  // A resumed run keeps the log records of the steps its checkpoint had done.
  const log: Record<string, number>[] = resumeFrom ? await earlierLog(o.output, (await asError(() => readTrainerState(resumeFrom!))).globalStep) : [];
  const loggingEvery = Math.max(1, Math.min(50, Math.floor(totalSteps / 20)));
  let sinceLog = 0;
  let lossSum = 0;
  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.once('SIGINT', onSigint);
  let result: Awaited<ReturnType<typeof trainSentenceEmbedding>>;
  try {
    result = await asError(() =>
      trainSentenceEmbedding({
        model,
        tokenizer,
        layout,
        dataset,
        loss,
        batchSize,
        epochs,
        ...(maxSteps === undefined ? {} : { maxSteps }),
        learningRate,
        warmupSteps,
        weightDecay: number('--weight-decay', o.weightDecay, { min: 0 }),
        maxGradNorm: number('--max-grad-norm', o.maxGradNorm, { min: 0 }),
        scheduler,
        seed,
        maxLength,
        ...(queryPrompt === undefined ? {} : { queryPrompt }),
        ...(documentPrompt === undefined ? {} : { documentPrompt }),
        ...(threads === undefined ? {} : { threads }),
        shouldStop: () => stop,
        ...(saveSteps === undefined ? {} : { saveSteps }),
        ...(resumeFrom === undefined ? {} : { resumeFrom }),
        onSave: async (step, writeState, runId) => {
          const written = await writeCheckpointDir(o.output, step, async (tmp) => {
            await saveSentenceTransformer(tmp, model, tokenizer, layout, { tuna: packageVersion() });
            await writeState(tmp);
          });
          if (saveTotalLimit !== undefined) await rotateCheckpoints(o.output, saveTotalLimit, { runId });
          say(`checkpoint: ${written}`);
        },
        onStep: async (s) => {
          lossSum += s.loss;
          sinceLog++;
          if (s.step % loggingEvery === 0 || s.step === s.maxSteps) {
            const record = {
              loss: Math.round((lossSum / sinceLog) * 1e6) / 1e6,
              learning_rate: s.learningRate,
              grad_norm: Math.round(s.gradNorm * 1e6) / 1e6,
              epoch: Math.round(s.epoch * 1e4) / 1e4,
              step: s.step,
            };
            log.push(record);
            lossSum = 0;
            sinceLog = 0;
            say(`step ${s.step}/${s.maxSteps}  loss ${record.loss.toFixed(4)}  lr ${s.learningRate.toExponential(2)}`);
            await writeFileAtomic(join(o.output, 'metrics.jsonl'), new TextEncoder().encode(`${log.map((r) => JSON.stringify(r)).join('\n')}\n`));
          }
        },
      }),
    );
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (result.interrupted) say(`interrupted after ${result.steps} steps: saving the model as it is`);
  await asError(() => saveSentenceTransformer(o.output, model, tokenizer, layout, { tuna: packageVersion() }));
  const summary: Record<string, unknown> = {
    output: o.output,
    global_step: result.steps,
    loss: loss.loss,
    train: {
      train_runtime: Math.round(result.seconds * 1000) / 1000,
      train_samples_per_second: Math.round(result.examplesPerSecond * 1000) / 1000,
      train_loss: result.losses.reduce((s, x) => s + x, 0) / Math.max(1, result.losses.length),
      first_loss: result.losses[0],
      last_loss: result.losses.at(-1),
    },
    learning_rate: learningRate,
    embedding_dimension: embeddingDimension(layout),
  };
  if (validation) {
    const scores = await asError(() =>
      evaluateSentenceModel(o.output, validation, {
        ...(queryPrompt === undefined ? {} : { queryPrompt }),
        ...(documentPrompt === undefined ? {} : { documentPrompt }),
        ...(threads === undefined ? {} : { threads }),
      }),
    );
    summary.validation = scores;
    if (!o.json)
      say(
        `validation (${validation.examples.length} examples): ${Object.entries(scores)
          .map(([k, v]) => `${k} ${v.toFixed(4)}`)
          .join(', ')}`,
      );
  }
  await writeFileAtomic(join(o.output, 'train_results.json'), new TextEncoder().encode(`${JSON.stringify(summary, null, 2)}\n`));
  await model.dispose();
  if (o.json) out.stdout(`${JSON.stringify(summary)}\n`);
  else out.stdout(`sentence-transformers model, metrics.jsonl and train_results.json written to ${o.output}\n`);
}
