/**
 * Pre-training corpora: plain UTF-8 text files with one sentence (or paragraph) per line and a
 * blank line between documents, read as a stream and tokenized into a compact token store.
 */
import { decodedLines } from '../data/lines.js';
import { DataError } from '../data/errors.js';
import type { Tokenizer } from '../tokenizers/types.js';

/** The documents of some text files, each a list of non-empty lines, streamed. */
export async function* readDocuments(paths: readonly string[]): AsyncGenerator<string[]> {
  for (const path of paths) {
    let doc: string[] = [];
    for await (const { text } of decodedLines(path)) {
      const line = text.trim();
      if (line === '') {
        if (doc.length) yield doc;
        doc = [];
      } else doc.push(line);
    }
    if (doc.length) yield doc;
  }
}

/**
 * Tokenized sentences, stored contiguously: ids as 16-bit values when the vocabulary fits
 * (2 bytes a token), with the start of every sentence and of every document.
 */
export class TokenStore {
  private ids: Uint16Array | Int32Array;
  private length = 0;
  /** Offsets of sentence starts (plus the end), into the ids. */
  private sentenceStarts: number[] = [0];
  /** Index (into sentences) of the first sentence of every document (plus the end). */
  private documentStarts: number[] = [0];

  constructor(vocabSize: number) {
    this.ids = vocabSize <= 0xffff ? new Uint16Array(1 << 16) : new Int32Array(1 << 16);
  }

  get tokenCount(): number {
    return this.length;
  }

  get sentenceCount(): number {
    return this.sentenceStarts.length - 1;
  }

  get documentCount(): number {
    return this.documentStarts.length - 1;
  }

  addSentence(ids: readonly number[]): void {
    if (ids.length === 0) return;
    while (this.length + ids.length > this.ids.length) {
      const grown = new (this.ids.constructor as Uint16ArrayConstructor | Int32ArrayConstructor)(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids.set(ids, this.length);
    this.length += ids.length;
    this.sentenceStarts.push(this.length);
  }

  endDocument(): void {
    if (this.documentStarts.at(-1) !== this.sentenceCount) this.documentStarts.push(this.sentenceCount);
  }

  /** How many tokens of the store are `id` (e.g. the [UNK] id, for the vocabulary's coverage). */
  countOf(id: number): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.ids[i] === id) n++;
    return n;
  }

  /** Token ids of sentence `s`. */
  sentence(s: number): Uint16Array | Int32Array {
    return this.ids.subarray(this.sentenceStarts[s]!, this.sentenceStarts[s + 1]!);
  }

  /** Sentence index range [first, end) of document `d`. */
  document(d: number): [number, number] {
    return [this.documentStarts[d]!, this.documentStarts[d + 1]!];
  }
}

/** Tokenizes the documents of `paths` (without special tokens) into a store. */
export async function tokenizeCorpus(tokenizer: Tokenizer, paths: readonly string[], onProgress?: (documents: number, tokens: number) => void): Promise<TokenStore> {
  const store = new TokenStore(tokenizer.vocabSize);
  for await (const doc of readDocuments(paths)) {
    for (const line of doc) store.addSentence(tokenizer.encode(line, undefined, { addSpecialTokens: false, truncation: false }).inputIds);
    store.endDocument();
    if (onProgress && store.documentCount % 1000 === 0) onProgress(store.documentCount, store.tokenCount);
  }
  if (store.tokenCount === 0) throw new DataError(paths.join(', '), undefined, 'no text to pre-train on; give UTF-8 text files with one sentence per line');
  return store;
}
