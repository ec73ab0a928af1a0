/**
 * `tuna embed`: sentence embeddings of texts with a model's own pooling, Dense modules,
 * normalisation and prompts (a sentence-transformers directory), or the mean of the tokens of a
 * plain checkpoint.
 */
import { extname } from 'node:path';
import { DataError, loadTextExamples } from '../../data/index.js';
import { decodedLineBatches } from '../../data/lines.js';
import { resolveModel } from '../../io/hub.js';
import { type SentencePooling, featureExtractionPipeline } from '../../pipelines/feature-extraction.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { asError, choice, integer } from './options.js';

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
