/**
 * A prompt-trained masked LM (`prompt_config.json`) as one ONNX text classifier: the graph takes
 * the plain encoding of a text ([CLS] text [SEP], as any text-classification pipeline tokenizes
 * it), writes it into each template in token space ([CLS] prefix text suffix [SEP], the text cut
 * so the prompt fits the positions, as the cloze scorer cuts it), one prompt per template and
 * distinct number of word pieces, runs the masked LM on all of them at once with its head only at
 * the masks, and scores the labels as the prompt pipeline does: a word's score is the geometric
 * mean of its pieces' probabilities, a label's the mean of its words', normalised over the labels
 * per template, then averaged over templates. `logits` is the log of those probabilities, so its
 * softmax is them.
 */
import type { Tokenizer } from '../models/registry.js';
import type { BuildOptions, ModelGraph } from '../models/heads.js';
import type { BuildContext } from '../nn/layers.js';
import { type Graph, type Value, attr } from '../onnx/graph.js';
import { type PromptConfig, TEXT_PAIR_SLOT, checkPromptTemplate, labelWordPieces } from '../fewshot/prompt.js';
import { MASK_SLOT, TEXT_SLOT, encodePrompt } from '../pipelines/zero-shot-cloze.js';
import { ExportError } from './errors.js';

/** One prompt of a template: the token ids around the text, and where its masks are. */
export interface PromptVariant {
  readonly template: number;
  /** Masks in the prompt (the piece count of the words it scores). */
  readonly masks: number;
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
  /** Each mask's place: in the prefix or the suffix, at an offset. */
  readonly maskSlots: readonly { readonly in: 'prefix' | 'suffix'; readonly offset: number }[];
}

/** Texts the token-space prompts are checked on against the cloze scorer's own encoding. */
const PROBES = ['the quick brown fox', 'Hello, world!', 'great', '今天天气很好', 'naïve café', 'a'];

/**
 * The prompts of every template for every piece count of the verbalizer's words, as token ids
 * around the text. Refused when a template's prompt is not its text's own tokens with fixed tokens
 * around them (the tokenizer merges across the text's edges), or has `{text_pair}`.
 */
export function promptVariants(tokenizer: Tokenizer, config: PromptConfig, maxLength: number, file: string): PromptVariant[] {
  const maskToken = tokenizer.options.maskToken;
  const maskId = tokenizer.maskTokenId;
  if (maskToken === undefined || maskId === undefined) throw new ExportError('invalid_checkpoint', `${file}: the tokenizer has no mask token for the prompts`, { file });
  const counts = [...new Set(labelWordPieces(tokenizer, config).flatMap((l) => l.map((w) => w.length)))].sort((a, b) => a - b);
  const pieces = (s: string) => tokenizer.encode(s, undefined, { addSpecialTokens: false, truncation: false }).inputIds;
  const variants: PromptVariant[] = [];
  config.templates.forEach((raw, t) => {
    if (raw.includes(TEXT_PAIR_SLOT)) {
      throw new ExportError('unsupported_architecture', `${file}: template "${raw}" has ${TEXT_PAIR_SLOT}; prompts over text pairs are not exported (tuna's pipelines run them)`, {
        file,
      });
    }
    const template = checkPromptTemplate(raw, maskToken);
    for (const k of counts) {
      const masks = Array.from({ length: k }, () => maskToken).join(' ');
      const [before, after] = template.split(MASK_SLOT).join(masks).split(TEXT_SLOT) as [string, string];
      const prefix = pieces(before);
      const suffix = pieces(after);
      const maskSlots = [
        ...prefix.flatMap((id, offset) => (id === maskId ? [{ in: 'prefix' as const, offset }] : [])),
        ...suffix.flatMap((id, offset) => (id === maskId ? [{ in: 'suffix' as const, offset }] : [])),
      ];
      const variant = { template: t, masks: k, prefix, suffix, maskSlots };
      if (maskSlots.length !== k) throw notTokenSpace(file, raw, `it gives ${maskSlots.length} mask tokens for ${k} masks`);
      for (const probe of PROBES) {
        const want = encodePrompt(tokenizer, template, probe, k, maxLength, 'probe').inputIds;
        const got = tokenSpacePrompt(tokenizer, variant, probe, maxLength);
        if (want.join() !== got.join()) throw notTokenSpace(file, raw, `"${probe}" in it encodes as [${want.join(', ')}], its tokens around the text as [${got.join(', ')}]`);
      }
      variants.push(variant);
    }
  });
  return variants;
}

function notTokenSpace(file: string, template: string, why: string): ExportError {
  return new ExportError(
    'unsupported_architecture',
    `${file}: template "${template}" cannot be exported as fixed tokens around the text's tokens (${why}); the text must tokenize inside the template as it does alone: ` +
      'with a WordPiece tokenizer put spaces or punctuation around {text}; with a byte-level BPE tokenizer (which marks a word after a space) start the template with {text}',
    { file },
  );
}

/** The prompt the graph builds from the plain encoding of `text` (for checking against the cloze scorer). */
function tokenSpacePrompt(tokenizer: Tokenizer, v: PromptVariant, text: string, maxLength: number): number[] {
  const ids = tokenizer.encode(text, undefined, { truncation: false }).inputIds;
  const keep = Math.min(ids.length - 2, maxLength - 2 - v.prefix.length - v.suffix.length);
  return [ids[0]!, ...v.prefix, ...ids.slice(1, 1 + keep), ...v.suffix, ids.at(-1)!];
}

/** Settings of {@link promptClassifierOutputs}. */
export interface PromptExportSpec {
  readonly config: PromptConfig;
  readonly variants: readonly PromptVariant[];
  /** The label words' pieces: label, word, piece ids. */
  readonly pieces: readonly (readonly (readonly number[])[])[];
  /** The longest prompt in tokens (the cloze scorer's `maxLength`). */
  readonly maxLength: number;
  readonly padId: number;
  /**
   * The special token that ends an encoding ([SEP], </s>). The prompts end with it whatever the
   * input's last token is: a tokenizer that truncates a long text may cut it off.
   */
  readonly endId: number;
  readonly vocabSize: number;
}

const RAW_BATCH = 'batch';
const RAW_LENGTH = 'text_length';

/**
 * The graph builder: declares `input_ids` and `attention_mask` [batch, text_length], provides the
 * model's inputs (the prompts) and returns `logits` [batch, labels].
 */
export function promptClassifierOutputs(spec: PromptExportSpec) {
  return (ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph): Readonly<Record<string, Value>> => {
    const g = ctx.scope.g;
    const ids = g.input('input_ids', 'int64', [RAW_BATCH, RAW_LENGTH]);
    const attention = g.input('attention_mask', 'int64', [RAW_BATCH, RAW_LENGTH]);
    const n = g.reduceSum(attention, [1], true);
    const length = g.gather(g.shapeOf(ids), g.ints([1]), 0);
    const extra = Math.max(...spec.variants.map((v) => v.prefix.length + v.suffix.length));
    // Every prompt fits in the text's length plus the longest template, and in the positions.
    const gridLength = g.squeeze(min(g, g.add(length, extra), spec.maxLength), [0]);
    const j = g.unsqueeze(g.node('Range', [g.scalar(0, 'int64'), gridLength, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: ['prompt_length'] }])[0]!, [0]);
    const batch = g.squeeze(g.gather(g.shapeOf(ids), g.ints([0]), 0), [0]);
    const rows = g.node('Range', [g.scalar(0, 'int64'), batch, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: [RAW_BATCH] }])[0]!;

    const promptIds: Value[] = [];
    const promptMasks: Value[] = [];
    const positions: Value[] = [];
    spec.variants.forEach((v, vi) => {
      const P = v.prefix.length;
      const S = v.suffix.length;
      const textTokens = min(g, g.sub(n, 2), spec.maxLength - 2 - P - S);
      const end = g.add(textTokens, P + S + 1);
      // Where each position of the prompt takes its token from: [input row | prefix | suffix | end, pad].
      const source = g.concat([ids, rowsOf(g, v.prefix, ids), rowsOf(g, v.suffix, ids), rowsOf(g, [spec.endId, spec.padId], ids)], 1);
      const index = g.where(
        g.equal(j, 0),
        g.scalar(0, 'int64'),
        g.where(
          lessOrEqual(g, j, P),
          g.add(length, g.sub(j, 1)),
          g.where(
            lessOrEqual(g, j, g.add(textTokens, P)),
            g.sub(j, P),
            g.where(
              lessOrEqual(g, j, g.add(textTokens, P + S)),
              g.add(g.add(length, P), g.sub(g.sub(j, P + 1), textTokens)),
              g.where(g.equal(j, end), g.add(length, P + S), g.add(length, P + S + 1)),
            ),
          ),
        ),
      );
      promptIds.push(g.node('GatherElements', [source, index], [{ dtype: 'int64', shape: index.shape }], { axis: attr.int(1) })[0]!);
      promptMasks.push(g.cast(lessOrEqual(g, j, end), 'int64'));
      // Flat mask positions over the stacked prompts, mask-major: row (variant x batch + b) x grid + position.
      const rowStart = g.mul(g.add(rows, g.mul(batch, vi)), gridLength);
      for (const slot of v.maskSlots) {
        const at = slot.in === 'prefix' ? g.scalar(1 + slot.offset, 'int64') : g.add(g.squeeze(textTokens, [1]), 1 + P + slot.offset);
        positions.push(g.add(rowStart, at));
      }
    });
    const stackedIds = g.concat(promptIds, 0);
    g.provide('input_ids', stackedIds);
    g.provide('attention_mask', g.concat(promptMasks, 0));
    g.provide('token_type_ids', g.zerosLike(stackedIds));
    g.provide('mask_positions', g.concat(positions, 0));
    const logits = buildHead({ maskPositions: true }).outputs.logits;
    if (!logits || g.unclaimed().some((name) => name !== 'token_type_ids')) {
      throw new ExportError('unsupported_architecture', `the masked-LM graph did not take the prompts (${g.unclaimed().join(', ')} left over)`);
    }
    // [masks of every variant, batch, vocab]
    const total = spec.variants.reduce((s, v) => s + v.masks, 0);
    const logProbs = g.reshape(g.logSoftmax(logits, -1), [total, RAW_BATCH, spec.vocabSize]);
    const maskRow = (variant: number, i: number) => spec.variants.slice(0, variant).reduce((s, v) => s + v.masks, 0) + i;

    const perTemplate = spec.config.templates.map((_, t) => {
      const wordScores: Value[] = [];
      const average: number[][] = [];
      spec.pieces.forEach((words, label) => {
        for (const pieces of words) {
          const variant = spec.variants.findIndex((v) => v.template === t && v.masks === pieces.length);
          const logs = pieces.map((id, i) => g.gather(g.squeeze(g.slice(logProbs, [maskRow(variant, i)], [maskRow(variant, i) + 1], [0]), [0]), g.ints([id]), 1));
          const meanLog = g.mul(logs.length === 1 ? logs[0]! : logs.reduce((a, b) => g.add(a, b)), 1 / pieces.length);
          wordScores.push(g.exp(meanLog));
          average.push(spec.pieces.map((_, l) => (l === label ? 1 / words.length : 0)));
        }
      });
      const scores = g.matMul(g.concat(wordScores, 1), g.constant(Float32Array.from(average.flat()), 'float32', [average.length, spec.pieces.length]));
      return g.div(scores, g.reduceSum(scores, [1], true));
    });
    const probabilities = g.mul(
      perTemplate.reduce((a, b) => g.add(a, b)),
      1 / perTemplate.length,
    );
    return { logits: g.log(probabilities) };
  };
}

/** `values` as a constant row repeated for every row of `like`: [rows, values]. */
function rowsOf(g: Graph, values: readonly number[], like: Value): Value {
  if (values.length === 0) return g.slice(like, [0], [0], [1]);
  const row = g.constant(BigInt64Array.from(values.map(BigInt)), 'int64', [1, values.length]);
  return g.expand(row, [like.shape[0]!, values.length], like);
}

function lessOrEqual(g: Graph, a: Value, b: Value | number): Value {
  return g.not(g.greater(a, b));
}

function min(g: Graph, a: Value, b: number): Value {
  return g.where(g.less(a, b), a, g.scalar(b, 'int64'));
}
