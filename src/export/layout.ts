/**
 * The directory layout transformers.js reads: config.json and the tokenizer files at the top,
 * ONNX models under onnx/ (model.onnx, model_quantized.onnx for dtype 'q8', model_fp16.onnx).
 * Every file is written atomically (temporary file, then rename).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { readSmallFile, readSmallTextFile } from '../io/files.js';
import { BertTokenizer } from '../tokenizers/bert-tokenizer.js';
import { SENTENCEPIECE_FILES, loadHfTokenizer } from '../tokenizers/hf/load.js';
import { tokenizerFileContents } from '../tokenizers/io.js';
import { ExportError } from './errors.js';

/** File names of the exported variants under `onnx/`, as transformers.js looks them up. */
export const ONNX_FILES = { f32: 'model.onnx', int8: 'model_quantized.onnx', f16: 'model_fp16.onnx' } as const;

/** Files copied beside the models (and written afresh when the checkpoint lacks them). */
export const SIDE_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'] as const;

/** A file-system failure in words a user can act on. */
function reasonOf(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a path component is a file';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return (e as Error).message;
  }
}

/** Creates `dir` and `dir/onnx`, or explains why they cannot be written. */
export async function prepareOutput(dir: string): Promise<string> {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new ExportError('output_not_writable', `${dir}: exists and is a file; the export is written into a directory, so choose another path`, { file: dir });
  }
  const onnxDir = join(dir, 'onnx');
  try {
    await mkdir(onnxDir, { recursive: true });
  } catch (e) {
    throw new ExportError('output_not_writable', `${onnxDir}: cannot create the output directory (${reasonOf(e)})`, { file: onnxDir, cause: e });
  }
  return onnxDir;
}

/** Writes `bytes` to `path` atomically, reporting failures as output errors naming the file. */
export async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw new ExportError('output_not_writable', `${path}: cannot write (${reasonOf(e)})`, { file: path, cause: e });
  }
}

/** Whether the checkpoint's tokenizer is WordPiece (vocab.txt, or a tokenizer.json whose model is WordPiece). */
async function isWordPieceCheckpoint(dir: string): Promise<boolean> {
  if (existsSync(join(dir, 'vocab.txt'))) return true;
  if (!existsSync(join(dir, 'tokenizer.json'))) return false;
  const text = await readSmallTextFile(join(dir, 'tokenizer.json'), { what: 'the tokenizer', seekable: true, maxBytes: 512 * 1024 * 1024 });
  try {
    return (JSON.parse(text) as { model?: { type?: unknown } } | null)?.model?.type === 'WordPiece';
  } catch (e) {
    throw new ExportError('invalid_checkpoint', `${join(dir, 'tokenizer.json')}: is not valid JSON (${(e as Error).message})`, { file: join(dir, 'tokenizer.json'), cause: e });
  }
}

/**
 * Copies config.json and the tokenizer files of checkpoint `from` into `to`. Tokenizer files the
 * checkpoint lacks (tokenizer.json, special_tokens_map.json, ...) are written from the tokenizer
 * tuna loads from what is there. Returns the names written, which of them were generated, and a
 * warning when the checkpoint has no tokenizer at all (the models are still usable on token ids).
 */
export async function writeSideFiles(from: string, to: string): Promise<{ written: string[]; generated: string[]; warnings: string[] }> {
  const missing = SIDE_FILES.filter((f) => f !== 'config.json' && !existsSync(join(from, f)));
  const warnings: string[] = [];
  let generatedText: Record<string, string> = {};
  const completed = new Set<string>();
  const hasVocabulary = ['tokenizer.json', 'vocab.txt', ...SENTENCEPIECE_FILES.map(([name]) => name)].some((f) => existsSync(join(from, f)));
  if (!hasVocabulary) {
    warnings.push(`${from}: no tokenizer (neither tokenizer.json nor vocab.txt); the ONNX models are written, but transformers.js pipelines need the tokenizer files beside them`);
  } else if (!(await isWordPieceCheckpoint(from))) {
    // Byte-level BPE, Unigram, ...: tokenizer.json says it all (no vocab.txt exists for them), and
    // tokenizer_config.json is written with every special token resolved, as transformers.js needs.
    completed.add('tokenizer_config.json');
    try {
      generatedText = (await loadHfTokenizer(from)).fileContents();
    } catch (e) {
      throw new ExportError('invalid_checkpoint', `${from}: cannot read the tokenizer to write ${missing.join(', ')} (${(e as Error).message})`, {
        file: join(from, 'tokenizer.json'),
        cause: e,
      });
    }
  } else if (missing.length) {
    let tokenizer: BertTokenizer;
    try {
      tokenizer = await BertTokenizer.fromDirectory(from);
    } catch (e) {
      throw new ExportError('invalid_checkpoint', `${from}: cannot read the tokenizer to write ${missing.join(', ')} (${(e as Error).message})`, {
        file: join(from, 'vocab.txt'),
        cause: e,
      });
    }
    generatedText = tokenizerFileContents(tokenizer.state());
  }
  const written: string[] = [];
  const generated: string[] = [];
  const enc = new TextEncoder();
  for (const name of SIDE_FILES) {
    const source = join(from, name);
    if (existsSync(source) && !completed.has(name)) {
      await writeOutput(join(to, name), await readSmallFile(source, { what: 'a file copied beside the ONNX models', seekable: true }));
    } else if (generatedText[name] !== undefined) {
      await writeOutput(join(to, name), enc.encode(generatedText[name]));
      if (!existsSync(source)) generated.push(name);
    } else continue;
    written.push(name);
  }
  if (existsSync(join(from, 'added_tokens.json'))) {
    await writeOutput(join(to, 'added_tokens.json'), await readSmallFile(join(from, 'added_tokens.json'), { what: 'a file copied beside the ONNX models', seekable: true }));
    written.push('added_tokens.json');
  }
  return { written, generated, warnings };
}
