/**
 * `tuna train --task setfit`: SetFit-style few-shot training of a sentence-embedding model on a
 * labelled file; writes a sentence-transformers directory with `setfit_head.json`, which
 * `pipeline('text-classification')` reads.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { resolveModel } from '../../io/hub.js';
import { packageVersion } from '../../io/version.js';
import { bundledModelDir, detectLanguage, hasBundledModel } from '../../models/bundled.js';
import { PreTrainedModel } from '../../models/pretrained-model.js';
import { readFewShotData } from '../../fewshot/data.js';
import { SETFIT_SAMPLINGS, type SetFitSampling, type SetFitTrainingOptions, trainSetFit } from '../../fewshot/setfit.js';
import { readSentenceLayout } from '../../sentence/layout.js';
import { defaultLayout } from '../../sentence/model.js';
import { defaultLearningRate } from '../../train/arguments.js';
import { prepareOutputDir } from '../../train/output-dir.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { asError, choice, integer, number } from './options.js';
import type { TrainOptions } from './train.js';

/** The flags of `tuna train --task setfit` beyond the common ones. */
export interface SetFitTrainFlags extends TrainOptions {
  readonly numIterations?: string;
  readonly sampling?: string;
  readonly headC?: string;
  readonly differentiableHead?: boolean;
  readonly endToEnd?: boolean;
  readonly headEpochs?: string;
  readonly headBatchSize?: string;
  readonly headLr?: string;
  readonly bodyLr?: string;
  readonly l2Weight?: string;
}

/** The flags only `--task setfit` reads, as the user spells them. */
const SETFIT_FLAGS: Readonly<Record<string, keyof SetFitTrainFlags>> = {
  '--num-iterations': 'numIterations',
  '--sampling': 'sampling',
  '--head-c': 'headC',
  '--differentiable-head': 'differentiableHead',
  '--end-to-end': 'endToEnd',
  '--head-epochs': 'headEpochs',
  '--head-batch-size': 'headBatchSize',
  '--head-lr': 'headLr',
  '--body-lr': 'bodyLr',
  '--l2-weight': 'l2Weight',
};

/** Refuses SetFit's flags on another task, where they would be silently ignored. */
export function refuseSetFitFlags(o: SetFitTrainFlags): void {
  for (const [flag, key] of Object.entries(SETFIT_FLAGS)) {
    if (o[key] !== undefined && o[key] !== false) throw new CliError('usage', `${flag} applies to --task setfit; leave it out or add --task setfit`);
  }
}

/** The differentiable head's settings from the flags (undefined for the logistic head, whose flags are refused then). */
function differentiableHeadFlags(o: SetFitTrainFlags): Partial<SetFitTrainingOptions> | undefined {
  const headOnly = {
    '--end-to-end': o.endToEnd,
    '--head-epochs': o.headEpochs,
    '--head-batch-size': o.headBatchSize,
    '--head-lr': o.headLr,
    '--body-lr': o.bodyLr,
    '--l2-weight': o.l2Weight,
  };
  if (!o.differentiableHead) {
    for (const [flag, value] of Object.entries(headOnly)) {
      if (value !== undefined && value !== false) throw new CliError('usage', `${flag} applies to the differentiable head; add --differentiable-head`);
    }
    return undefined;
  }
  if (o.headC !== undefined) throw new CliError('usage', "--head-c is the logistic head's; the differentiable head is regularised by --l2-weight");
  if (o.bodyLr !== undefined && !o.endToEnd) throw new CliError('usage', '--body-lr applies when the body trains with the head; add --end-to-end');
  return {
    head: 'differentiable',
    endToEnd: !!o.endToEnd,
    headEpochs: number('--head-epochs', o.headEpochs ?? '16', { min: 0, exclusive: true }),
    headBatchSize: integer('--head-batch-size', o.headBatchSize ?? '2', 1),
    headLearningRate: number('--head-lr', o.headLr ?? '1e-2', { min: 0, exclusive: true }),
    ...(o.bodyLr === undefined ? {} : { bodyLearningRate: number('--body-lr', o.bodyLr, { min: 0, exclusive: true }) }),
    l2Weight: number('--l2-weight', o.l2Weight ?? '0.01', { min: 0 }),
  };
}

/** `tuna train --task setfit`. */
export async function setfitTrainCommand(o: SetFitTrainFlags, out: Output): Promise<void> {
  const say = (s: string) => out.stderr(`${s}\n`);
  for (const [flag, value] of Object.entries({ '--peft': o.peft, '--multi-label': o.multiLabel, '--resume': o.resume, '--from-scratch': o.fromScratch })) {
    if (value !== undefined && value !== false) throw new CliError('usage', `${flag} does not apply to --task setfit; leave it out`);
  }
  const iterations = integer('--num-iterations', o.numIterations ?? '20', 1);
  const sampling = choice('--sampling', o.sampling ?? 'iterations', SETFIT_SAMPLINGS) as SetFitSampling;
  if (o.numIterations !== undefined && sampling !== 'iterations')
    throw new CliError('usage', `--num-iterations applies to --sampling iterations; --sampling ${sampling} draws from all unique pairs`);
  const differentiable = differentiableHeadFlags(o);
  const C = number('--head-c', o.headC ?? '1', { min: 0, exclusive: true });
  const epochs = number('--epochs', o.epochs, { min: 0, exclusive: true });
  const maxSteps = o.maxSteps === undefined ? undefined : integer('--max-steps', o.maxSteps, 1);
  const batchSize = integer('--batch-size', o.batchSize, 1);
  let maxLength = integer('--max-length', o.maxLength, 8);
  const seed = integer('--seed', o.seed, 0);
  const threads = o.threads === undefined ? undefined : integer('--threads', o.threads, 1);
  await asError(() => prepareOutputDir(o.output, { overwrite: !!o.overwriteOutputDir, remedies: { overwrite: '--overwrite-output-dir', resume: '--overwrite-output-dir' } }));
  const data = await asError(() => readFewShotData(o.train, { textColumn: o.textColumn, labelColumn: o.labelColumn }));
  if (data.labels.length < 2) throw new CliError('invalid_data', `${o.train}: every example has the label "${data.labels[0]}"; a classifier needs at least two`, { file: o.train });
  let source = o.model;
  if (source === undefined) {
    const lang = detectLanguage(data.examples.map((e) => e.text));
    if (!hasBundledModel(lang))
      throw new CliError('usage', `no --model given and the bundled ${lang} model is missing from this installation; name a sentence-embedding model with --model`);
    source = bundledModelDir(lang);
    say(`no --model: using the bundled ${lang === 'zh' ? 'Chinese' : 'English'} model (${source}) with mean pooling`);
  }
  const dir = await asError(() => resolveModel(source!, o.revision === undefined ? {} : { revision: o.revision }));
  const model = await asError(() => PreTrainedModel.fromPretrained(dir, { head: 'encoder', seed, ...(threads === undefined ? {} : { threads }) }));
  const tokenizer = await asError(() => model.loadTokenizer());
  maxLength = Math.min(maxLength, model.config.max_position_embeddings);
  tokenizer.modelMaxLength = maxLength;
  const layout = (await asError(() => readSentenceLayout(dir))) ?? defaultLayout(model.config.hidden_size, { modes: ['mean'] });
  const learningRate = o.lr === undefined ? defaultLearningRate(model.config.hidden_size) : number('--lr', o.lr, { min: 0, exclusive: true });
  say(
    `setfit: ${data.examples.length} examples, ${data.labels.length} labels, ${sampling === 'iterations' ? `${iterations} pair iterations` : `${sampling} of the unique pairs`}; ${differentiable ? `differentiable head${differentiable.endToEnd ? ' trained with the body' : ' on frozen embeddings'}` : 'logistic-regression head'}; model ${source}`,
  );
  const result = await asError(() =>
    trainSetFit({
      model,
      tokenizer,
      layout,
      examples: data.examples,
      labels: data.labels,
      output: o.output,
      iterations,
      sampling,
      batchSize,
      epochs,
      maxSteps,
      learningRate,
      maxLength,
      C,
      ...differentiable,
      seed,
      threads,
      versions: { tuna: packageVersion() },
      onStep: (s) => {
        if (s.step % 10 === 0 || s.step === s.maxSteps) say(`step ${s.step}/${s.maxSteps}  loss ${s.loss.toFixed(4)}`);
      },
      onHeadStep: (s) => {
        if (s.step % 50 === 0 || s.step === s.maxSteps) say(`head step ${s.step}/${s.maxSteps}  loss ${s.loss.toFixed(4)}`);
      },
    }),
  );
  await model.dispose();
  const summary = {
    output: o.output,
    global_step: result.body.steps,
    pairs: result.pairs,
    learning_rate: learningRate,
    head: differentiable
      ? {
          kind: 'differentiable',
          end_to_end: differentiable.endToEnd,
          epochs: differentiable.headEpochs,
          batch_size: differentiable.headBatchSize,
          learning_rate: differentiable.headLearningRate,
          ...(differentiable.endToEnd ? { body_learning_rate: differentiable.bodyLearningRate ?? learningRate / 2 } : {}),
          l2_weight: differentiable.l2Weight,
          steps: result.headTraining?.steps,
          first_loss: result.headTraining?.losses[0],
          last_loss: result.headTraining?.losses.at(-1),
          train_accuracy: result.trainAccuracy,
        }
      : { kind: 'logistic', C, train_accuracy: result.trainAccuracy },
    train: { train_runtime: Math.round(result.body.seconds * 1000) / 1000, first_loss: result.body.losses[0], last_loss: result.body.losses.at(-1) },
  };
  await writeFileAtomic(join(o.output, 'train_results.json'), new TextEncoder().encode(`${toJson(summary)}\n`));
  if (o.json) out.stdout(`${toJson(summary)}\n`);
  else out.stdout(`SetFit model (sentence-transformers body, setfit_head.json) and train_results.json written to ${o.output}\n`);
}
