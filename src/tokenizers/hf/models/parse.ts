/** Builds the model a tokenizer.json `model` value describes. */
import { type JsonAt, asIndex, asObject, child, Fields, fieldError } from '../json.js';
import { parseBpe } from './bpe.js';
import type { Model } from './model.js';
import { parseUnigram } from './unigram.js';
import { parseWordLevel, parseWordPiece } from './word-level.js';

/** Model types tuna runs. */
export const MODEL_TYPES = ['BPE', 'Unigram', 'WordPiece', 'WordLevel'] as const;

function parseVocab(f: Fields): Map<string, number> {
  const at = f.at_('vocab');
  const obj = asObject(f.raw('vocab'), at);
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(obj)) out.set(k, asIndex(v, child(at, k)));
  return out;
}

function guessType(obj: Record<string, unknown>): string | undefined {
  if (Array.isArray(obj.vocab)) return 'Unigram';
  if (obj.merges !== undefined) return 'BPE';
  if (obj.continuing_subword_prefix !== undefined || obj.max_input_chars_per_word !== undefined) return 'WordPiece';
  if (obj.vocab !== undefined) return 'WordLevel';
  return undefined;
}

/** The tokenizer.json `model`. */
export function parseModel(v: unknown, at: JsonAt): Model {
  let f = new Fields(v, at);
  if (!f.has('type')) {
    const t = guessType(f.obj);
    if (!t) throw fieldError(at, 'has no type and is not recognisable as BPE, Unigram, WordPiece or WordLevel');
    f = new Fields({ ...f.obj, type: t }, at);
  }
  const type = f.type(MODEL_TYPES);
  switch (type) {
    case 'BPE':
      return parseBpe(f, parseVocab(f));
    case 'Unigram':
      return parseUnigram(f);
    case 'WordPiece':
      return parseWordPiece(f, parseVocab(f));
    case 'WordLevel':
      return parseWordLevel(f, parseVocab(f));
  }
  throw fieldError(f.at_('type'), 'is not supported');
}
