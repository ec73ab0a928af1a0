/** The tokenizer_config.json settings HfTokenizer reads, and its resolved options. */
import type { Side } from '../options.js';
import { type JsonAt, asObject, child, fieldError } from './json.js';

/** Settings of an HfTokenizer beyond tokenizer.json (tokenizer_config.json names in comments). */
export interface HfTokenizerOptions {
  /** `cls_token` (for RoBERTa/XLM-R `<s>`); when unset, the first special token of the post-processor. */
  readonly clsToken: string | undefined;
  /** `sep_token`; when unset, the last special token of the post-processor. */
  readonly sepToken: string | undefined;
  /** `pad_token`. */
  readonly padToken: string | undefined;
  /** `mask_token`. */
  readonly maskToken: string | undefined;
  /** `unk_token`; when unset, the model's unknown token. */
  readonly unkToken: string | undefined;
  /** `bos_token`. */
  readonly bosToken: string | undefined;
  /** `eos_token`. */
  readonly eosToken: string | undefined;
  /** The model's continuation prefix (`##` for WordPiece), else ''. */
  readonly continuingSubwordPrefix: string;
  /** The WordPiece decoder's `cleanup`, when the decoder is WordPiece; else false. */
  readonly decoderCleanup: boolean;
  /** `clean_up_tokenization_spaces` (default false). */
  readonly cleanUpTokenizationSpaces: boolean;
  /** `model_max_length`, when a real limit is given. */
  readonly modelMaxLength: number | undefined;
  /** `padding_side` (default right). */
  readonly paddingSide: Side;
  /** `truncation_side` (default right). */
  readonly truncationSide: Side;
}

/** tokenizer_config.json contents as far as HfTokenizer reads them. */
export interface TokenizerConfig {
  readonly [key: string]: unknown;
}

/** A special-token entry: a string or an AddedToken object with `content`. */
export function tokenName(v: unknown, at: JsonAt): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  const obj = asObject(v, at);
  if (typeof obj.content !== 'string') throw fieldError(child(at, 'content'), 'must be a string');
  return obj.content;
}

function side(v: unknown, at: JsonAt): Side {
  if (v === undefined || v === null) return 'right';
  if (v === 'left' || v === 'right') return v;
  throw fieldError(at, `must be "left" or "right", got ${JSON.stringify(v)}`);
}

/** Reads the settings of tokenizer_config.json (`file` names it in errors). */
export function readConfig(config: TokenizerConfig | undefined, file: string) {
  const c = config ?? {};
  const at = (k: string): JsonAt => ({ file, path: k });
  const mml = c.model_max_length;
  // transformers writes a huge sentinel (1e30) for "no limit".
  const modelMaxLength = typeof mml === 'number' && Number.isInteger(mml) && mml > 0 && mml < 1e12 ? mml : undefined;
  const cleanup = c.clean_up_tokenization_spaces;
  if (cleanup !== undefined && cleanup !== null && typeof cleanup !== 'boolean') throw fieldError(at('clean_up_tokenization_spaces'), 'must be true or false');
  return {
    clsToken: tokenName(c.cls_token, at('cls_token')),
    sepToken: tokenName(c.sep_token, at('sep_token')),
    padToken: tokenName(c.pad_token, at('pad_token')),
    maskToken: tokenName(c.mask_token, at('mask_token')),
    unkToken: tokenName(c.unk_token, at('unk_token')),
    bosToken: tokenName(c.bos_token, at('bos_token')),
    eosToken: tokenName(c.eos_token, at('eos_token')),
    cleanUpTokenizationSpaces: cleanup === true,
    modelMaxLength,
    paddingSide: side(c.padding_side, at('padding_side')),
    truncationSide: side(c.truncation_side, at('truncation_side')),
  };
}
