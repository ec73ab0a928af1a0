/**
 * Prompt-based fine-tuning of a masked LM (PET / LM-BFF): each example goes into a cloze template,
 * and the model learns to put its label's words at the mask. As the cloze scorer of the zero-shot
 * pipeline scores them, a word of k pieces is read from a prompt with k masks, its score is the
 * geometric mean of its pieces' probabilities, and a label's score is the mean of its words'
 * scores; a label's logit is the log of that score, so the softmax over labels is exactly the
 * normalised cloze score, and training lowers its cross-entropy. With one-token words only, the
 * logits are the label words' logits at the mask, less a constant shared by the labels. Several templates: every example is
 * trained in each of them, and prediction averages the templates' label probabilities.
 */
import { join } from 'node:path';
import { TunaError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import { Rng } from '../nn/parameters.js';
import type { Graph, Value } from '../onnx/graph.js';
import { batchInputs } from '../pipelines/batching.js';
import { MASK_SLOT, TEXT_SLOT, checkClozeTemplate, encodePrompt, wordPieces } from '../pipelines/zero-shot-cloze.js';
import { type HostTensor, hostTensor } from '../runtime/tensor.js';
import { AdamW } from '../train/adamw.js';
import { clipCoefficient } from '../train/clip.js';
import { linearSchedule } from '../train/schedule.js';
import { TrainStep } from '../train/step.js';

/** The placeholder of the second text of a pair in a template. */
export const TEXT_PAIR_SLOT = '{text_pair}';
/** The file beside the masked-LM checkpoint that makes it a prompt classifier. */
export const PROMPT_CONFIG_FILE = 'prompt_config.json';

/** What `prompt_config.json` holds. */
export interface PromptConfig {
  /** Cloze templates with `{text}`, optionally `{text_pair}`, and `{mask}`. */
  readonly templates: readonly string[];
  /** Labels in id order. */
  readonly labels: readonly string[];
  /** Each label's words. */
  readonly verbalizer: Readonly<Record<string, readonly string[]>>;
}

/** One labelled example. */
export interface PromptExample {
  readonly text: string;
  readonly textPair?: string;
  /** Index into the config's labels. */
  readonly label: number;
}

/**
 * Parses `--verbalizer` text: `label=word[|word...]` items separated by commas, e.g.
 * `positive=great|good,negative=terrible`. Labels keep their order.
 */
export function parseVerbalizer(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const label = item.slice(0, eq).trim();
    const words = item
      .slice(eq + 1)
      .split('|')
      .map((w) => w.trim())
      .filter((w) => w !== '');
    if (eq < 1 || label === '' || words.length === 0) {
      throw new TunaError('invalid_option', `--verbalizer item "${item.trim()}" must be label=word (several words: label=word1|word2), e.g. positive=great,negative=terrible`, {
        field: 'verbalizer',
      });
    }
    if (Object.hasOwn(out, label))
      throw new TunaError('invalid_option', `--verbalizer names the label "${label}" twice; give its words once, joined by |`, { field: 'verbalizer' });
    out[label] = [...new Set(words)];
  }
  if (Object.keys(out).length < 2)
    throw new TunaError('invalid_option', '--verbalizer must name at least two labels, e.g. positive=great,negative=terrible', { field: 'verbalizer' });
  return out;
}

/** Checks a template (`{text}` once, one mask, `{text_pair}` at most once) and writes its mask `{mask}`. */
export function checkPromptTemplate(template: string, maskToken: string): string {
  if (template.split(TEXT_PAIR_SLOT).length > 2) throw new TunaError('invalid_option', `template "${template}" holds ${TEXT_PAIR_SLOT} more than once`, { field: 'prompt' });
  return checkClozeTemplate(template.split(TEXT_PAIR_SLOT).join('\u0000'), maskToken, 'prompt').split('\u0000').join(TEXT_PAIR_SLOT);
}

/** The template of one example: its `{text_pair}` filled in. */
export function templateFor(template: string, textPair: string | undefined, field: string): string {
  const wantsPair = template.includes(TEXT_PAIR_SLOT);
  if (wantsPair && textPair === undefined) {
    throw new TunaError('invalid_data', `${field} has no second text, but the template "${template}" has ${TEXT_PAIR_SLOT}`, { field });
  }
  return wantsPair ? template.split(TEXT_PAIR_SLOT).join(textPair!.split(TEXT_SLOT).join('').split(MASK_SLOT).join('')) : template;
}

/** The word pieces of each label's words (label, then word, then piece ids), as the cloze scorer splits them. */
export function labelWordPieces(tokenizer: Tokenizer, config: PromptConfig): number[][][] {
  return config.labels.map((label) => {
    const words = config.verbalizer[label];
    if (!words?.length) throw new TunaError('invalid_option', `the verbalizer has no words for the label "${label}"`, { field: 'verbalizer' });
    return words.map((w) => wordPieces(tokenizer, w, `verbalizer.${label}`));
  });
}

/**
 * Where the label words' pieces sit in a batch: every example gets one prompt per distinct number
 * of pieces (`counts`, ascending), with that many masks, as the cloze scorer builds them.
 */
export interface PieceLayout {
  readonly counts: readonly number[];
  /** Total pieces over all labels' words (P). */
  readonly pieces: number;
  /** Words over all labels (W). */
  readonly words: number;
  /** [P, W]: 1/len(word) where a piece belongs to a word. */
  readonly average: Float32Array;
  /** Per label, its words' indices among the W. */
  readonly labelWords: readonly number[][];
}

export function pieceLayout(ids: readonly (readonly (readonly number[])[])[]): PieceLayout {
  const counts = [...new Set(ids.flatMap((l) => l.map((w) => w.length)))].sort((a, b) => a - b);
  const all = ids.flat();
  const P = all.reduce((s, w) => s + w.length, 0);
  const average = new Float32Array(P * all.length);
  let p = 0;
  all.forEach((w, wi) => {
    for (let j = 0; j < w.length; j++) average[(p + j) * all.length + wi] = 1 / w.length;
    p += w.length;
  });
  let next = 0;
  const labelWords = ids.map((l) => l.map(() => next++));
  return { counts, pieces: P, words: all.length, average, labelWords };
}

/** Settings of {@link trainPrompt}. */
export interface PromptTrainingOptions {
  /** A masked-LM model (head `masked-lm`). */
  readonly model: PreTrainedModel;
  readonly tokenizer: Tokenizer;
  readonly config: PromptConfig;
  readonly examples: readonly PromptExample[];
  readonly batchSize: number;
  readonly epochs?: number;
  /** Optimizer steps (overrides `epochs`). */
  readonly maxSteps?: number;
  readonly learningRate: number;
  readonly weightDecay?: number;
  readonly warmupSteps?: number;
  readonly maxGradNorm?: number;
  readonly maxLength: number;
  readonly seed?: number;
  /** Build the graph with dropout off (parity checks). */
  readonly disableDropout?: boolean;
  readonly threads?: number;
  readonly onStep?: (info: { step: number; maxSteps: number; loss: number; learningRate: number }) => void | Promise<void>;
  readonly shouldStop?: () => boolean;
}

/** What training did. */
export interface PromptTrainingResult {
  readonly steps: number;
  readonly losses: readonly number[];
  readonly seconds: number;
  readonly interrupted: boolean;
}

/**
 * The label logits from the log-probabilities of the word pieces ([examples, P]): a word's
 * log-score is the mean log-probability of its pieces; a label's logit, the log of the mean of its
 * words' scores.
 */
export function labelLogits(g: Graph, pieceLogProbs: Value, layout: PieceLayout): Value {
  const words = g.matMul(pieceLogProbs, g.constant(layout.average, 'float32', [layout.pieces, layout.words]));
  const columns = layout.labelWords.map((w) => {
    const cols = g.gather(words, g.constant(BigInt64Array.from(w.map(BigInt)), 'int64', [w.length]), 1);
    return w.length === 1 ? cols : g.log(g.reduceMean(g.exp(cols), [1], true));
  });
  return g.concat(columns, 1);
}

/**
 * The tensors of one batch: the tokens of every example's prompts (one per piece count), the
 * `mask_positions` (flat into rows x sequence), `piece_index` ([examples, P]: each word piece's
 * flat index into [masks, vocab]) and `labels`.
 */
export function promptBatch(
  tokenizer: Tokenizer,
  items: readonly { example: PromptExample; template: string }[],
  maxLength: number,
  ids: readonly (readonly (readonly number[])[])[],
  vocabSize: number,
): Record<string, HostTensor> {
  const maskId = tokenizer.maskTokenId!;
  const { counts } = pieceLayout(ids);
  const encodings = items.flatMap(({ example, template }, i) =>
    counts.map((k) => encodePrompt(tokenizer, templateFor(template, example.textPair, `example ${i + 1}`), example.text, k, maxLength, `example ${i + 1}`)),
  );
  const { feeds, sequenceLength } = batchInputs(encodings, tokenizer.padTokenId);
  const positions: bigint[] = [];
  // firstMask[r]: the index among all masks of row r's first mask.
  const firstMask: number[] = [];
  encodings.forEach((e, r) => {
    const at = e.inputIds.flatMap((id, t) => (id === maskId ? [t] : []));
    if (at.length !== counts[r % counts.length]) {
      throw new TunaError('invalid_data', `example ${Math.floor(r / counts.length) + 1} holds the mask token ${tokenizer.options.maskToken}; only the template may have one`, {
        field: 'text',
      });
    }
    firstMask.push(positions.length);
    for (const t of at) positions.push(BigInt(r * sequenceLength + t));
  });
  const index: bigint[] = [];
  items.forEach((_, b) => {
    for (const word of ids.flat()) {
      const row = b * counts.length + counts.indexOf(word.length);
      word.forEach((piece, j) => index.push(BigInt((firstMask[row]! + j) * vocabSize + piece)));
    }
  });
  return {
    ...feeds,
    mask_positions: hostTensor('int64', BigInt64Array.from(positions), [positions.length]),
    piece_index: hostTensor('int64', BigInt64Array.from(index), [items.length, index.length / items.length]),
    labels: hostTensor('int64', BigInt64Array.from(items.map((it) => BigInt(it.example.label))), [items.length]),
  };
}

/** Compiles the training graph: the encoder, the masked-LM head at the masks, the label words' cross-entropy. */
export async function compilePromptTraining(opts: Pick<PromptTrainingOptions, 'model' | 'tokenizer' | 'config' | 'disableDropout' | 'seed' | 'threads'>): Promise<TrainStep> {
  const { model } = opts;
  const layout = pieceLayout(labelWordPieces(opts.tokenizer, opts.config));
  const config = opts.disableDropout ? model.family.withDropout(model.config, 0) : model.config;
  return TrainStep.create(
    model.store,
    (ctx) => {
      const g = ctx.scope.g;
      const logits = model.buildGraph(ctx, { maskPositions: true }, config).outputs.logits;
      if (!logits) throw new TunaError('unsupported_model', `${model.architecture} gives no masked-LM logits; prompt-based training needs a masked-LM checkpoint`);
      const index = g.input('piece_index', 'int64', ['examples', layout.pieces]);
      const labels = g.input('labels', 'int64', ['examples']);
      const pieceLogProbs = g.gather(g.reshape(g.logSoftmax(logits, -1), [-1]), index, 0);
      return { loss: g.softmaxCrossEntropyLoss(labelLogits(g, pieceLogProbs, layout), labels).loss };
    },
    { session: { threads: opts.threads }, dropoutSeed: opts.seed ?? 42, initStd: model.config.initializer_range as number | undefined, layers: model.layers },
  );
}

/**
 * Trains `model` on `examples` in every template of `config` (AdamW, linear decay); the
 * parameters in the model's store are updated in place. Batches hold `batchSize` (example,
 * template) items, shuffled every epoch from `seed`.
 */
export async function trainPrompt(opts: PromptTrainingOptions): Promise<PromptTrainingResult> {
  const maskToken = opts.tokenizer.options.maskToken;
  if (opts.tokenizer.maskTokenId === undefined || maskToken === undefined) {
    throw new TunaError('unsupported_model', 'the tokenizer has no mask token (mask_token in tokenizer_config.json); prompt-based training needs one', { field: 'model' });
  }
  const templates = opts.config.templates.map((t) => checkPromptTemplate(t, maskToken));
  const items = templates.flatMap((template) => opts.examples.map((example) => ({ example, template })));
  const n = items.length;
  const batchesPerEpoch = Math.ceil(n / opts.batchSize);
  const maxSteps = opts.maxSteps ?? Math.ceil((opts.epochs ?? 1) * batchesPerEpoch);
  const schedule = linearSchedule(opts.learningRate, opts.warmupSteps ?? 0, maxSteps);
  const ids = labelWordPieces(opts.tokenizer, opts.config);
  const step = await compilePromptTraining(opts);
  const optimizer = new AdamW({ weightDecay: opts.weightDecay ?? 0, eps: 1e-8 });
  const maxGradNorm = opts.maxGradNorm ?? 1;
  const losses: number[] = [];
  const started = performance.now();
  let interrupted = false;
  try {
    let globalStep = 0;
    for (let epoch = 0; globalStep < maxSteps && !interrupted; epoch++) {
      const order = [...Array(n).keys()];
      const rng = new Rng((opts.seed ?? 42) + epoch);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (let b = 0; b < batchesPerEpoch && globalStep < maxSteps; b++) {
        const batch = order.slice(b * opts.batchSize, (b + 1) * opts.batchSize).map((i) => items[i]!);
        const result = await step.run(promptBatch(opts.tokenizer, batch, opts.maxLength, ids, opts.model.config.vocab_size));
        if (!Number.isFinite(result.loss)) {
          throw new TunaError('non_finite', `the training loss became ${result.loss} at step ${globalStep + 1}; lower the learning rate`, { field: 'learningRate' });
        }
        const lr = schedule(globalStep);
        optimizer.update(step.trainable, result.grads, lr, maxGradNorm > 0 ? clipCoefficient(result.gradNorm, maxGradNorm) : 1);
        globalStep++;
        losses.push(result.loss);
        await opts.onStep?.({ step: globalStep, maxSteps, loss: result.loss, learningRate: lr });
        if (opts.shouldStop?.()) {
          interrupted = globalStep < maxSteps;
          break;
        }
      }
    }
  } finally {
    await step.release();
  }
  return { steps: losses.length, losses, seconds: (performance.now() - started) / 1000, interrupted };
}

/** Checks a parsed `prompt_config.json`; `file` names it in errors. */
export function parsePromptConfig(raw: unknown, file: string): PromptConfig {
  const bad = (what: string) => new TunaError('invalid_checkpoint', `${file}: ${what}`, { file });
  if (typeof raw !== 'object' || raw === null) throw bad('must be a JSON object with templates, labels and verbalizer');
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.templates) || r.templates.length === 0 || !r.templates.every((t) => typeof t === 'string')) throw bad('"templates" must be a non-empty list of strings');
  if (!Array.isArray(r.labels) || r.labels.length < 2 || !r.labels.every((t) => typeof t === 'string')) throw bad('"labels" must list at least two label names');
  const v = r.verbalizer as Record<string, unknown> | undefined;
  if (typeof v !== 'object' || v === null) throw bad('"verbalizer" must map each label to its words');
  for (const l of r.labels as string[]) {
    const words = v[l];
    if (!Array.isArray(words) || words.length === 0 || !words.every((w) => typeof w === 'string')) throw bad(`"verbalizer" has no list of words for the label "${l}"`);
  }
  return { templates: r.templates as string[], labels: r.labels as string[], verbalizer: v as Record<string, string[]> };
}

/**
 * Writes a prompt classifier: the masked-LM checkpoint, its tokenizer (unless undefined), and `prompt_config.json`
 * (templates, labels, verbalizer), each file atomically.
 */
export async function savePromptModel(
  dir: string,
  model: PreTrainedModel,
  tokenizer: Tokenizer | undefined,
  config: PromptConfig,
  versions: Readonly<Record<string, string>> = {},
): Promise<void> {
  await model.savePretrained(dir);
  await tokenizer?.save(dir);
  const json = { templates: config.templates, labels: config.labels, verbalizer: config.verbalizer, ...(Object.keys(versions).length ? { versions } : {}) };
  await writeFileAtomic(join(dir, PROMPT_CONFIG_FILE), new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
}
