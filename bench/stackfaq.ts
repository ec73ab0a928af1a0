/**
 * StackFAQ (../shared/datasets/stackfaq, see its SOURCE.md) as a retrieval benchmark: 125
 * StackExchange threads, each with 10 paraphrases of its question (9 in thread 94), the question and
 * 1-24 answers.
 *
 * The split is by thread, so no test query has a paraphrase, question or answer of its own thread
 * in the training data: the 125 threads are shuffled with a fixed seed (`shuffle` of src/data, seed
 * 14) and the first 75 train, the other 50 test.
 *
 * - Corpus: all 719 answers (of train and test threads alike), answer text only, id `t007-a2`
 *   (thread 7, its answer 2; 1-based as SOURCE.md counts).
 * - Test queries: the paraphrases of the test threads (the `*` separator and the empty paraphrase
 *   left out), id `t007-p3`; relevant: every answer of the query's thread (grade 1).
 * - Training pairs: (anchor, positive) = (a paraphrase or the question, one answer) of a train thread,
 *   every combination.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shuffle } from '../src/data/split.js';

/** One StackExchange thread. */
export interface Thread {
  /** 1-based position in the file (threads have no other id). */
  readonly number: number;
  readonly question: string;
  /** The paraphrase queries (without the `*` separator and empty ones). */
  readonly paraphrases: readonly string[];
  readonly answers: readonly string[];
}

/** The split's seed and sizes. */
export const SPLIT_SEED = 14;
export const TRAIN_THREADS = 75;

const DATA = new URL('../../shared/datasets/stackfaq/stackExchange-FAQ.json', import.meta.url).pathname;

/** The 125 threads of stackExchange-FAQ.json (texts stripped; a lone answer string read as a list). */
export function readStackFaq(file = DATA): Thread[] {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { root: { qapair: { rephr: (string | null)[]; question: string; answer: string | string[] }[] } };
  return json.root.qapair.map((t, i) => ({
    number: i + 1,
    question: t.question.trim(),
    paraphrases: t.rephr.map((r) => (r ?? '').trim()).filter((r) => r !== '' && r !== '*'),
    answers: (Array.isArray(t.answer) ? t.answer : [t.answer]).map((a) => a.trim()),
  }));
}

const pad = (n: number) => String(n).padStart(3, '0');
export const answerId = (t: Thread, j: number) => `t${pad(t.number)}-a${j + 1}`;
export const queryId = (t: Thread, j: number) => `t${pad(t.number)}-p${j + 1}`;

/** The split: train and test threads, each in file order. */
export function splitThreads(threads: readonly Thread[], seed = SPLIT_SEED, trainThreads = TRAIN_THREADS): { train: Thread[]; test: Thread[] } {
  const order = shuffle(
    threads.map((t) => t.number),
    seed,
  );
  const train = new Set(order.slice(0, trainThreads));
  return { train: threads.filter((t) => train.has(t.number)), test: threads.filter((t) => !train.has(t.number)) };
}

/** The files {@link writeStackFaqSplit} writes, by role. */
export interface StackFaqFiles {
  /** BEIR corpus: every answer. */
  readonly corpus: string;
  /** BEIR queries: the test threads' paraphrases. */
  readonly queries: string;
  /** BEIR qrels of the test queries. */
  readonly qrels: string;
  /** JSON Lines `{"anchor", "positive", "thread"}`: training pairs of the train threads. */
  readonly trainPairs: string;
  /** JSON: seed, thread numbers of each side, counts. */
  readonly split: string;
}

const jsonl = (rows: readonly unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

/** How much of everything the split holds. */
export interface StackFaqCounts {
  readonly trainThreads: number;
  readonly testThreads: number;
  readonly corpus: number;
  readonly testQueries: number;
  readonly qrels: number;
  readonly trainPairs: number;
}

/** Writes the split's files into `dir` (which must exist) and says where they are. */
export function writeStackFaqSplit(dir: string, threads = readStackFaq()): StackFaqFiles & { counts: StackFaqCounts } {
  const { train, test } = splitThreads(threads);
  const files: StackFaqFiles = {
    corpus: join(dir, 'corpus.jsonl'),
    queries: join(dir, 'queries.jsonl'),
    qrels: join(dir, 'qrels.tsv'),
    trainPairs: join(dir, 'train-pairs.jsonl'),
    split: join(dir, 'split.json'),
  };
  const corpus = threads.flatMap((t) => t.answers.map((a, j) => ({ _id: answerId(t, j), title: '', text: a })));
  const queries = test.flatMap((t) => t.paraphrases.map((p, j) => ({ _id: queryId(t, j), text: p })));
  const qrels = test.flatMap((t) => t.paraphrases.flatMap((_, j) => t.answers.map((_a, k) => `${queryId(t, j)}\t${answerId(t, k)}\t1`)));
  const pairs = train.flatMap((t) => [...t.paraphrases, t.question].flatMap((anchor) => t.answers.map((positive) => ({ anchor, positive, thread: t.number }))));
  writeFileSync(files.corpus, jsonl(corpus));
  writeFileSync(files.queries, jsonl(queries));
  writeFileSync(files.qrels, `query-id\tcorpus-id\tscore\n${qrels.join('\n')}\n`);
  writeFileSync(files.trainPairs, jsonl(pairs));
  const counts: StackFaqCounts = {
    trainThreads: train.length,
    testThreads: test.length,
    corpus: corpus.length,
    testQueries: queries.length,
    qrels: qrels.length,
    trainPairs: pairs.length,
  };
  writeFileSync(
    files.split,
    `${JSON.stringify({ seed: SPLIT_SEED, shuffle: 'src/data/split.ts shuffle (mulberry32 Fisher-Yates)', train: train.map((t) => t.number), test: test.map((t) => t.number), counts }, null, 1)}\n`,
  );
  return { ...files, counts };
}
