/**
 * Prediction with a prompt-trained masked LM (a checkpoint with `prompt_config.json`): each
 * template's cloze scores (the zero-shot cloze scorer), normalised over the labels, averaged over
 * the templates.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type OpenModel, openModel } from '../pipelines/checkpoint.js';
import { type ClozeLabel, clozeScores } from '../pipelines/zero-shot-cloze.js';
import type { PipelineOptions, TextClassificationPipeline } from '../pipelines/types.js';
import { TunaError } from '../errors.js';
import { type ClassifierInput, classifierPipeline } from './classifier.js';
import { PROMPT_CONFIG_FILE, type PromptConfig, checkPromptTemplate, labelWordPieces, parsePromptConfig, templateFor } from './prompt.js';

/** Reads `dir/prompt_config.json`. */
export async function readPromptConfig(dir: string): Promise<PromptConfig> {
  const file = join(dir, PROMPT_CONFIG_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new TunaError('invalid_checkpoint', `${file}: cannot be read as JSON (${(e as Error).message})`, { file, cause: e });
  }
  return parsePromptConfig(raw, file);
}

/** Opens a masked LM with its head only at the mask positions (output `probabilities`), as the cloze scorer runs it. */
export function openClozeModel(dir: string, opts: PipelineOptions): Promise<OpenModel> {
  return openModel('fill-mask', dir, opts, {}, (ctx, buildHead) => ({
    probabilities: ctx.scope.g.softmax(buildHead({ maskPositions: true }).outputs.logits!, -1),
  }));
}

/**
 * Label probabilities of `inputs` under `config`: per template, the cloze scores of the labels
 * (a label's score: the mean probability of its words at the mask) normalised to sum to 1; then
 * the mean over templates.
 */
export async function promptProbabilities(checkpoint: OpenModel, config: PromptConfig, inputs: readonly ClassifierInput[], batchSize: number): Promise<number[][]> {
  const maskToken = checkpoint.tokenizer.options.maskToken!;
  const ids = labelWordPieces(checkpoint.tokenizer, config);
  const labels: ClozeLabel[] = config.labels.map((label, l) => ({ label, words: config.verbalizer[label]!.map((word, w) => ({ word, pieces: ids[l]![w]! })) }));
  const out = inputs.map(() => new Array<number>(labels.length).fill(0));
  const fields = inputs.map((_, i) => `inputs[${i}]`);
  for (const raw of config.templates) {
    const template = checkPromptTemplate(raw, maskToken);
    // Templates without {text_pair} score every input at once; with it, each input has its own.
    const groups = new Map<string, number[]>();
    inputs.forEach((input, i) => {
      const t = templateFor(template, input.textPair, fields[i]!);
      groups.set(t, [...(groups.get(t) ?? []), i]);
    });
    for (const [t, members] of groups) {
      const scores = await clozeScores(
        checkpoint,
        members.map((i) => inputs[i]!.text),
        members.map((i) => fields[i]!),
        t,
        labels,
        batchSize,
      );
      scores.forEach(({ labelScores }, k) => {
        const total = labelScores.reduce((s, x) => s + x, 0);
        labelScores.forEach((x, l) => {
          out[members[k]!]![l]! += (total > 0 ? x / total : 1 / labelScores.length) / config.templates.length;
        });
      });
    }
  }
  return out;
}

/** Loads a prompt-trained checkpoint as a text-classification pipeline. */
export async function promptClassificationPipeline(dir: string, opts: PipelineOptions = {}): Promise<TextClassificationPipeline> {
  const config = await readPromptConfig(dir);
  const checkpoint = await openClozeModel(dir, opts);
  return classifierPipeline(checkpoint, config.labels, (inputs, batchSize) => promptProbabilities(checkpoint, config, inputs, batchSize));
}
