/** WordLevel and WordPiece models. */
import { TokenizerError } from '../../errors.js';
import { WordPiece as BertWordPiece } from '../../wordpiece.js';
import { type Fields, fieldError } from '../json.js';
import type { Model, Token } from './model.js';

function reverse(vocab: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [t, id] of vocab) out[id] = t;
  return out;
}

/** One id per whole word, or the unknown token. */
export class WordLevel implements Model {
  private readonly byId: string[];
  readonly continuingSubwordPrefix = undefined;
  constructor(
    readonly vocab: Map<string, number>,
    readonly unkToken: string,
  ) {
    this.byId = reverse(vocab);
  }
  idToToken(id: number): string | undefined {
    return this.byId[id];
  }
  tokenize(word: string): Token[] {
    const id = this.vocab.get(word);
    if (id !== undefined) return [{ id, value: word, start: 0, end: word.length }];
    const unk = this.vocab.get(this.unkToken);
    if (unk === undefined) throw new TokenizerError(`the WordLevel vocab has no unknown token ${JSON.stringify(this.unkToken)} for the word ${JSON.stringify(word)}`);
    return [{ id: unk, value: this.unkToken, start: 0, end: word.length }];
  }
}

/** Greedy longest-match-first WordPiece with a continuation prefix. */
export class WordPieceModel implements Model {
  private readonly byId: string[];
  private readonly wp: BertWordPiece;
  constructor(
    readonly vocab: Map<string, number>,
    readonly unkToken: string,
    readonly continuingSubwordPrefix: string,
    maxInputCharsPerWord: number,
  ) {
    this.byId = reverse(vocab);
    this.wp = new BertWordPiece(vocab, { unkToken, continuingSubwordPrefix, maxInputCharsPerWord });
  }
  idToToken(id: number): string | undefined {
    return this.byId[id];
  }
  tokenize(word: string): Token[] {
    const p = this.wp.tokenize(word);
    const out: Token[] = [];
    for (let i = 0; i < p.ids.length; i++) out.push({ id: p.ids[i]!, value: p.tokens[i]!, start: p.starts[i]!, end: p.ends[i]! });
    return out;
  }
}

/** Builds a WordLevel model. */
export function parseWordLevel(f: Fields, vocab: Map<string, number>): WordLevel {
  return new WordLevel(vocab, f.string('unk_token', '<unk>'));
}

/** Builds a WordPiece model. */
export function parseWordPiece(f: Fields, vocab: Map<string, number>): WordPieceModel {
  const unk = f.string('unk_token', '[UNK]');
  try {
    return new WordPieceModel(vocab, unk, f.string('continuing_subword_prefix', '##'), f.index('max_input_chars_per_word', 100));
  } catch (e) {
    throw fieldError(f.at_('unk_token'), (e as Error).message);
  }
}
