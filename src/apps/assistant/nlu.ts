/**
 * Understanding one message with a trained version: the intent and its calibrated confidence, the
 * decision of the out-of-scope rule, and the best FAQ entry with its match score.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SearchIndex, type TextClassificationPipeline, pipeline } from '../../index.js';
import { type Decision, decide, softmax, topTwoIntents } from './calibration.js';
import { AssistantError } from './errors.js';
import { type IntentCentroids, loadCentroids, nearestCentroidCosine } from './similarity.js';
import { SlotFiller } from './slots.js';
import type { AssistantManifest } from './train.js';
import { CLASSIFIER_DIR, FAQ_DIR, MANIFEST, resolveVersionDir } from './versions.js';

/** An intent and its calibrated probability. */
export interface ScoredIntent {
  readonly intent: string;
  readonly confidence: number;
}

/** What the classifier makes of a message. */
export interface Understanding {
  /** The most probable intent and its calibrated probability. */
  readonly top: ScoredIntent;
  readonly second: ScoredIntent | undefined;
  readonly decision: Decision;
}

/** The best FAQ entry for a message. */
export interface FaqMatch {
  readonly id: string;
  readonly question: string;
  readonly answer: string;
  /** Cosine similarity of the message and the entry (what the FAQ threshold applies to). */
  readonly score: number;
  /** Whether the score reaches the version's FAQ threshold. */
  readonly accepted: boolean;
}

/** Loading settings. */
export interface LoadNluOptions {
  /** ONNX Runtime threads per model (default: all cores). */
  readonly threads?: number;
}

/** A loaded version: the classifier, its calibration and thresholds, and the FAQ index. */
export class Nlu {
  private constructor(
    readonly dir: string,
    readonly manifest: AssistantManifest,
    private readonly classifier: TextClassificationPipeline,
    /** The intent centroids of the similarity rule, when the version has one. */
    private readonly centroids: IntentCentroids | undefined,
    private readonly faq: SearchIndex | undefined,
    /** The slot model, when the version fills slots. */
    readonly slots: SlotFiller | undefined,
  ) {}

  /**
   * Loads the version a model directory's `current` names, or a version directory.
   *
   * @throws AssistantError for a directory that is not an assistant model, or a manifest of another format.
   */
  static async load(modelDir: string, opts: LoadNluOptions = {}): Promise<Nlu> {
    const { dir } = await resolveVersionDir(modelDir);
    let manifest: AssistantManifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8'));
    } catch (e) {
      throw new AssistantError('invalid_model', `${join(dir, MANIFEST)}: not readable JSON (${(e as Error).message})`, { file: join(dir, MANIFEST), cause: e });
    }
    if (manifest.format !== 'tuna-assistant' || manifest.format_version !== 1) {
      throw new AssistantError('invalid_model', `${join(dir, MANIFEST)}: not a tuna assistant manifest of format version 1`, { file: join(dir, MANIFEST) });
    }
    const threads = opts.threads === undefined ? {} : { threads: opts.threads };
    const withSimilarity = manifest.thresholds.similarity !== undefined;
    const centroids = withSimilarity ? await loadCentroids(dir, manifest.intents.length) : undefined;
    const classifier = await pipeline('text-classification', join(dir, CLASSIFIER_DIR), { ...threads, clsVector: withSimilarity });
    const faq = manifest.faq && existsSync(join(dir, FAQ_DIR)) ? await SearchIndex.open(join(dir, FAQ_DIR), threads) : undefined;
    const slots = manifest.slots ? await SlotFiller.load(manifest.slots, threads) : undefined;
    return new Nlu(dir, manifest, classifier, centroids, faq, slots);
  }

  /** The version number. */
  get version(): number {
    return this.manifest.version;
  }

  /** Intents and decisions for several messages (one classifier run per batch). */
  async understandMany(texts: readonly string[]): Promise<Understanding[]> {
    if (texts.length === 0) return [];
    const m = this.manifest;
    return (await this.classifier.runWithLogits(texts)).map(({ logits, clsVector }) => {
      const t = topTwoIntents(softmax(logits, m.temperature), m.intents.length);
      const second = m.intents.length > 1 ? { intent: m.intents[t.second]!, confidence: t.p2 } : undefined;
      const far = this.centroids !== undefined && nearestCentroidCosine(this.vectorOf(clsVector), this.centroids) < m.thresholds.similarity!;
      return { top: { intent: m.intents[t.first]!, confidence: t.p1 }, second, decision: t.rejected || far ? 'out_of_scope' : decide(t.p1, t.p2, m.thresholds) };
    });
  }

  /**
   * The intent and decision for one message. Messages that arrive while the classifier runs wait
   * and go together into its next run (at most 32), so concurrent conversations share batches.
   */
  understand(text: string): Promise<Understanding> {
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private queue: { text: string; resolve: (u: Understanding) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 32);
      try {
        const out = await this.understandMany(batch.map((b) => b.text));
        batch.forEach((b, i) => b.resolve(out[i]!));
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.running = false;
  }

  /** The classifier's [CLS] vector of a message, which the similarity rule cannot do without. */
  private vectorOf(clsVector: number[] | undefined): number[] {
    if (clsVector === undefined) {
      throw new AssistantError(
        'invalid_model',
        `${join(this.dir, CLASSIFIER_DIR)}: the classifier gives no [CLS] vector, which the similarity rule needs; train the version again`,
        {
          file: join(this.dir, CLASSIFIER_DIR),
        },
      );
    }
    return clsVector;
  }

  /** The calibrated probability of every intent for each message (in `manifest.intents` order; an explicit out-of-scope class has the rest). */
  async probabilities(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const n = this.manifest.intents.length;
    return (await this.classifier.runWithLogits(texts)).map(({ logits }) => softmax(logits, this.manifest.temperature).slice(0, n));
  }

  /** Whether the version has an FAQ. */
  get hasFaq(): boolean {
    return this.faq !== undefined;
  }

  /**
   * The FAQ ranking of each message (best first, `topK` entries) by the configured retriever, and
   * the dense match score of the best entry.
   */
  async searchFaq(texts: readonly string[], topK = 10): Promise<{ ranking: { id: string; score: number }[]; best: FaqMatch | undefined }[]> {
    const faq = this.faq;
    if (!faq || texts.length === 0) return texts.map(() => ({ ranking: [], best: undefined }));
    const retriever = this.manifest.faq?.retriever ?? 'hybrid';
    const ranked = await faq.searchMany(texts, { topK, retriever });
    const dense = await faq.searchMany(texts, { topK: Math.min(faq.size, 100), retriever: 'dense', exact: true, returnDocuments: false });
    return ranked.map((hits, i) => {
      const top = hits[0];
      if (!top) return { ranking: [], best: undefined };
      const score = dense[i]!.find((h) => h.id === top.id)?.score ?? 0;
      const question = String(top.metadata?.question ?? top.title ?? '');
      return {
        ranking: hits.map((h) => ({ id: h.id, score: h.score })),
        best: { id: top.id, question, answer: top.text ?? '', score, accepted: score >= this.manifest.thresholds.faq },
      };
    });
  }

  /** Frees the models. */
  async dispose(): Promise<void> {
    await this.classifier.dispose();
    await this.faq?.dispose();
    await this.slots?.dispose();
  }
}
