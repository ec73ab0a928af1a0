/** What every tokenizer.json model provides. */

/** One token of a word: its id, its string, and [start, end) in the word (UTF-16 code units). */
export interface Token {
  readonly id: number;
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** A tokenizer.json `model`. */
export interface Model {
  /** Splits one pre-tokenised word into tokens. */
  tokenize(word: string): Token[];
  /** The vocabulary (token → id), added tokens excluded. */
  readonly vocab: ReadonlyMap<string, number>;
  /** The token of an id. */
  idToToken(id: number): string | undefined;
  /** The unknown token, when the model has one. */
  readonly unkToken: string | undefined;
  /** For the WordPiece decoder and aggregation: the continuation prefix (`##`), when the model has one. */
  readonly continuingSubwordPrefix: string | undefined;
}

/** A bounded word → tokens cache. */
export class WordCache {
  private readonly map = new Map<string, Token[]>();
  constructor(private readonly limit = 10_000) {}
  get(word: string): Token[] | undefined {
    return this.map.get(word);
  }
  set(word: string, tokens: Token[]): void {
    if (this.map.size >= this.limit) this.map.clear();
    this.map.set(word, tokens);
  }
}

/** `<0xAB>`: the byte-fallback token of a byte. */
export function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}
