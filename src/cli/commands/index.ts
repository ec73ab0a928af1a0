/**
 * `tuna index build|add|delete|info`: search index directories (dense vectors with an HNSW
 * graph, BM25) built from corpus files.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DataError } from '../../data/errors.js';
import { type CorpusFields, type IndexInfo, SearchIndex, readCorpus } from '../../retrieval/index.js';
import { CliError } from '../errors.js';
import { type Output, formatBytes, formatCount, toJson } from '../output.js';
import { asError, choice, integer } from './options.js';

/** Flags of the corpus file, shared by build and add. */
interface CorpusFlags {
  readonly input: string;
  readonly idField?: string;
  readonly textField?: string;
  readonly titleField?: string;
  readonly batchSize?: string;
  readonly threads?: string;
  readonly json?: boolean;
}

/** Options of `tuna index build`. */
export interface IndexBuildOptions extends CorpusFlags {
  readonly model: string;
  readonly output: string;
  /** `--no-ann`. */
  readonly ann: boolean;
  /** `--no-bm25`. */
  readonly bm25: boolean;
  readonly metric: string;
  readonly connectivity?: string;
  readonly expansionAdd?: string;
  readonly expansionSearch?: string;
  readonly documentPromptName?: string;
  readonly queryPromptName?: string;
  readonly overwrite?: boolean;
}

/** Options of `tuna index add`. */
export interface IndexAddOptions extends CorpusFlags {
  readonly index: string;
  readonly model?: string;
}

/** Options of `tuna index delete`. */
export interface IndexDeleteOptions {
  readonly index: string;
  readonly id?: string[];
  readonly idsFile?: string;
  readonly json?: boolean;
}

/** Options of `tuna index info`. */
export interface IndexInfoOptions {
  readonly index: string;
  readonly json?: boolean;
}

/** Adds the corpus flags to a command. */
export function corpusOptions(c: Command): Command {
  return c
    .requiredOption('--input <file>', 'documents: a BEIR corpus.jsonl ({"_id", "title", "text"}), other JSON Lines, or CSV/TSV with a header row')
    .option('--id-field <name>', 'field or column of the document id (default _id when present, else id)')
    .option('--text-field <name>', 'field or column of the text (default text)')
    .option('--title-field <name>', 'field or column of the title, used when present (default title)')
    .option('--batch-size <n>', 'texts per model run (default 32)')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print a JSON summary on stdout');
}

function fieldsOf(o: CorpusFlags): CorpusFields {
  return { id: o.idField, text: o.textField, title: o.titleField };
}

function modelOptions(o: { batchSize?: string; threads?: string }) {
  return {
    ...(o.batchSize === undefined ? {} : { batchSize: integer('--batch-size', o.batchSize, 1) }),
    ...(o.threads === undefined ? {} : { threads: integer('--threads', o.threads, 1) }),
  };
}

/** A short summary of an index. */
function describe(info: IndexInfo): string {
  const parts = [
    `${formatCount(info.documents)} documents`,
    `${info.dimension} dimensions (${info.metric === 'cos' ? 'cosine' : 'dot product'})`,
    info.ann ? `HNSW (connectivity ${info.ann.connectivity}, expansion ${info.ann.expansionAdd}/${info.ann.expansionSearch})` : 'exact dense search only',
    info.bm25 ? `BM25 (k1 ${info.bm25.k1}, b ${info.bm25.b})` : 'no BM25',
  ];
  return parts.join(', ');
}

function summary(info: IndexInfo, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    index: info.directory,
    ...extra,
    documents: info.documents,
    dimension: info.dimension,
    generation: info.generation,
    bytes: Object.values(info.files).reduce((s, b) => s + b, 0),
  };
}

/** `tuna index build --model M --input FILE --output DIR`. */
export async function indexBuildCommand(o: IndexBuildOptions, out: Output): Promise<void> {
  const metric = choice('--metric', o.metric, ['cos', 'ip'] as const);
  const ann = o.ann
    ? {
        ...(o.connectivity === undefined ? {} : { connectivity: integer('--connectivity', o.connectivity, 2) }),
        ...(o.expansionAdd === undefined ? {} : { expansionAdd: integer('--expansion-add', o.expansionAdd, 1) }),
        ...(o.expansionSearch === undefined ? {} : { expansionSearch: integer('--expansion-search', o.expansionSearch, 1) }),
      }
    : false;
  if (!o.ann && (o.connectivity ?? o.expansionAdd ?? o.expansionSearch) !== undefined)
    throw new CliError('usage', '--connectivity and --expansion-* set the HNSW graph, which --no-ann leaves out');
  const documents = await asError(() => readCorpus(o.input, fieldsOf(o)));
  out.stderr(`tuna: ${formatCount(documents.length)} documents from ${o.input}; embedding with ${o.model}\n`);
  const started = performance.now();
  let lastReport = started;
  const index = await asError(() =>
    SearchIndex.build({
      model: o.model,
      documents,
      metric,
      ann,
      bm25: o.bm25,
      ...(o.documentPromptName === undefined ? {} : { documentPromptName: o.documentPromptName === 'none' ? null : o.documentPromptName }),
      ...(o.queryPromptName === undefined ? {} : { queryPromptName: o.queryPromptName === 'none' ? null : o.queryPromptName }),
      ...modelOptions(o),
      onProgress: (done, total) => {
        const now = performance.now();
        if (now - lastReport > 2000 && done < total) {
          lastReport = now;
          out.stderr(`tuna: embedded ${formatCount(done)}/${formatCount(total)} documents\n`);
        }
      },
    }),
  );
  try {
    await asError(() => index.save(o.output, { overwrite: !!o.overwrite }));
    const info = index.info();
    const seconds = (performance.now() - started) / 1000;
    if (o.json) out.stdout(`${toJson(summary(info, { seconds: Math.round(seconds * 1000) / 1000 }))}\n`);
    else out.stdout(`index of ${describe(info)} written to ${o.output} (${formatBytes(summary(info).bytes as number)}, ${seconds.toFixed(1)} s)\n`);
  } finally {
    await index.dispose();
  }
}

/** `tuna index add --index DIR --input FILE`: new ids are added, known ones replaced. */
export async function indexAddCommand(o: IndexAddOptions, out: Output): Promise<void> {
  const opts = modelOptions(o);
  const documents = await asError(() => readCorpus(o.input, fieldsOf(o)));
  const index = await asError(() => SearchIndex.open(o.index, { ...opts, ...(o.model === undefined ? {} : { model: o.model }) }));
  try {
    const r = await asError(() => index.add(documents));
    await asError(() => index.save());
    const info = index.info();
    if (o.json) out.stdout(`${toJson(summary(info, { added: r.added, replaced: r.replaced.length }))}\n`);
    else out.stdout(`${formatCount(r.added)} documents added, ${formatCount(r.replaced.length)} replaced; ${o.index} holds ${formatCount(info.documents)} documents\n`);
  } finally {
    await index.dispose();
  }
}

/** The ids of `--ids-file`: one per line, blank lines skipped. */
async function idsOfFile(file: string): Promise<string[]> {
  const text = await asError(async () => {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw CliError.of(e);
    }
  });
  const ids = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (ids.length === 0) throw CliError.of(new DataError(file, undefined, 'has no ids. Give one document id per line'));
  return ids;
}

/** `tuna index delete --index DIR (--id X... | --ids-file F)`. */
export async function indexDeleteCommand(o: IndexDeleteOptions, out: Output): Promise<void> {
  if ((o.id === undefined) === (o.idsFile === undefined)) throw new CliError('usage', 'give --id (repeatable) or --ids-file, not both');
  const ids = o.id ?? (await idsOfFile(o.idsFile!));
  const index = await asError(() => SearchIndex.open(o.index));
  try {
    const r = await asError(() => index.delete(ids));
    if (r.deleted.length > 0) await asError(() => index.save());
    const info = index.info();
    if (o.json) out.stdout(`${toJson(summary(info, { deleted: r.deleted.length, missing: r.missing }))}\n`);
    else {
      if (r.missing.length) out.stderr(`tuna: ${r.missing.length} id(s) not in the index: ${r.missing.slice(0, 10).join(', ')}${r.missing.length > 10 ? ', ...' : ''}\n`);
      out.stdout(`${formatCount(r.deleted.length)} documents deleted; ${o.index} holds ${formatCount(info.documents)} documents\n`);
    }
  } finally {
    await index.dispose();
  }
}

/** `tuna index info --index DIR`. */
export async function indexInfoCommand(o: IndexInfoOptions, out: Output): Promise<void> {
  const index = await asError(() => SearchIndex.open(o.index));
  try {
    const info = index.info();
    if (o.json) {
      out.stdout(`${toJson(info)}\n`);
      return;
    }
    const lines = [
      `index      ${o.index} (generation ${info.generation})`,
      `documents  ${formatCount(info.documents)}`,
      `model      ${info.model.source} (${info.model.path})`,
      `vectors    ${info.dimension} dimensions, ${info.metric === 'cos' ? 'cosine (unit length)' : 'dot product'}; prompts: documents ${info.prompts.document ?? 'none'}, queries ${info.prompts.query ?? 'none'}`,
      `ann        ${info.ann ? `${info.ann.library}, connectivity ${info.ann.connectivity}, expansion_add ${info.ann.expansionAdd}, expansion_search ${info.ann.expansionSearch}` : 'none (exact search)'}`,
      `bm25       ${info.bm25 ? `${info.bm25.library}, k1 ${info.bm25.k1}, b ${info.bm25.b}, d ${info.bm25.d}, ${info.bm25.tokenizer} (${info.bm25.locale})` : 'none'}`,
      `files      ${Object.entries(info.files)
        .map(([f, b]) => `${f} ${formatBytes(b)}`)
        .join(', ')}`,
      `updated    ${info.updated}`,
    ];
    out.stdout(`${lines.join('\n')}\n`);
  } finally {
    await index.dispose();
  }
}
