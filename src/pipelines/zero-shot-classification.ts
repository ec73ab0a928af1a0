/**
 * The zero-shot-classification pipeline: scores labels chosen at call time, with no training on
 * them. Three modes (see {@link ZeroShotMode}): an NLI classifier reading (text, hypothesis) pairs
 * as transformers does, cloze prompts on a masked LM, or cosine similarity between sentence
 * embeddings of the text and of label descriptions.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig } from '../io/checkpoint.js';
import { resolveModel } from '../io/hub.js';
import { type ModelConfig, type Tokenizer, familyOfConfig, tasksOfArchitectures } from '../models/registry.js';
import { isAdapterDir } from '../peft/index.js';
import { checkBatchSize } from './batching.js';
import { type OpenModel, openModel } from './checkpoint.js';
import { PipelineError, quote } from './errors.js';
import { featureExtractionPipeline } from './feature-extraction.js';
import { callOptions, checkChoice, checkText, inputField } from './inputs.js';
import type { PipelineOptions } from './types.js';
import { type ClozeLabel, type ClozeWord, checkClozeTemplate, clozeScores, defaultClozeTemplate, wordPieces } from './zero-shot-cloze.js';
import { DEFAULT_TEMPERATURE, embeddingCosines, embeddingScores } from './zero-shot-embedding.js';
import { type NliLabelIds, hypothesis, nliLabelIds, nliLogits, nliScores } from './zero-shot-nli.js';
import type {
  CandidateLabels,
  ZeroShotClassificationOptions,
  ZeroShotClassificationPipeline,
  ZeroShotClassificationResult,
  ZeroShotMode,
  ZeroShotPipelineOptions,
} from './zero-shot-types.js';

/** The default hypothesis template, as in transformers. */
export const DEFAULT_HYPOTHESIS_TEMPLATE = 'This example is {}.';

/** The modes, in the order the default is looked for. */
export const ZERO_SHOT_MODES: readonly ZeroShotMode[] = ['nli', 'cloze', 'embedding'];

/** Call options and their transformers (snake_case) spellings. */
const OPTION_NAMES = {
  candidateLabels: 'candidate_labels',
  hypothesisTemplate: 'hypothesis_template',
  multiLabel: 'multi_label',
  template: 'template',
  verbalizer: 'verbalizer',
  temperature: 'temperature',
  mode: 'mode',
  batchSize: 'batch_size',
} as const;

/** Options that only some modes take. */
const MODE_OPTIONS: Readonly<Record<string, ZeroShotMode>> = { template: 'cloze', verbalizer: 'cloze', temperature: 'embedding' };

/** The pipeline tasks a checkpoint directory's architectures serve (config.json). */
async function tasksOfDir(dir: string): Promise<{ tasks: string[]; architectures: readonly string[] }> {
  const raw = await readConfig(dir);
  const path = join(dir, 'config.json');
  const architectures = familyOfConfig(raw, path).parseConfig(raw, path).architectures;
  return { tasks: tasksOfArchitectures(architectures), architectures };
}

/**
 * The mode a checkpoint gets by default: `nli` for a sequence classifier (and an adapter
 * directory), `embedding` for a sentence-transformers directory, `cloze` for a masked LM.
 *
 * @throws PipelineError `wrong_task` for a bare encoder, which needs `mode: 'embedding'` asked for.
 */
export async function defaultZeroShotMode(dir: string): Promise<ZeroShotMode> {
  if (isAdapterDir(dir)) return 'nli';
  const { tasks } = await tasksOfDir(dir);
  if (tasks.includes('text-classification')) return 'nli';
  if (existsSync(join(dir, 'modules.json'))) return 'embedding';
  if (tasks.includes('fill-mask')) return 'cloze';
  throw new PipelineError(
    'wrong_task',
    `${dir}: the checkpoint is a bare encoder (no classification or masked-LM head, no sentence-transformers modules.json); ` +
      `to classify by the cosine of its mean-pooled embeddings, load it with { mode: 'embedding' }, or use an NLI classifier (mode 'nli')`,
    { field: 'task' },
  );
}

/** Candidate labels from a list or a comma-separated string (blank parts of a string are dropped). */
export function parseCandidateLabels(value: unknown, field = 'candidateLabels'): string[] {
  let labels: string[];
  if (typeof value === 'string') {
    labels = value
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  } else if (Array.isArray(value)) {
    labels = value.map((l, i) => {
      if (typeof l !== 'string' || l.trim() === '') throw new PipelineError('invalid_option', `${field}[${i}] must be a non-empty label, got ${JSON.stringify(l)}`, { field });
      return l;
    });
  } else {
    throw new PipelineError('invalid_option', `${field} must be a list of labels or a comma-separated string, got ${value === null ? 'null' : typeof value}`, { field });
  }
  if (labels.length === 0) throw new PipelineError('invalid_option', `${field} holds no label; give at least one`, { field });
  return labels;
}

function checkHypothesisTemplate(value: unknown): string {
  if (typeof value !== 'string' || !value.includes('{}')) {
    throw new PipelineError('invalid_option', `hypothesisTemplate must be a string holding {} where the label goes (e.g. "This example is {}."), got ${JSON.stringify(value)}`, {
      field: 'hypothesisTemplate',
    });
  }
  return value;
}

function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new PipelineError('invalid_option', `${field} must be true or false, got ${JSON.stringify(value)}`, { field });
  return value;
}

/** The words of each label of a cloze call, from the verbalizer (or each label as its own word). */
function clozeLabels(tokenizer: Tokenizer, labels: readonly string[] | undefined, verbalizer: unknown): ClozeLabel[] {
  const words = (list: readonly unknown[], fieldOf: (i: number) => string): ClozeWord[] => {
    const seen = new Set<string>();
    return list.flatMap((w, i) => {
      const pieces = wordPieces(tokenizer, w as string, fieldOf(i));
      if (seen.has(w as string)) return [];
      seen.add(w as string);
      return [{ word: w as string, pieces }];
    });
  };
  if (verbalizer === undefined) {
    if (labels === undefined) throw missingLabels('cloze');
    return labels.map((label, i) => ({ label, words: words([label], () => `candidateLabels[${i}]`) }));
  }
  if (typeof verbalizer !== 'object' || verbalizer === null || Array.isArray(verbalizer) || Object.keys(verbalizer).length === 0) {
    throw new PipelineError('invalid_option', 'verbalizer must map each label to its words, e.g. { positive: ["great", "good"], negative: ["terrible"] }', { field: 'verbalizer' });
  }
  const map = verbalizer as Record<string, unknown>;
  return (labels ?? Object.keys(map)).map((label) => {
    if (!Object.hasOwn(map, label)) {
      throw new PipelineError(
        'invalid_option',
        `verbalizer has no words for the candidate label ${quote(label)}; it has ${Object.keys(map)
          .map((k) => quote(k))
          .join(', ')}`,
        {
          field: 'verbalizer',
        },
      );
    }
    const value = map[label];
    const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
    if (list.length === 0) throw new PipelineError('invalid_option', `verbalizer.${label} must be a word or a non-empty list of words`, { field: 'verbalizer' });
    return { label, words: words(list, (i) => (typeof value === 'string' ? `verbalizer.${label}` : `verbalizer.${label}[${i}]`)) };
  });
}

function missingLabels(mode: ZeroShotMode): PipelineError {
  const how = mode === 'cloze' ? ', or a verbalizer' : '';
  return new PipelineError('invalid_option', `no candidate labels: pass them as the second argument (a list, or a comma-separated string) or as candidateLabels${how}`, {
    field: 'candidateLabels',
  });
}

/** One text's scores (in candidate-label order) and the extras of its mode. */
interface ModeScores {
  readonly scores: readonly number[];
  readonly similarities?: readonly number[];
  readonly wordScores?: readonly Record<string, number>[];
}

/** A loaded mode: what it scores with and how it frees it. */
interface Engine {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly maxLength: number;
  readonly batchSize: number;
  readonly ids?: NliLabelIds;
  score(
    texts: readonly string[],
    fields: readonly string[],
    labels: readonly string[] | undefined,
    o: ResolvedOptions,
    batchSize: number,
  ): Promise<{ labels: readonly string[]; perText: ModeScores[] }>;
  dispose(): Promise<void>;
}

interface ResolvedOptions {
  readonly hypothesisTemplate: string;
  readonly multiLabel: boolean;
  readonly template?: string;
  readonly verbalizer?: unknown;
  readonly temperature: number;
}

function fromCheckpoint(c: OpenModel): Pick<Engine, 'dir' | 'config' | 'tokenizer' | 'maxLength' | 'batchSize' | 'dispose'> {
  return { dir: c.dir, config: c.config, tokenizer: c.tokenizer, maxLength: c.maxLength, batchSize: c.batchSize, dispose: () => c.session.release() };
}

async function nliEngine(dir: string, opts: PipelineOptions): Promise<Engine> {
  const checkpoint = await openModel('zero-shot-classification', dir, opts);
  let ids: NliLabelIds;
  try {
    ids = nliLabelIds(checkpoint.config, checkpoint.dir);
  } catch (e) {
    await checkpoint.session.release();
    throw e;
  }
  return {
    ...fromCheckpoint(checkpoint),
    ids,
    async score(texts, _fields, labels, o, batchSize) {
      if (labels === undefined) throw missingLabels('nli');
      const rows = await nliLogits(
        checkpoint,
        texts,
        labels.map((l) => hypothesis(o.hypothesisTemplate, l)),
        batchSize,
      );
      return { labels, perText: rows.map((r) => ({ scores: nliScores(r, ids, o.multiLabel) })) };
    },
  };
}

async function clozeEngine(dir: string, opts: PipelineOptions): Promise<Engine> {
  if (!isAdapterDir(dir)) {
    const { tasks, architectures } = await tasksOfDir(dir);
    if (!tasks.includes('fill-mask')) {
      throw new PipelineError(
        'wrong_task',
        `${dir}: zero-shot mode 'cloze' needs a masked-LM head (a BertForMaskedLM or BertForPreTraining checkpoint), but the checkpoint is ${architectures.length ? `a ${architectures.join(', ')}` : 'a bare encoder'}; ` +
          `for a classifier trained for natural language inference use mode 'nli', for a sentence-embedding model mode 'embedding'`,
        { field: 'mode' },
      );
    }
  }
  // The masked-LM head only at the mask positions, as the fill-mask pipeline runs it.
  const checkpoint = await openModel('fill-mask', dir, opts, {}, (ctx, buildHead) => ({
    probabilities: ctx.scope.g.softmax(buildHead({ maskPositions: true }).outputs.logits!, -1),
  }));
  const maskToken = checkpoint.tokenizer.options.maskToken;
  if (checkpoint.tokenizer.maskTokenId === undefined || maskToken === undefined) {
    await checkpoint.session.release();
    throw new PipelineError('no_mask_token', `${checkpoint.dir}: the tokenizer has no mask token (mask_token in tokenizer_config.json), so cloze prompts cannot mark a position`);
  }
  return {
    ...fromCheckpoint(checkpoint),
    async score(texts, fields, labels, o, batchSize) {
      const template = checkClozeTemplate(o.template ?? defaultClozeTemplate(o.hypothesisTemplate), maskToken, o.template === undefined ? 'hypothesisTemplate' : 'template');
      const cloze = clozeLabels(checkpoint.tokenizer, labels, o.verbalizer);
      const results = await clozeScores(checkpoint, texts, fields, template, cloze, batchSize);
      return {
        labels: cloze.map((l) => l.label),
        perText: results.map(({ labelScores, wordScores }) => {
          const total = labelScores.reduce((s, x) => s + x, 0);
          const normalised = labelScores.map((x) => (total > 0 ? x / total : 1 / labelScores.length));
          return { scores: o.multiLabel ? labelScores : normalised, wordScores };
        }),
      };
    },
  };
}

async function embeddingEngine(dir: string, opts: PipelineOptions): Promise<Engine> {
  const extractor = await featureExtractionPipeline(dir, opts);
  return {
    dir: extractor.model,
    config: extractor.config,
    tokenizer: extractor.tokenizer,
    maxLength: extractor.maxLength,
    batchSize: opts.batchSize ?? 32,
    dispose: () => extractor.dispose(),
    async score(texts, _fields, labels, o, batchSize) {
      if (labels === undefined) throw missingLabels('embedding');
      const cosines = await embeddingCosines(
        extractor,
        texts,
        labels.map((l) => hypothesis(o.hypothesisTemplate, l)),
        batchSize,
      );
      return { labels, perText: cosines.map((c) => ({ scores: embeddingScores(c, o.multiLabel, o.temperature), similarities: c })) };
    },
  };
}

/** The labels of one text sorted by score, best first (the first label first on ties), with the mode's extras in the same order. */
function result(sequence: string, labels: readonly string[], s: ModeScores): ZeroShotClassificationResult {
  const order = [...labels.keys()].sort((a, b) => s.scores[b]! - s.scores[a]! || a - b);
  return {
    sequence,
    labels: order.map((i) => labels[i]!),
    scores: order.map((i) => s.scores[i]!),
    ...(s.similarities ? { similarities: order.map((i) => s.similarities![i]!) } : {}),
    ...(s.wordScores ? { word_scores: order.map((i) => s.wordScores![i]!) } : {}),
  };
}

/**
 * Loads a checkpoint as a zero-shot-classification pipeline:
 *
 * ```ts
 * const classifier = await pipeline('zero-shot-classification', 'models/nli');
 * await classifier('the team won the game', ['sports', 'politics']);
 * // { sequence: 'the team won the game', labels: ['sports', 'politics'], scores: [0.93, 0.07] }
 * await classifier(['...', '...'], 'sports, politics', { multiLabel: true, hypothesisTemplate: 'This text is about {}.' });
 * const cloze = await pipeline('zero-shot-classification', 'models/tuna-small-en');   // a masked LM: mode 'cloze'
 * await cloze('I loved it', { template: '{text} It was [MASK].', verbalizer: { positive: ['great', 'good'], negative: ['terrible'] } });
 * ```
 *
 * @throws PipelineError `wrong_task` when the checkpoint cannot run the mode (an NLI classifier
 *   whose config names no entailment label, cloze on a model without a masked-LM head, no mode
 *   for a bare encoder), `invalid_option` for a bad option.
 */
export async function zeroShotClassificationPipeline(dirOrId: string, opts: ZeroShotPipelineOptions = {}): Promise<ZeroShotClassificationPipeline> {
  const { mode: askedMode, ...loadOpts } = opts;
  const mode = askedMode === undefined ? undefined : checkChoice(askedMode, 'mode', ZERO_SHOT_MODES);
  if (loadOpts.batchSize !== undefined) checkBatchSize(loadOpts.batchSize);
  const dir = await resolveModel(dirOrId, opts.hub);
  const chosen = mode ?? (await defaultZeroShotMode(dir));
  const engine = chosen === 'nli' ? await nliEngine(dir, loadOpts) : chosen === 'cloze' ? await clozeEngine(dir, loadOpts) : await embeddingEngine(dir, loadOpts);
  let disposed = false;

  const classify = async (inputs: unknown, second: unknown, third: unknown): Promise<ZeroShotClassificationResult | ZeroShotClassificationResult[]> => {
    if (disposed) throw new PipelineError('disposed', 'this zero-shot-classification pipeline was disposed; create a new one with pipeline()');
    const labelsGiven = typeof second === 'string' || Array.isArray(second);
    if (!labelsGiven && third !== undefined) {
      throw new PipelineError('invalid_option', 'the second argument must be the candidate labels (a list, or a comma-separated string) when options follow it', {
        field: 'candidateLabels',
      });
    }
    const o = callOptions<ZeroShotClassificationOptions>((labelsGiven ? third : second) as ZeroShotClassificationOptions | undefined, OPTION_NAMES);
    if (labelsGiven && o.candidateLabels !== undefined) {
      throw new PipelineError('invalid_option', 'candidate labels are given twice (as an argument and as candidateLabels)', { field: 'candidateLabels' });
    }
    if (o.mode !== undefined && o.mode !== chosen) {
      throw new PipelineError(
        'invalid_option',
        `mode ${JSON.stringify(o.mode)} is not this pipeline's (${chosen}); the mode is chosen when the pipeline is loaded: pipeline(task, model, { mode })`,
        {
          field: 'mode',
        },
      );
    }
    for (const [name, only] of Object.entries(MODE_OPTIONS)) {
      if ((o as Record<string, unknown>)[name] !== undefined && only !== chosen) {
        throw new PipelineError('invalid_option', `${name} applies to mode '${only}'; this pipeline runs mode '${chosen}'`, { field: name });
      }
    }
    if (o.template !== undefined && o.hypothesisTemplate !== undefined) {
      throw new PipelineError('invalid_option', 'give template (the whole cloze prompt) or hypothesisTemplate (the prompt after the text), not both', {
        field: 'hypothesisTemplate',
      });
    }
    const rawLabels = labelsGiven ? second : o.candidateLabels;
    const labels = rawLabels === undefined ? undefined : parseCandidateLabels(rawLabels);
    const temperature = o.temperature ?? DEFAULT_TEMPERATURE;
    if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature)) {
      throw new PipelineError('invalid_option', `temperature must be a positive number, got ${JSON.stringify(o.temperature)}`, { field: 'temperature' });
    }
    const resolved: ResolvedOptions = {
      hypothesisTemplate: o.hypothesisTemplate === undefined ? DEFAULT_HYPOTHESIS_TEMPLATE : checkHypothesisTemplate(o.hypothesisTemplate),
      multiLabel: o.multiLabel === undefined ? false : checkBoolean(o.multiLabel, 'multiLabel'),
      temperature,
      ...(o.template === undefined ? {} : { template: o.template }),
      ...(o.verbalizer === undefined ? {} : { verbalizer: o.verbalizer }),
    };
    const batchSize = o.batchSize === undefined ? engine.batchSize : checkBatchSize(o.batchSize);
    const single = !Array.isArray(inputs);
    const list = single ? [inputs] : (inputs as unknown[]);
    const fields = list.map((_, i) => inputField(single, i));
    const texts = list.map((x, i) => checkText(x, fields[i]!));
    if (texts.length === 0) return [];
    const scored = await engine.score(texts, fields, labels, resolved, batchSize);
    const results = texts.map((t, i) => result(t, scored.labels, scored.perText[i]!));
    return single ? results[0]! : results;
  };

  const call = (inputs: unknown, labels?: CandidateLabels | ZeroShotClassificationOptions, o?: ZeroShotClassificationOptions) => classify(inputs, labels, o);
  const runBatch = async (inputs: unknown, labels?: CandidateLabels | ZeroShotClassificationOptions, o?: ZeroShotClassificationOptions) => {
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'runBatch takes a list of texts', { field: 'inputs' });
    return classify(inputs, labels, o);
  };
  Object.defineProperties(call, {
    task: { value: 'zero-shot-classification', enumerable: true },
    model: { value: engine.dir, enumerable: true },
    config: { value: engine.config, enumerable: true },
    tokenizer: { value: engine.tokenizer, enumerable: true },
    maxLength: { value: engine.maxLength, enumerable: true },
    mode: { value: chosen, enumerable: true },
    ...(engine.ids ? { entailmentId: { value: engine.ids.entailment, enumerable: true }, contradictionId: { value: engine.ids.contradiction, enumerable: true } } : {}),
    run: { value: call, enumerable: true },
    runBatch: { value: runBatch, enumerable: true },
    dispose: {
      value: async () => {
        if (disposed) return;
        disposed = true;
        await engine.dispose();
      },
      enumerable: true,
    },
  });
  return call as unknown as ZeroShotClassificationPipeline;
}
