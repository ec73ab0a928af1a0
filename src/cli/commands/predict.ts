import { extname } from 'node:path';
import { DataError, loadTextExamples } from '../../data/index.js';
import { decodedLineBatches } from '../../data/lines.js';
import { readConfig } from '../../io/checkpoint.js';
import { resolveModel } from '../../io/hub.js';
import { type ModelTask, tasksOfArchitectures } from '../../models/registry.js';
import { adapterModelConfig, isAdapterDir } from '../../peft/index.js';
import { pipeline } from '../../pipelines/pipeline.js';
import type { EntityGroup, TextClassificationInput, TextClassificationLabel } from '../../pipelines/types.js';
import { unknownTokenRate, unknownTokenWarning } from '../../tokenizers/unknown-rate.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { asError, integer, number } from './options.js';
import { fewShotKind } from '../../fewshot/detect.js';

/** Options of `tuna predict`. */
export interface PredictOptions {
  readonly model: string;
  readonly text?: string;
  readonly textPair?: string;
  readonly input?: string;
  readonly json?: boolean;
  readonly batchSize?: string;
  readonly textColumn?: string;
  readonly textPairColumn?: string;
  readonly topK?: string;
  readonly threshold?: string;
  readonly stride?: string;
  readonly threads?: string;
  readonly revision?: string;
  /** How inputs are echoed: `all`, `none`, or a number of characters (default {@link DEFAULT_ECHO_CHARS}). */
  readonly echoText?: string;
  /** For an adapter directory: the base model instead of the one adapter_config.json names. */
  readonly baseModel?: string;
}

/** Texts longer than this (in UTF-16 units) are echoed cut to it unless `--echo-text` says otherwise. */
export const DEFAULT_ECHO_CHARS = 10_000;

/** How much of each input the output repeats: all of it, none, or at most `chars` characters. */
type Echo = { readonly kind: 'all' } | { readonly kind: 'none' } | { readonly kind: 'cut'; readonly chars: number };

function echoOf(raw: string | undefined): Echo {
  if (raw === undefined) return { kind: 'cut', chars: DEFAULT_ECHO_CHARS };
  if (raw === 'all' || raw === 'none') return { kind: raw };
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) throw new CliError('usage', `--echo-text must be all, none or a number of characters >= 1, got "${raw}"`);
  return { kind: 'cut', chars: Number(raw) };
}

/** `text` as echoed: whole, or its first characters (a surrogate pair is never split); undefined for none. */
function echoed(text: string, echo: Echo): { readonly text: string; readonly cut: boolean } | undefined {
  if (echo.kind === 'none') return undefined;
  if (echo.kind === 'all' || text.length <= echo.chars) return { text, cut: false };
  const unit = text.charCodeAt(echo.chars - 1);
  return { text: text.slice(0, unit >= 0xd800 && unit <= 0xdbff ? echo.chars - 1 : echo.chars), cut: true };
}

/** The JSON fields echoing an input under `name` (`text`, `text_pair`): the text, and whether it was cut and its length. */
function echoFields(name: string, text: string | undefined, echo: Echo): Record<string, unknown> {
  if (text === undefined) return {};
  const e = echoed(text, echo);
  if (e === undefined) return {};
  return e.cut ? { [name]: e.text, [`${name}_truncated`]: true, [`${name}_length`]: text.length } : { [name]: e.text };
}

/** An input as printed for people: as echoed, with `…` where it was cut; empty for none. */
function shown(text: string, echo: Echo): string {
  const e = echoed(text, echo);
  return e === undefined ? '' : e.cut ? `${e.text}…` : e.text;
}

/** How much of each text the [UNK] rate is measured on: enough for the estimate, never a whole huge text. */
const UNKNOWN_RATE_SAMPLE_CHARS = 10_000;

/** JSON for one line of JSON Lines output: U+2028/U+2029 escaped. */
function jsonLine(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** One input of a prediction run: a text, or a text pair. */
interface PredictInput {
  readonly text: string;
  readonly textPair?: string;
}

const TABLE_EXTENSIONS = new Set(['.csv', '.tsv', '.jsonl', '.json']);

/** Reads the inputs: `--text`, or `--input FILE` (plain lines, or CSV/TSV/JSONL with `--text-column`), or `--input -` (standard input). */
async function readInputs(o: PredictOptions, out: Output): Promise<PredictInput[]> {
  if ((o.text === undefined) === (o.input === undefined)) throw new CliError('usage', 'give exactly one of --text or --input');
  if (o.text !== undefined) {
    if (o.text.trim() === '') throw new CliError('usage', '--text is empty; give a text with at least one non-space character');
    return [{ text: o.text, ...(o.textPair === undefined ? {} : { textPair: o.textPair }) }];
  }
  const path = o.input!;
  if (path !== '-' && TABLE_EXTENSIONS.has(extname(path).toLowerCase())) {
    const examples = await asError(() => loadTextExamples(path, { columns: { text: o.textColumn, textPair: o.textPairColumn }, requireLabels: false }));
    return examples.map((e) => ({ text: e.text, ...(e.textPair === undefined ? {} : { textPair: e.textPair }) }));
  }
  if (o.textColumn !== undefined || o.textPairColumn !== undefined) {
    throw new CliError('usage', `${path}: --text-column and --text-pair-column need a .csv, .tsv or .jsonl file; this one is read as one text per line`);
  }
  return asError(() => readTextLines(path === '-' ? 'standard input' : path, path === '-' ? process.stdin : undefined, out));
}

/**
 * The texts of a file (or of `input`, named `name`) with one text per line, streamed: a named pipe
 * is read as it is written, a device is refused, blank lines are skipped (and counted on stderr).
 *
 * @throws DataError for an empty file, a file of blank lines only, or invalid UTF-8 (with its line).
 */
async function readTextLines(name: string, input: AsyncIterable<Uint8Array> | undefined, out: Output): Promise<PredictInput[]> {
  const texts: PredictInput[] = [];
  let blank = 0;
  const source = { emptyProblem: 'is empty: there is no text to predict. Give one text per line', ...(input === undefined ? {} : { input }) };
  for await (const { lines } of decodedLineBatches(name, source)) {
    for (const text of lines) {
      if (text.trim() === '') blank++;
      else texts.push({ text });
    }
  }
  if (texts.length === 0) throw new DataError(name, undefined, `has no text to predict: its ${blank} line${blank === 1 ? ' is' : 's are'} blank. Give one text per line`);
  if (blank > 0) out.stderr(`tuna: skipped ${blank} blank line(s) of ${name}\n`);
  return texts;
}

/** The task `tuna predict` runs for a checkpoint: its head's own (a classifier, a tagger or a masked LM). */
function taskOf(dir: string, architectures: readonly string[]): Exclude<ModelTask, 'feature-extraction'> {
  const task = tasksOfArchitectures(architectures).find((t) => t !== 'feature-extraction');
  if (task === undefined) {
    throw new CliError(
      'invalid_model',
      `${dir}: config.json architectures ${JSON.stringify(architectures)} name no head predict can run (a sequence or token classifier, or a masked LM); use tuna serve's /v1/embed or pipeline('feature-extraction') for a bare encoder`,
    );
  }
  return task;
}

/**
 * `tuna predict --model DIR_OR_ID (--text T | --input FILE|-) [--json]`: runs the checkpoint's own
 * pipeline (text classification, token classification or fill-mask) and prints one result per
 * input, in input order; `--json` prints JSON Lines with the raw logits.
 */
export async function predictCommand(o: PredictOptions, out: Output): Promise<void> {
  const optional = (flag: string, raw: string | undefined, min: number) => (raw === undefined ? undefined : integer(flag, raw, min));
  const batchSize = optional('--batch-size', o.batchSize, 1) ?? 32;
  const topK = optional('--top-k', o.topK, 1);
  const stride = optional('--stride', o.stride, 0);
  const threads = optional('--threads', o.threads, 1);
  const threshold = o.threshold === undefined ? undefined : number('--threshold', o.threshold, { min: 0, max: 1 });
  const echo = echoOf(o.echoText);
  const inputs = await readInputs(o, out);
  const dir = await asError(() => resolveModel(o.model, o.revision === undefined ? {} : { revision: o.revision }));
  const adapter = isAdapterDir(dir);
  if (o.baseModel !== undefined && !adapter) throw new CliError('usage', `--base-model applies to an adapter directory (adapter_config.json); ${dir} is a full checkpoint`);
  const config = await asError(() => (adapter ? adapterModelConfig(dir, { baseModel: o.baseModel }) : readConfig(dir)));
  const architectures = Array.isArray(config.architectures) ? config.architectures.map(String) : [];
  const task = fewShotKind(dir) === undefined ? taskOf(dir, architectures) : 'text-classification';
  if (stride !== undefined && task !== 'token-classification') throw new CliError('usage', '--stride applies to token classification only');
  if (threshold !== undefined && task !== 'text-classification') throw new CliError('usage', '--threshold applies to text classification only');
  const loadOpts = { batchSize, ...(threads === undefined ? {} : { threads }), ...(o.baseModel === undefined ? {} : { baseModel: o.baseModel }) };

  if (task === 'fill-mask') {
    const unmasker = await asError(() => pipeline('fill-mask', dir, loadOpts));
    try {
      warnUnknown(unmasker.tokenizer, inputs, o.model, out);
      const results = await asError(() =>
        unmasker.runBatch(
          inputs.map((i) => i.text),
          { topK: topK ?? 5 },
        ),
      );
      results.forEach((result, i) => {
        // With several masks a text gets one candidate list per mask; predict shows the first mask's.
        const candidates = (Array.isArray(result[0]) ? result[0] : result) as { score: number; token: number; token_str: string; sequence: string }[];
        if (o.json) out.stdout(`${jsonLine({ ...echoFields('text', inputs[i]!.text, echo), candidates })}\n`);
        else out.stdout(`${shown(inputs[i]!.text, echo)}\n${candidates.map((c) => `  ${c.token_str}\t${c.score.toFixed(4)}\t${c.sequence}\n`).join('')}`);
      });
    } finally {
      await unmasker.dispose();
    }
    return;
  }

  if (task === 'token-classification') {
    const tagger = await asError(() => pipeline('token-classification', dir, loadOpts));
    try {
      warnUnknown(tagger.tokenizer, inputs, o.model, out);
      const texts = inputs.map((i) => i.text);
      const results = await asError(() => tagger.runWithLogits(texts, { aggregationStrategy: 'simple', ...(stride === undefined ? {} : { stride }) }));
      results.forEach(({ result, logits }, i) => {
        const entities = (result as EntityGroup[]).map((e) => ({ entity_group: e.entity_group, word: e.word, start: e.start, end: e.end, score: e.score }));
        if (o.json) out.stdout(`${jsonLine({ ...echoFields('text', texts[i], echo), entities, logits: logits.length === 1 ? logits[0] : logits.flat() })}\n`);
        else out.stdout(`${shown(texts[i]!, echo)}\n${entities.map((e) => `  ${e.entity_group}\t${e.word}\t[${e.start}, ${e.end})\t${e.score.toFixed(4)}\n`).join('')}`);
      });
    } finally {
      await tagger.dispose();
    }
    return;
  }

  const classifier = await asError(() => pipeline('text-classification', dir, loadOpts));
  try {
    warnUnknown(classifier.tokenizer, inputs, o.model, out);
    const multiLabel = classifier.config.problem_type === 'multi_label_classification';
    const cut = threshold ?? (multiLabel ? 0.5 : undefined);
    const pipelineInputs: TextClassificationInput[] = inputs.map((i) => (i.textPair === undefined ? i.text : { text: i.text, textPair: i.textPair }));
    const results = await asError(() => classifier.runWithLogits(pipelineInputs, { topK: cut !== undefined ? null : (topK ?? 1) }));
    results.forEach(({ result, logits }, i) => {
      const input = inputs[i]!;
      const ranked: TextClassificationLabel[] = cut === undefined ? result : result.filter((r) => r.score >= cut).slice(0, topK ?? Infinity);
      const best = result[0]!;
      const many = cut !== undefined || (topK ?? 1) > 1;
      const record = {
        ...echoFields('text', input.text, echo),
        ...echoFields('text_pair', input.textPair, echo),
        label: best.label,
        score: best.score,
        ...(many ? { labels: ranked } : {}),
        logits,
      };
      if (o.json) out.stdout(`${jsonLine(record)}\n`);
      else if (many) out.stdout(`${ranked.map((r) => `${r.label}:${r.score.toFixed(4)}`).join(',') || '-'}${echo.kind === 'none' ? '' : `\t${shown(input.text, echo)}`}\n`);
      else out.stdout(`${best.label}\t${best.score.toFixed(4)}${echo.kind === 'none' ? '' : `\t${shown(input.text, echo)}`}\n`);
    });
  } finally {
    await classifier.dispose();
  }
}

/** Warns on stderr when the vocabulary covers the inputs poorly (e.g. Chinese text into an English model). */
function warnUnknown(tokenizer: Parameters<typeof unknownTokenRate>[0], inputs: readonly PredictInput[], source: string, out: Output): void {
  const texts = inputs.map((i) => sampleOf(i.text));
  const warning = unknownTokenWarning(unknownTokenRate(tokenizer, texts), texts, source, tokenizer);
  if (warning) out.stderr(`tuna: ${warning}\n`);
}

/** The start of `text` the [UNK] rate is measured on (a surrogate pair is never split). */
export function sampleOf(text: string, chars = UNKNOWN_RATE_SAMPLE_CHARS): string {
  if (text.length <= chars) return text;
  const unit = text.charCodeAt(chars - 1);
  return text.slice(0, unit >= 0xd800 && unit <= 0xdbff ? chars - 1 : chars);
}
