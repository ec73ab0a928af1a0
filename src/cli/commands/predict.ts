import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolveModel } from '../../io/hub.js';
import { BertPredictor } from '../../models/bert/predictor.js';
import { readConfig } from '../../io/checkpoint.js';
import { AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer } from '../../models/auto.js';
import { fillMask } from '../../pretrain/evaluate.js';
import { asError } from './options.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';

/** Options of `tuna predict`. */
export interface PredictOptions {
  readonly model: string;
  readonly text?: string;
  readonly input?: string;
  readonly json?: boolean;
  readonly batchSize?: string;
}

/** JSON for one line of JSON Lines output: U+2028/U+2029 escaped. */
function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** `tuna predict --model DIR_OR_ID (--text T | --input FILE) [--json] [--batch-size N]`; a Hub id is downloaded into the cache. */
export async function predictCommand(opts: PredictOptions, out: Output): Promise<void> {
  if ((opts.text === undefined) === (opts.input === undefined)) throw new CliError('usage', 'give exactly one of --text or --input');
  const batchSize = opts.batchSize === undefined ? 32 : Number(opts.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CliError('usage', `--batch-size must be a positive integer, got ${opts.batchSize}`);
  let texts: string[];
  if (opts.text !== undefined) texts = [opts.text];
  else {
    if (!existsSync(opts.input!)) throw new CliError('file_not_found', `${opts.input}: no such input file`, { file: opts.input });
    let raw: string;
    try {
      raw = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(opts.input!));
    } catch {
      throw new CliError('file_unreadable', `${opts.input}: not valid UTF-8 text; save it as UTF-8 with one text per line`, { file: opts.input });
    }
    texts = raw.split(/\r?\n/);
    if (texts.at(-1) === '') texts.pop();
  }
  const dir = await asError(() => resolveModel(opts.model));
  const archs = ((await asError(() => readConfig(dir))).architectures as string[] | undefined) ?? [];
  if (archs.includes('BertForMaskedLM') || archs.includes('BertForPreTraining')) {
    await fillMaskLines(dir, archs.includes('BertForPreTraining'), texts, !!opts.json, out);
    return;
  }
  let predictor: BertPredictor;
  try {
    predictor = await BertPredictor.fromPretrained(dir);
  } catch (e) {
    throw new CliError('file_unreadable', (e as Error).message, { file: opts.model, cause: e });
  }
  try {
    if (predictor.task === 'text-classification') {
      for (const p of await predictor.classify(texts, batchSize)) {
        out.stdout(opts.json ? `${jsonLine(p)}\n` : `${p.label}\t${p.score.toFixed(4)}\t${p.text}\n`);
      }
    } else {
      for (const p of await predictor.tag(texts, batchSize)) {
        if (opts.json) out.stdout(`${jsonLine(p)}\n`);
        else out.stdout(`${p.text}\n${p.entities.map((e) => `  ${e.entity}\t${e.word}\t[${e.start}, ${e.end})\t${e.score.toFixed(4)}\n`).join('')}`);
      }
    }
  } finally {
    await predictor.release();
  }
}

/** Fill-mask on a masked-LM checkpoint: the top 5 tokens for the first [MASK] of each text. */
async function fillMaskLines(dir: string, nsp: boolean, texts: readonly string[], json: boolean, out: Output): Promise<void> {
  const model = await asError(() => (nsp ? AutoModelForPreTraining : AutoModelForMaskedLM).fromPretrained(dir, { initMissingWeights: false }));
  const tokenizer = await asError(() => AutoTokenizer.fromPretrained(dir));
  try {
    let results;
    try {
      results = await fillMask(model, tokenizer, texts);
    } catch (e) {
      if (e instanceof RangeError) throw new CliError('usage', e.message);
      throw e;
    }
    results.forEach((candidates, i) => {
      if (json) out.stdout(`${jsonLine({ text: texts[i], candidates })}\n`);
      else out.stdout(`${texts[i]}\n${candidates.map((c) => `  ${c.token}\t${c.score.toFixed(4)}\t${c.sequence}\n`).join('')}`);
    });
  } finally {
    await model.dispose();
  }
}
