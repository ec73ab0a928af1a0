/**
 * Classifying incoming documents: the label probabilities of a text-classification model, the
 * sentiment score from the labels' polarities, and (with a token-classification model) the
 * entities each document mentions. Documents are classified in batches.
 */
import { type EntityGroup, type TextClassificationPipeline, type TokenClassificationPipeline, pipeline } from '../index.js';
import { polarityFor } from './config.js';
import type { ClassifiedDocument, EntityMention, IncomingDocument } from './types.js';

/** What the classifier is built from. */
export interface ClassifierOptions {
  /** A text-classification checkpoint (directory or Hub id). */
  readonly model: string;
  /** Entities: from a token-classification checkpoint, and/or from keywords (entity name → the words that mention it). */
  readonly entities?: {
    readonly model?: string | null;
    readonly types?: readonly string[] | null;
    readonly minScore?: number;
    readonly keywords?: Readonly<Record<string, readonly string[]>> | null;
  } | null;
  /** Label → polarity (default: positive +1, negative −1, neutral 0 by name). */
  readonly polarity?: Readonly<Record<string, number>> | null;
  readonly threads?: number;
  /** Inputs per model run (default 32). */
  readonly batchSize?: number;
  /** Longest input in tokens (default: the model's). */
  readonly maxLength?: number;
}

/** The key an entity is aggregated by: its words with whitespace collapsed, in lower case. */
export function entityName(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim().toLowerCase();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Classifies documents with a sentiment (or any text-classification) model and an optional entity model. */
export class DocumentClassifier {
  private constructor(
    private readonly classifier: TextClassificationPipeline,
    private readonly tagger: TokenClassificationPipeline | null,
    private readonly options: ClassifierOptions,
    /** The model's labels, by id. */
    readonly labels: readonly string[],
    /** The polarity map in use (null: no sentiment score). */
    readonly polarity: Readonly<Record<string, number>> | null,
  ) {
    this.keywords = Object.entries(options.entities?.keywords ?? {}).map(([name, words]) => ({
      name: entityName(name),
      pattern: new RegExp(
        `(?<![\\p{L}\\p{N}])(?:${[...words]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|')})(?![\\p{L}\\p{N}])`,
        'iu',
      ),
    }));
  }

  private readonly keywords: readonly { name: string; pattern: RegExp }[];

  /** Loads the models. */
  static async load(options: ClassifierOptions): Promise<DocumentClassifier> {
    const load = { ...(options.threads ? { threads: options.threads } : {}), batchSize: options.batchSize ?? 32, ...(options.maxLength ? { maxLength: options.maxLength } : {}) };
    const classifier = await pipeline('text-classification', options.model, load);
    let tagger: TokenClassificationPipeline | null = null;
    try {
      if (options.entities?.model) tagger = await pipeline('token-classification', options.entities.model, load);
    } catch (e) {
      await classifier.dispose();
      throw e;
    }
    const id2label = classifier.config.id2label ?? {};
    const labels = Object.keys(id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => id2label[k]!);
    return new DocumentClassifier(classifier, tagger, options, labels, polarityFor(labels, options.polarity ?? null));
  }

  /** The documents with their predictions, in order. */
  async classify(docs: readonly IncomingDocument[]): Promise<ClassifiedDocument[]> {
    if (docs.length === 0) return [];
    const texts = docs.map((d) => d.text);
    const ranked = await this.classifier.runBatch(texts, { topK: null });
    const groups = this.tagger ? ((await this.tagger.runBatch(texts, { aggregationStrategy: 'simple' })) as EntityGroup[][]) : null;
    return docs.map((doc, i) => {
      const labels = ranked[i]!;
      const scores: Record<string, number> = {};
      for (const l of labels) scores[l.label] = l.score;
      return {
        ...doc,
        label: labels[0]!.label,
        score: labels[0]!.score,
        scores,
        sentiment: this.sentimentOf(scores),
        entities: this.mentions(doc.text, groups?.[i] ?? []),
      };
    });
  }

  private sentimentOf(scores: Readonly<Record<string, number>>): number | null {
    if (!this.polarity) return null;
    let s = 0;
    for (const [label, p] of Object.entries(scores)) s += (this.polarity[label] ?? 0) * p;
    return Math.max(-1, Math.min(1, s));
  }

  private mentions(text: string, groups: readonly EntityGroup[]): EntityMention[] {
    const types = this.options.entities?.types ?? null;
    const minScore = this.options.entities?.minScore ?? 0.5;
    const byName = new Map<string, EntityMention>();
    for (const g of groups) {
      if (g.score < minScore || (types && !types.includes(g.entity_group))) continue;
      const written = text.slice(g.start, g.end);
      const name = entityName(written);
      if (name === '') continue;
      const seen = byName.get(name);
      if (!seen || seen.score < g.score) byName.set(name, { name, text: written, type: g.entity_group, score: g.score });
    }
    for (const k of this.keywords) {
      if (byName.has(k.name)) continue;
      const m = k.pattern.exec(text);
      if (m) byName.set(k.name, { name: k.name, text: m[0], type: 'KEYWORD', score: 1 });
    }
    return [...byName.values()];
  }

  /** Frees the models. */
  async dispose(): Promise<void> {
    await this.classifier.dispose();
    await this.tagger?.dispose();
  }
}
