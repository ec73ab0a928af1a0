/** Reading a data file for a task and turning it into model features. */
import {
  type Feature,
  LabelMap,
  type TextExample,
  type TokenExample,
  loadTextExamples,
  loadTokenExamples,
  stratifiedSplit,
  textFeatures,
  tokenFeatures,
} from '../data/index.js';
import type { BertTokenizer } from '../tokenizers/bert-tokenizer.js';

/** The tasks `tuna train` fine-tunes for. */
export type TaskName = 'text-classification' | 'token-classification';

/** Which columns and fields hold what; names follow the CLI flags. */
export interface DataOptions {
  readonly textColumn?: string;
  readonly textPairColumn?: string;
  readonly labelColumn?: string;
  readonly tokensColumn?: string;
  readonly tagsColumn?: string;
  /** Texts may carry several labels (a JSON array, or a cell split on `labelSeparator`). */
  readonly multiLabel?: boolean;
  readonly labelSeparator?: string;
}

/** Examples of one file, for either kind of task. */
export type Examples = { readonly kind: 'text'; readonly items: TextExample[] } | { readonly kind: 'token'; readonly items: TokenExample[] };

/** Reads a data file for `task`; labels are required unless `requireLabels` is false. */
export async function readExamples(task: TaskName, path: string, opts: DataOptions, requireLabels = true): Promise<Examples> {
  if (task === 'token-classification') {
    const items = await loadTokenExamples(path, { tokensField: opts.tokensColumn, tagsField: opts.tagsColumn, requireTags: requireLabels });
    return { kind: 'token', items };
  }
  const items = await loadTextExamples(path, {
    columns: { text: opts.textColumn, textPair: opts.textPairColumn, label: opts.labelColumn },
    requireLabels,
    multiLabelSeparator: opts.multiLabel ? (opts.labelSeparator ?? ',') : undefined,
  });
  return { kind: 'text', items };
}

/** The label (or labels) of every example, for building a label map. */
export function labelValues(examples: Examples): (string | readonly string[])[] {
  if (examples.kind === 'token') return examples.items.map((e) => e.tags ?? []);
  return examples.items.filter((e) => e.label !== undefined).map((e) => e.label!);
}

/** Splits off a stratified validation share (by label; by first tag for token classification). */
export function splitValidation(examples: Examples, fraction: number, seed: number): { train: Examples; validation: Examples } {
  if (examples.kind === 'token') {
    const { train, validation } = stratifiedSplit(examples.items, (e) => (e.tags ?? []).find((t) => t !== 'O') ?? 'O', fraction, seed);
    return { train: { kind: 'token', items: train }, validation: { kind: 'token', items: validation } };
  }
  const key = (e: TextExample) => (Array.isArray(e.label) ? [...e.label].sort().join('|') : String(e.label));
  const { train, validation } = stratifiedSplit(examples.items, key, fraction, seed);
  return { train: { kind: 'text', items: train }, validation: { kind: 'text', items: validation } };
}

/** Tokenizes examples and maps their labels to ids (unknown labels are errors naming file and line). */
export function featuresOf(tokenizer: BertTokenizer, examples: Examples, labels: LabelMap | undefined, maxLength: number, multiLabel = false): Feature[] {
  if (examples.kind === 'token') return tokenFeatures(tokenizer, examples.items, labels, { maxLength });
  return textFeatures(tokenizer, examples.items, labels, { maxLength, multiLabel });
}

/** A label map learned from training examples. */
export function labelMapOf(examples: Examples): LabelMap {
  return LabelMap.fromExamples(labelValues(examples));
}
