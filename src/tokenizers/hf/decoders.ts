/** tokenizer.json `decoder` components: each rewrites the list of token strings; the result is joined. */
import { cleanUpTokenization } from '../decoder.js';
import { fromByteLevel } from './byte-level.js';
import { type JsonAt, child, Fields, fieldError } from './json.js';
import { type Pattern, parsePattern } from './pattern.js';
import { metaspaceReplacement, prependScheme } from './pre-tokenizers.js';

/** A decoder step. */
export interface Decoder {
  decodeChain(tokens: string[]): string[];
}

/** Decoder types tuna runs. */
export const DECODER_TYPES = ['ByteLevel', 'Metaspace', 'WordPiece', 'BPEDecoder', 'ByteFallback', 'Fuse', 'Strip', 'Replace', 'Sequence'] as const;

class ByteLevelDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    return [fromByteLevel(tokens.join(''))];
  }
}

class MetaspaceDecoder implements Decoder {
  constructor(
    readonly replacement: string,
    readonly prepend: boolean,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => t.replaceAll(this.replacement, i === 0 && this.prepend ? '' : ' '));
  }
}

class WordPieceDecoder implements Decoder {
  constructor(
    readonly prefix: string,
    readonly cleanup: boolean,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((tok, i) => {
      let t = tok;
      if (i !== 0) t = t.startsWith(this.prefix) ? t.replace(this.prefix, '') : ` ${t}`;
      if (this.cleanup) t = cleanUpTokenization(t.replaceAll(' do not', " don't"));
      return t;
    });
  }
}

class BpeDecoder implements Decoder {
  constructor(readonly suffix: string) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => t.replaceAll(this.suffix, i === tokens.length - 1 ? '' : ' '));
  }
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class ByteFallbackDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    const out: string[] = [];
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length === 0) return;
      try {
        out.push(strictUtf8.decode(new Uint8Array(bytes)));
      } catch {
        for (let i = 0; i < bytes.length; i++) out.push('\ufffd');
      }
      bytes = [];
    };
    for (const t of tokens) {
      const m = t.length === 6 ? BYTE_TOKEN.exec(t) : null;
      if (m) bytes.push(Number.parseInt(m[1]!, 16));
      else {
        flush();
        out.push(t);
      }
    }
    flush();
    return out;
  }
}

class FuseDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    return [tokens.join('')];
  }
}

class StripDecoder implements Decoder {
  constructor(
    readonly content: string,
    readonly start: number,
    readonly stop: number,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t) => {
      const chars = [...t];
      let a = 0;
      while (a < this.start && a < chars.length && chars[a] === this.content) a++;
      let b = chars.length;
      for (let i = 0; i < this.stop && b > a && chars[b - 1] === this.content; i++) b--;
      return chars.slice(a, b).join('');
    });
  }
}

class ReplaceDecoder implements Decoder {
  constructor(
    readonly pattern: Pattern,
    readonly content: string,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t) => {
      let out = '';
      for (const [a, b, m] of this.pattern.spans(t)) out += m ? this.content : t.slice(a, b);
      return out;
    });
  }
}

class Chain implements Decoder {
  constructor(readonly steps: readonly Decoder[]) {}
  decodeChain(tokens: string[]): string[] {
    let out = tokens;
    for (const s of this.steps) out = s.decodeChain(out);
    return out;
  }
}

/** Builds the decoder a tokenizer.json `decoder` value describes (null: none). */
export function parseDecoder(v: unknown, at: JsonAt): Decoder | undefined {
  if (v === null || v === undefined) return undefined;
  const f = new Fields(v, at);
  const type = f.type(DECODER_TYPES);
  switch (type) {
    case 'ByteLevel':
      return new ByteLevelDecoder();
    case 'Metaspace':
      return new MetaspaceDecoder(metaspaceReplacement(f), prependScheme(f) !== 'never');
    case 'WordPiece':
      return new WordPieceDecoder(f.string('prefix', '##'), f.bool('cleanup', true));
    case 'BPEDecoder':
      return new BpeDecoder(f.string('suffix', '</w>'));
    case 'ByteFallback':
      return new ByteFallbackDecoder();
    case 'Fuse':
      return new FuseDecoder();
    case 'Strip': {
      const content = f.string('content', ' ');
      if ([...content].length !== 1) throw fieldError(f.at_('content'), `must be one character, got ${JSON.stringify(content)}`);
      return new StripDecoder(content, f.index('start', 0), f.index('stop', 0));
    }
    case 'Replace':
      return new ReplaceDecoder(parsePattern(f.raw('pattern'), f.at_('pattern')), f.string('content'));
    case 'Sequence': {
      const list = f.array('decoders');
      return new Chain(list.map((x, i) => parseDecoder(x, child(f.at_('decoders'), i)) ?? new Chain([])));
    }
  }
  throw fieldError(f.at_('type'), 'is not supported');
}
