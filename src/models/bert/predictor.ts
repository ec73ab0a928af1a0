import { ForwardModel } from '../../nn/forward.js';
import { hostTensor } from '../../runtime/tensor.js';
import { BertTokenizer, type Encoding } from '../../tokenizers/bert-tokenizer.js';
import type { BertArchitecture, BertConfig } from './config.js';
import { buildBert } from './modeling.js';
import { loadBert } from './pretrained.js';

/** A sequence-classification prediction. */
export interface ClassPrediction {
  readonly text: string;
  readonly label: string;
  /** Softmax probability of `label`. */
  readonly score: number;
  /** Raw model outputs before softmax. */
  readonly logits: number[];
}

/** One entity found by a token classifier. */
export interface Entity {
  readonly entity: string;
  readonly word: string;
  readonly start: number;
  readonly end: number;
  readonly score: number;
}

/** A token-classification prediction; `logits` has a row per encoded token, [CLS] and [SEP] included. */
export interface TokenPrediction {
  readonly text: string;
  readonly entities: Entity[];
  readonly logits: number[][];
}

/** A model that cannot serve the requested kind of prediction. */
export class PredictorError extends Error {
  override name = 'PredictorError';
}

/**
 * Runs a sequence- or token-classification checkpoint on raw text: tokenizes with the checkpoint's
 * tokenizer (truncating at `model_max_length`, else `max_position_embeddings`), batches, and
 * decodes labels from `id2label`.
 */
export class BertPredictor {
  private constructor(
    readonly config: BertConfig,
    readonly architecture: BertArchitecture,
    readonly tokenizer: BertTokenizer,
    private readonly model: ForwardModel,
    readonly maxLength: number,
  ) {}

  /** Loads config, weights and tokenizer from a Hugging Face checkpoint directory. */
  static async fromPretrained(dir: string, opts: { threads?: number } = {}): Promise<BertPredictor> {
    const loaded = await loadBert(dir);
    const arch = loaded.architecture;
    if (arch !== 'BertForSequenceClassification' && arch !== 'BertForTokenClassification') {
      throw new PredictorError(`${dir}: ${arch} is not a classifier; predict needs BertForSequenceClassification or BertForTokenClassification`);
    }
    const tokenizer = await BertTokenizer.fromDirectory(dir);
    const model = await ForwardModel.create(loaded.store, (ctx) => buildBert(ctx, loaded.config, arch, false).outputs, {
      frozen: true,
      fusedKernels: true,
      session: { threads: opts.threads },
    });
    const maxLength = Math.min(tokenizer.options.modelMaxLength ?? loaded.config.max_position_embeddings, loaded.config.max_position_embeddings);
    return new BertPredictor(loaded.config, arch, tokenizer, model, maxLength);
  }

  get task(): 'text-classification' | 'token-classification' {
    return this.architecture === 'BertForSequenceClassification' ? 'text-classification' : 'token-classification';
  }

  private async logits(encodings: Encoding[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const B = encodings.length;
    const S = encodings[0]!.inputIds.length;
    const flat = (f: (e: Encoding) => number[]) => BigInt64Array.from(encodings.flatMap(f), (v) => BigInt(v));
    const out = await this.model.run({
      input_ids: hostTensor('int64', flat((e) => e.inputIds), [B, S]),
      attention_mask: hostTensor('int64', flat((e) => e.attentionMask), [B, S]),
      token_type_ids: hostTensor('int64', flat((e) => e.tokenTypeIds), [B, S]),
    });
    return { data: out.logits!.data as Float32Array, dims: out.logits!.dims };
  }

  /** Classifies texts (sequence classification). */
  async classify(texts: readonly string[], batchSize = 32): Promise<ClassPrediction[]> {
    if (this.task !== 'text-classification') throw new PredictorError('this checkpoint is a token classifier; use tag()');
    const results: ClassPrediction[] = [];
    for (let i = 0; i < texts.length; i += batchSize) {
      const chunk = texts.slice(i, i + batchSize);
      const { data, dims } = await this.logits(this.tokenizer.encodeBatch(chunk, { maxLength: this.maxLength }));
      const n = dims[1]!;
      chunk.forEach((text, b) => {
        const logits = Array.from(data.subarray(b * n, (b + 1) * n));
        const probs = softmax(logits);
        const best = probs.indexOf(Math.max(...probs));
        results.push({ text, label: this.config.id2label[String(best)] ?? String(best), score: probs[best]!, logits });
      });
    }
    return results;
  }

  /** Tags tokens and groups them into entities (token classification, BIO/BIOES labels). */
  async tag(texts: readonly string[], batchSize = 32): Promise<TokenPrediction[]> {
    if (this.task !== 'token-classification') throw new PredictorError('this checkpoint is a sequence classifier; use classify()');
    const results: TokenPrediction[] = [];
    for (let i = 0; i < texts.length; i += batchSize) {
      const chunk = texts.slice(i, i + batchSize);
      const encs = this.tokenizer.encodeBatch(chunk, { maxLength: this.maxLength });
      const { data, dims } = await this.logits(encs);
      const [, S, n] = dims as [number, number, number];
      chunk.forEach((text, b) => {
        const enc = encs[b]!;
        const rows: number[][] = [];
        for (let t = 0; t < S; t++) if (enc.attentionMask[t]) rows.push(Array.from(data.subarray((b * S + t) * n, (b * S + t + 1) * n)));
        results.push({ text, entities: this.entities(text, enc, rows), logits: rows });
      });
    }
    return results;
  }

  /** Groups word-level predictions (first sub-token of each word) into entities. */
  private entities(text: string, enc: Encoding, rows: number[][]): Entity[] {
    const words: { label: string; score: number; start: number; end: number }[] = [];
    let lastWord: number | null = null;
    rows.forEach((row, t) => {
      const w = enc.wordIds[t];
      if (w === null || w === undefined) return;
      const [s, e] = enc.offsets[t]!;
      if (w === lastWord) {
        words.at(-1)!.end = e;
        return;
      }
      lastWord = w;
      const probs = softmax(row);
      const best = probs.indexOf(Math.max(...probs));
      words.push({ label: this.config.id2label[String(best)] ?? String(best), score: probs[best]!, start: s, end: e });
    });
    const entities: Entity[] = [];
    let current: { type: string; start: number; end: number; scores: number[] } | undefined;
    const close = () => {
      if (current) {
        entities.push({
          entity: current.type,
          word: text.slice(current.start, current.end),
          start: current.start,
          end: current.end,
          score: current.scores.reduce((a, b) => a + b, 0) / current.scores.length,
        });
      }
      current = undefined;
    };
    for (const w of words) {
      const m = /^([BIES])-(.+)$/.exec(w.label);
      if (!m) {
        close();
        continue;
      }
      const [, tag, type] = m as unknown as [string, string, string];
      if (current && current.type === type && (tag === 'I' || tag === 'E')) {
        current.end = w.end;
        current.scores.push(w.score);
      } else {
        close();
        current = { type, start: w.start, end: w.end, scores: [w.score] };
      }
      if (tag === 'E' || tag === 'S') close();
    }
    close();
    return entities;
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}

function softmax(xs: readonly number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}
