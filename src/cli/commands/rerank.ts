/**
 * `tuna rerank`: scores passages against a query with a cross-encoder and prints them best first.
 */
import { DataError } from '../../data/index.js';
import { decodedLineBatches } from '../../data/lines.js';
import { resolveModel } from '../../io/hub.js';
import { textRankingPipeline } from '../../pipelines/text-ranking.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { asError, integer } from './options.js';

/** Options of `tuna rerank`, as commander parses them. */
export interface RerankOptions {
  readonly model: string;
  readonly revision?: string;
  readonly query: string;
  readonly text?: string[];
  readonly input?: string;
  readonly topK?: string;
  readonly json?: boolean;
  readonly batchSize?: string;
  readonly maxLength?: string;
  readonly threads?: string;
}

/** The passages of `--text` (repeatable) or `--input` (one per line, blank lines skipped; - for standard input). */
async function readPassages(o: RerankOptions, out: Output): Promise<string[]> {
  if ((o.text === undefined) === (o.input === undefined)) throw new CliError('usage', 'give the passages with --text (one or more) or --input, not both');
  if (o.text !== undefined) {
    for (const t of o.text) if (t.trim() === '') throw new CliError('usage', '--text is empty; give a passage with at least one non-space character');
    return o.text;
  }
  const name = o.input === '-' ? 'standard input' : o.input!;
  const passages: string[] = [];
  let blank = 0;
  const source = { emptyProblem: 'is empty: there is no passage to rank. Give one passage per line', ...(o.input === '-' ? { input: process.stdin } : {}) };
  await asError(async () => {
    for await (const { lines } of decodedLineBatches(name, source)) {
      for (const line of lines) {
        if (line.trim() === '') blank++;
        else passages.push(line);
      }
    }
    if (passages.length === 0) throw new DataError(name, undefined, 'has no passage to rank: every line is blank. Give one passage per line');
  });
  if (blank > 0) out.stderr(`tuna: skipped ${blank} blank line(s) of ${name}\n`);
  return passages;
}

function jsonLine(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * `tuna rerank --model M --query Q (--text T... | --input FILE|-) [--top-k K] [--json]`: the
 * passages ordered by the model's score of (query, passage), best first. `--json` prints one
 * `{"query", "passage", "index", "score"}` line per passage (index: its position in the input);
 * otherwise `score<TAB>index<TAB>passage` lines.
 */
export async function rerankCommand(o: RerankOptions, out: Output): Promise<void> {
  if (o.query.trim() === '') throw new CliError('usage', '--query is empty; give the query to rank the passages against');
  const topK = o.topK === undefined ? undefined : integer('--top-k', o.topK, 1);
  const batchSize = o.batchSize === undefined ? 32 : integer('--batch-size', o.batchSize, 1);
  const threads = o.threads === undefined ? undefined : integer('--threads', o.threads, 1);
  const maxLength = o.maxLength === undefined ? undefined : integer('--max-length', o.maxLength, 3);
  const passages = await readPassages(o, out);
  const dir = await asError(() => resolveModel(o.model, o.revision === undefined ? {} : { revision: o.revision }));
  const ranker = await asError(() => textRankingPipeline(dir, { batchSize, ...(threads === undefined ? {} : { threads }), ...(maxLength === undefined ? {} : { maxLength }) }));
  try {
    const started = performance.now();
    const ranked = await asError(() => ranker(o.query, passages, topK === undefined ? {} : { topK }));
    const seconds = (performance.now() - started) / 1000;
    const lines = ranked.map((r) =>
      o.json
        ? jsonLine({ query: o.query, passage: passages[r.corpus_id], index: r.corpus_id, score: r.score })
        : `${r.score.toPrecision(6)}\t${r.corpus_id}\t${passages[r.corpus_id]}`,
    );
    if (lines.length) out.stdout(`${lines.join('\n')}\n`);
    out.stderr(`tuna: ranked ${passages.length} passage(s) (activation ${ranker.activation}) in ${seconds.toFixed(2)} s\n`);
  } finally {
    await ranker.dispose();
  }
}
