import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { decodedLines } from '../../data/lines.js';
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import { countWords, trainWordPieceFromCounts } from '../../tokenizers/wordpiece-trainer.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { asError, integer } from './options.js';

/** Options of `tuna tokenizer train`. */
export interface TokenizerTrainOptions {
  readonly input: string[];
  readonly output: string;
  readonly vocabSize: string;
  readonly minFrequency: string;
  readonly cased?: boolean;
  readonly chineseChars: boolean;
  readonly maxLength: string;
  readonly initialAlphabet?: string;
  readonly json?: boolean;
}

/** Printable ASCII and the punctuation of Chinese text, for corpora that lack some of it. */
const ASCII_AND_CJK_PUNCTUATION = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('') + '！？，。：；、“”‘’（）《》〈〉【】…～—·￥％＋－＝／';

/** Fails before training (which can take a while) when `--output` names something other than a directory. */
function checkOutputDir(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return; // created later
  }
  if (!isDir) throw new CliError('usage', `--output ${dir}: is a file; give a directory for vocab.txt, tokenizer_config.json and tokenizer.json`, { file: dir });
}

/** The most characters of a line the coverage is measured on. */
const COVERAGE_CHARS = 10_000;

/** Lines the vocabulary's coverage is measured on: the corpus's first. */
const COVERAGE_LINES = 2000;

/** The lines of the files in order, streamed; the first {@link COVERAGE_LINES} are kept in `first` (a pipe cannot be read twice). */
async function* linesOf(paths: readonly string[], first: string[]): AsyncGenerator<string> {
  for (const p of paths) {
    for await (const { text } of decodedLines(p)) {
      if (first.length < COVERAGE_LINES) first.push(text);
      yield text;
    }
  }
}

/**
 * `tuna tokenizer train`: learns a WordPiece vocabulary from text files and writes vocab.txt,
 * tokenizer_config.json and tokenizer.json, which tuna and Hugging Face both load.
 */
export async function tokenizerTrainCommand(o: TokenizerTrainOptions, out: Output): Promise<void> {
  const vocabSize = integer('--vocab-size', o.vocabSize, 10);
  const minFrequency = integer('--min-frequency', o.minFrequency, 1);
  const maxLength = integer('--max-length', o.maxLength, 8);
  const lowercase = !o.cased;
  checkOutputDir(o.output);
  const t0 = performance.now();
  const firstLines: string[] = [];
  const counts = await asError(() => countWords(linesOf(o.input, firstLines), { lowercase, tokenizeChineseChars: o.chineseChars }));
  if (counts.size === 0) throw new CliError('invalid_data', `${o.input.join(', ')}: no words to learn a vocabulary from`);
  const initialAlphabet = o.initialAlphabet === 'ascii+cjk-punctuation' ? ASCII_AND_CJK_PUNCTUATION : o.initialAlphabet;
  const result = trainWordPieceFromCounts(counts, { vocabSize, minFrequency, lowercase, tokenizeChineseChars: o.chineseChars, initialAlphabet });
  const alphabetWarning =
    vocabSize < result.baseSize
      ? `warning: --vocab-size ${vocabSize} is below the ${result.baseSize} tokens the corpus's alphabet needs (special tokens, characters and their ## forms); ` +
        `the vocabulary has ${result.vocab.length} tokens and no merged pieces, so words are split into single characters. Raise --vocab-size well above ${result.baseSize}`
      : undefined;
  if (alphabetWarning) out.stderr(`${alphabetWarning}\n`);
  const seconds = (performance.now() - t0) / 1000;
  const tokenizer = new BertTokenizer(result.vocab, { lowercase, chineseChars: o.chineseChars, modelMaxLength: maxLength });
  try {
    await mkdir(o.output, { recursive: true });
    await tokenizer.save(o.output);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError('file_unreadable', `${o.output}: cannot write the tokenizer files (${code ?? (e as Error).message}). Check that --output is a directory you can write to`, {
      file: o.output,
      cause: e,
    });
  }

  // How well the vocabulary covers the start of the corpus.
  let tokens = 0;
  let unknown = 0;
  let words = 0;
  let n = 0;
  for (const line of firstLines) {
    const enc = tokenizer.encode(line.length > COVERAGE_CHARS ? line.slice(0, COVERAGE_CHARS) : line, undefined, { addSpecialTokens: false, truncation: false });
    tokens += enc.inputIds.length;
    unknown += enc.inputIds.filter((id) => id === tokenizer.unkTokenId).length;
    words += new Set(enc.wordIds).size;
    n++;
  }
  const summary = {
    output: o.output,
    vocab_size: result.vocab.length,
    distinct_words: result.distinctWords,
    words: result.words,
    merges: result.merges,
    seconds: Math.round(seconds * 10) / 10,
    unknown_rate: tokens ? unknown / tokens : 0,
    tokens_per_word: words ? tokens / words : 0,
    ...(alphabetWarning ? { warning: alphabetWarning } : {}),
  };
  if (o.json) {
    out.stdout(`${toJson(summary)}\n`);
    return;
  }
  out.stdout(
    `${summary.vocab_size} tokens learned from ${summary.words} words (${summary.distinct_words} distinct) in ${summary.seconds} s; ` +
      `on the first ${n} lines: ${(100 * summary.unknown_rate).toFixed(2)}% [UNK], ${summary.tokens_per_word.toFixed(2)} tokens per word\n` +
      `vocab.txt, tokenizer_config.json and tokenizer.json written to ${o.output}\n`,
  );
}
