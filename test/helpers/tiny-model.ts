// A small untrained BERT checkpoint directory (config.json + vocab.txt, no weights: tuna initialises
// them) whose vocabulary covers the words and characters of some texts, for training tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Basic BERT-style pieces: lower-cased words, punctuation and CJK characters one by one. */
function pieces(text: string): string[] {
  return text.toLowerCase().match(/[\p{Script=Han}]|[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/**
 * Writes `dir` with a vocabulary of every piece of `texts` (plus `##` forms of single characters so
 * unseen words still split into pieces) and a config of the given sizes.
 */
export function writeTinyModel(dir: string, texts: Iterable<string>, sizes: { hidden?: number; layers?: number; heads?: number; maxPositions?: number } = {}): string {
  const words = new Set<string>();
  const chars = new Set<string>();
  for (const t of texts) {
    for (const p of pieces(t)) {
      words.add(p);
      for (const c of p) chars.add(c);
    }
  }
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...[...words].sort()];
  const inVocab = new Set(vocab);
  for (const c of [...chars].sort()) {
    if (!inVocab.has(c)) vocab.push(c);
    vocab.push(`##${c}`);
  }
  const hidden = sizes.hidden ?? 64;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      vocab_size: vocab.length,
      hidden_size: hidden,
      num_hidden_layers: sizes.layers ?? 2,
      num_attention_heads: sizes.heads ?? 2,
      intermediate_size: hidden * 4,
      max_position_embeddings: sizes.maxPositions ?? 128,
      hidden_dropout_prob: 0.1,
      attention_probs_dropout_prob: 0.1,
    }),
  );
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, tokenize_chinese_chars: true }));
  return dir;
}
