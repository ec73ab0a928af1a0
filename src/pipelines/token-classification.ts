/** The token-classification pipeline: per-token labels or grouped entities with character offsets. */
import { numLabels } from '../models/registry.js';
import { wordPieceDecode } from '../tokenizers/decoder.js';
import type { Encoding } from '../tokenizers/encoding.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { type AggregationContext, type TokenScores, aggregateTokens, resolveOverlaps } from './aggregation.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openModel } from './checkpoint.js';
import { PipelineError } from './errors.js';
import { callOptions, checkChoice, checkInteger, checkText, checkTexts, inputField } from './inputs.js';
import { softmax } from './math.js';
import { encodeWindows } from './windows.js';
import type { AggregationStrategy, EntityGroup, PipelineOptions, TokenClassificationOptions, TokenClassificationPipeline, TokenEntity } from './types.js';

const STRATEGIES: readonly AggregationStrategy[] = ['none', 'simple', 'first', 'average', 'max'];

/** Call options and their transformers.js (snake_case) spellings. */
const TOKEN_CLASSIFICATION_OPTIONS = {
  aggregationStrategy: 'aggregation_strategy',
  ignoreLabels: 'ignore_labels',
  stride: 'stride',
  isSplitIntoWords: 'is_split_into_words',
  batchSize: 'batch_size',
} as const;

/** Checks one input split into words: a non-empty list of non-empty strings. */
function checkWords(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new PipelineError('invalid_input', `${field} must be a non-empty list of words when isSplitIntoWords is set`, { field });
  }
  return value.map((w, k) => checkText(w, `${field}[${k}]`));
}

/**
 * Encodes words as one sentence (each word tokenized on its own, as Hugging Face does with
 * `is_split_into_words`), with offsets into the words joined by single spaces.
 */
function encodeSplitWords(tokenizer: Tokenizer, words: readonly string[], maxLength: number): Encoding {
  const enc = tokenizer.encodeWords(words, { maxLength, truncation: true });
  const starts: number[] = [];
  let at = 0;
  for (const w of words) {
    starts.push(at);
    at += w.length + 1;
  }
  const offsets = enc.offsets.map(([s, e], t): [number, number] => {
    const word = enc.wordIds[t];
    return word === null || word === undefined ? [s, e] : [s + starts[word]!, e + starts[word]!];
  });
  return { ...enc, offsets };
}

/** The non-special tokens of one encoded window with their label probabilities. */
export function tokenScores(text: string, enc: Encoding, probabilities: readonly number[][], unkId: number): TokenScores[] {
  const out: TokenScores[] = [];
  let previousWord: number | null = null;
  for (let t = 0; t < enc.inputIds.length; t++) {
    const word = enc.wordIds[t] ?? null;
    if (enc.specialTokensMask[t] || word === null) {
      previousWord = null;
      continue;
    }
    const [start, end] = enc.offsets[t]!;
    const unknown = enc.inputIds[t] === unkId;
    out.push({
      index: t,
      word: unknown ? text.slice(start, end) : enc.tokens[t]!,
      scores: probabilities[t]!,
      start,
      end,
      isSubword: !unknown && word === previousWord,
    });
    previousWord = word;
  }
  return out;
}

function aggregationContext(tokenizer: Tokenizer, id2label: Readonly<Record<string, string>>): AggregationContext {
  const { continuingSubwordPrefix, decoderCleanup } = tokenizer.options;
  // Byte-level BPE and SentencePiece pieces mark word starts, not continuations: their decoder joins them.
  const decoderJoin = continuingSubwordPrefix === '' ? tokenizer.convertTokensToString?.bind(tokenizer) : undefined;
  return {
    labelOf: (id) => id2label[String(id)] ?? `LABEL_${id}`,
    joinTokens: (tokens) => (decoderJoin ? decoderJoin(tokens).trim() : wordPieceDecode(tokens, continuingSubwordPrefix, decoderCleanup)),
  };
}

/** Loads a BertForTokenClassification checkpoint as a token-classification pipeline. */
export async function tokenClassificationPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<TokenClassificationPipeline> {
  const checkpoint = await openModel('token-classification', dirOrId, opts);
  const state = new PipelineState('token-classification', checkpoint);

  const tag = async (
    inputs: readonly (string | readonly string[])[],
    rawOpts: TokenClassificationOptions = {},
    single = false,
    logitsOut?: number[][][][],
  ): Promise<(TokenEntity[] | EntityGroup[])[]> => {
    const callOpts = callOptions<TokenClassificationOptions>(rawOpts, TOKEN_CLASSIFICATION_OPTIONS);
    const { config, tokenizer, session, maxLength, dir } = state.open();
    const strategy = callOpts.aggregationStrategy === undefined ? 'none' : checkChoice(callOpts.aggregationStrategy, 'aggregationStrategy', STRATEGIES);
    const ignoreLabels = callOpts.ignoreLabels ?? ['O'];
    if (!Array.isArray(ignoreLabels) || ignoreLabels.some((l) => typeof l !== 'string')) {
      throw new PipelineError('invalid_option', 'ignoreLabels must be a list of label names', { field: 'ignoreLabels' });
    }
    let stride: number | undefined;
    if (callOpts.stride !== undefined) {
      stride = checkInteger(callOpts.stride, 'stride', 0, maxLength - 3);
      if (strategy === 'none') {
        throw new PipelineError('invalid_option', "stride merges entities across windows, which needs an aggregationStrategy other than 'none' (e.g. 'simple' or 'first')", {
          field: 'stride',
        });
      }
    }
    const splitIntoWords = callOpts.isSplitIntoWords === true;
    if (splitIntoWords && stride !== undefined) {
      throw new PipelineError('invalid_option', 'stride reads long texts in windows; it does not apply to inputs split into words', { field: 'stride' });
    }
    const batchSize = state.batchSize(callOpts);
    // Every text becomes one encoding, or several windows when it is long and a stride is given.
    const windows: { text: number; encoding: Encoding }[] = [];
    const texts = inputs.map((raw, i) => {
      const field = inputField(single, i);
      if (splitIntoWords) {
        const words = checkWords(raw, field);
        windows.push({ text: i, encoding: encodeSplitWords(tokenizer, words, maxLength) });
        return words.join(' ');
      }
      const text = checkText(raw, field);
      const encodings = stride === undefined ? [tokenizer.encode(text, undefined, { maxLength })] : encodeWindows(tokenizer, text, maxLength, stride);
      for (const encoding of encodings) windows.push({ text: i, encoding });
      return text;
    });
    const n = numLabels(config);
    const probabilities = new Array<number[][]>(windows.length);
    await runInBatches(
      session,
      windows.map((w) => w.encoding),
      { padId: tokenizer.padTokenId, batchSize, source: dir },
      (indices, outputs, S) => {
        const logits = outputs.logits!.data as Float32Array;
        indices.forEach((w, b) => {
          const length = windows[w]!.encoding.inputIds.length;
          const rows = Array.from({ length }, (_, t) => logits.subarray((b * S + t) * n, (b * S + t + 1) * n));
          if (logitsOut) (logitsOut[windows[w]!.text] ??= [])[w] = rows.map((r) => Array.from(r));
          probabilities[w] = rows.map((r) => softmax(r));
        });
      },
    );
    const base = aggregationContext(tokenizer, config.id2label);
    const perText = texts.map(() => ({ entities: [] as (TokenEntity | EntityGroup)[], windows: 0 }));
    windows.forEach((w, k) => {
      const tokens = tokenScores(texts[w.text]!, w.encoding, probabilities[k]!, tokenizer.unkTokenId);
      const target = perText[w.text]!;
      const text = texts[w.text]!;
      target.entities.push(...aggregateTokens(tokens, strategy, ignoreLabels, { ...base, textSpan: (s, e) => text.slice(s, e) }));
      target.windows++;
    });
    return perText.map((t) => (t.windows > 1 ? resolveOverlaps(t.entities) : t.entities) as TokenEntity[] | EntityGroup[]);
  };

  // With isSplitIntoWords, one input is a list of words: a call takes one such list or a list of them.
  const words = (callOpts: TokenClassificationOptions | undefined) => callOptions<TokenClassificationOptions>(callOpts, TOKEN_CLASSIFICATION_OPTIONS).isSplitIntoWords === true;
  const call = async (inputs: unknown, callOpts?: TokenClassificationOptions) => {
    const one = words(callOpts) ? !Array.isArray(inputs) || !inputs.some((x) => Array.isArray(x)) : !Array.isArray(inputs);
    return one ? (await tag([inputs as string], callOpts, true))[0]! : tag(inputs as string[], callOpts);
  };
  const batchOf = (inputs: unknown, callOpts: TokenClassificationOptions | undefined) => {
    if (!words(callOpts)) return checkTexts(inputs);
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'inputs must be a list of word lists', { field: 'inputs' });
    return inputs as (readonly string[])[];
  };
  const runBatch = async (inputs: readonly string[], callOpts?: TokenClassificationOptions) => tag(batchOf(inputs, callOpts), callOpts);
  const runWithLogits = async (inputs: readonly string[], callOpts?: TokenClassificationOptions) => {
    const logits: number[][][][] = [];
    const results = await tag(batchOf(inputs, callOpts), callOpts, false, logits);
    // One matrix per window of a text (one window unless a stride splits it), windows in order.
    return results.map((result, i) => ({ result, logits: (logits[i] ?? []).filter((m) => m !== undefined) }));
  };
  return assemblePipeline<TokenClassificationPipeline>(state, call as never, runBatch as never, { runWithLogits });
}
