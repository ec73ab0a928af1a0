/**
 * Evaluating a trained assistant: intents with out-of-scope detection on a labelled file, and FAQ
 * answering on a file of queries with the FAQ entry each should find.
 */
import { readFile } from 'node:fs/promises';
import { checkReadableFile, classificationReport, formatClassificationReport, loadTextExamples, reportToJson, retrievalMetrics } from '../../index.js';
import { AssistantError } from './errors.js';
import type { Nlu } from './nlu.js';

/** The label of out-of-scope examples (CLINC150's). */
export const OUT_OF_SCOPE_LABELS = ['oos', 'out_of_scope'] as const;

/** Intent and out-of-scope scores. */
export interface IntentEvaluation {
  readonly examples: number;
  readonly in_scope: number;
  readonly out_of_scope: number;
  /** In-scope messages answered with the right intent (a clarification counts as its top intent). */
  readonly in_scope_accuracy: number;
  /** In-scope accuracy of the classifier alone (argmax, no out-of-scope rule). */
  readonly in_scope_accuracy_without_rule: number;
  readonly oos_precision: number;
  readonly oos_recall: number;
  /** Matthews correlation of in scope vs out of scope. */
  readonly mcc: number;
  /** Share of messages answered with a clarification question. */
  readonly clarification_rate: number;
  /** Per-intent report (scikit-learn's layout), `oos` for rejected messages. */
  readonly report: Record<string, unknown>;
  readonly report_text: string;
}

/** FAQ scores. */
export interface FaqEvaluation {
  readonly queries: number;
  readonly accuracy_at_1: number;
  readonly ndcg_at_10: number;
  /** Share of queries whose best entry passes the FAQ threshold. */
  readonly answered: number;
}

/** Matthews correlation of two binary labelings from their confusion counts. */
export function matthews(tp: number, tn: number, fp: number, fn: number): number {
  const d = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return d === 0 ? 0 : (tp * tn - fp * fn) / d;
}

const safe = (n: number, d: number) => (d === 0 ? 0 : n / d);

/**
 * Scores the assistant's intents on labelled messages (`text`, `label`; `oos` or `out_of_scope`
 * for out-of-scope messages). A message is predicted out of scope when the out-of-scope rule sends
 * it to the FAQ/fallback path.
 */
export async function evaluateIntents(nlu: Nlu, data: readonly { text: string; label: string }[], batchSize = 64): Promise<IntentEvaluation> {
  const known = new Set(nlu.manifest.intents);
  const isOos = (l: string) => (OUT_OF_SCOPE_LABELS as readonly string[]).includes(l);
  data.forEach((d, i) => {
    if (!isOos(d.label) && !known.has(d.label)) {
      throw new AssistantError('invalid_data', `example ${i + 1}: the label "${d.label}" is neither an intent of the model nor oos`, { field: `[${i}].label` });
    }
  });
  const predicted: string[] = [];
  const argmaxPred: string[] = [];
  let clarified = 0;
  for (let i = 0; i < data.length; i += batchSize) {
    for (const u of await nlu.understandMany(data.slice(i, i + batchSize).map((d) => d.text))) {
      argmaxPred.push(u.top.intent);
      predicted.push(u.decision === 'out_of_scope' ? 'oos' : u.top.intent);
      if (u.decision === 'clarify') clarified++;
    }
  }
  const gold = data.map((d) => (isOos(d.label) ? 'oos' : d.label));
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  let inRight = 0;
  let inRightArgmax = 0;
  gold.forEach((g, i) => {
    const po = predicted[i] === 'oos';
    if (g === 'oos') po ? tp++ : fn++;
    else {
      po ? fp++ : tn++;
      if (predicted[i] === g) inRight++;
      if (argmaxPred[i] === g) inRightArgmax++;
    }
  });
  const inScope = tn + fp;
  const report = classificationReport(gold, predicted, { zeroDivision: 0 });
  return {
    examples: data.length,
    in_scope: inScope,
    out_of_scope: tp + fn,
    in_scope_accuracy: safe(inRight, inScope),
    in_scope_accuracy_without_rule: safe(inRightArgmax, inScope),
    oos_precision: safe(tp, tp + fp),
    oos_recall: safe(tp, tp + fn),
    mcc: matthews(tp, tn, fp, fn),
    clarification_rate: safe(clarified, data.length),
    report: reportToJson(report),
    report_text: formatClassificationReport(report, 4),
  };
}

/** Reads labelled messages (CSV/TSV/JSONL with `text` and `label`). */
export async function readLabelled(file: string): Promise<{ text: string; label: string }[]> {
  return (await loadTextExamples(file)).map((e) => ({ text: e.text, label: String(e.label) }));
}

/** Reads FAQ queries: JSON Lines `{"text": ..., "faq_id": ...}` (`id` also accepted for the entry). */
export async function readFaqQueries(file: string): Promise<{ text: string; faqId: string }[]> {
  await checkReadableFile(file, { what: 'a file of FAQ queries (JSON Lines)' });
  const out: { text: string; faqId: string }[] = [];
  (await readFile(file, 'utf8')).split('\n').forEach((l, i) => {
    if (l.trim() === '') return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(l);
    } catch (e) {
      throw new AssistantError('invalid_data', `${file}, line ${i + 1}: not valid JSON (${(e as Error).message})`, { file, cause: e });
    }
    const id = r.faq_id ?? r.id;
    if (typeof r.text !== 'string' || r.text.trim() === '' || (typeof id !== 'string' && typeof id !== 'number')) {
      throw new AssistantError('invalid_data', `${file}, line ${i + 1}: needs "text" (a non-blank string) and "faq_id" (the id of the FAQ entry it asks)`, { file });
    }
    out.push({ text: r.text, faqId: String(id) });
  });
  if (out.length === 0) throw new AssistantError('invalid_data', `${file}: no queries`, { file });
  return out;
}

/** FAQ accuracy@1 (the best entry is the right one) and nDCG@10, by the assistant's own FAQ search. */
export async function evaluateFaq(nlu: Nlu, queries: readonly { text: string; faqId: string }[]): Promise<FaqEvaluation> {
  if (!nlu.hasFaq) throw new AssistantError('invalid_model', `${nlu.dir}: this assistant has no FAQ to evaluate`, { file: nlu.dir });
  const rankings = new Map<string, { id: string; score: number }[]>();
  const qrels = new Map<string, Map<string, number>>();
  let right = 0;
  let answered = 0;
  for (let i = 0; i < queries.length; i += 64) {
    const batch = queries.slice(i, i + 64);
    const found = await nlu.searchFaq(
      batch.map((q) => q.text),
      10,
    );
    found.forEach((f, j) => {
      const q = batch[j]!;
      const key = `q${i + j}`;
      rankings.set(key, f.ranking);
      qrels.set(key, new Map([[q.faqId, 1]]));
      if (f.ranking[0]?.id === q.faqId) right++;
      if (f.best?.accepted) answered++;
    });
  }
  const m = retrievalMetrics(rankings, qrels, { ndcgAt: [10] });
  return { queries: queries.length, accuracy_at_1: right / queries.length, ndcg_at_10: m.ndcg.get(10) ?? 0, answered: answered / queries.length };
}
