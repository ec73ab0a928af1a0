/**
 * `tuna train --prompt TEMPLATE --verbalizer label=word,...`: prompt-based fine-tuning of a masked
 * LM (LM-BFF style) on a few labelled examples; writes the masked-LM checkpoint with
 * `prompt_config.json`, which `pipeline('text-classification')`, `tuna predict` and `tuna serve` read.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { packageVersion } from '../../io/version.js';
import { AutoModelForMaskedLM, AutoTokenizer } from '../../models/auto.js';
import { bundledModelDir, detectLanguage, hasBundledModel } from '../../models/bundled.js';
import { readFewShotData } from '../../fewshot/data.js';
import { pseudoLabelCount, selectPseudoLabels } from '../../fewshot/ipet.js';
import { type PromptExample, parseVerbalizer, savePromptModel, trainPrompt } from '../../fewshot/prompt.js';
import { openClozeModel, promptProbabilities } from '../../fewshot/prompt-pipeline.js';
import { loadTextExamples } from '../../data/index.js';
import { defaultLearningRate } from '../../train/arguments.js';
import { prepareOutputDir } from '../../train/output-dir.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { asError, integer, number } from './options.js';
import type { TrainOptions } from './train.js';

/** The flags of prompt-based training beyond the common ones. */
export interface PromptTrainFlags extends TrainOptions {
  /** One template, or several (ensembled). */
  readonly prompt: string | string[];
  readonly verbalizer?: string;
  /** Unlabelled texts for iPET-style self-training. */
  readonly unlabeled?: string;
  readonly ipetGenerations?: string;
}

/** `tuna train --prompt ... --verbalizer ...`. */
export async function promptTrainCommand(o: PromptTrainFlags, out: Output): Promise<void> {
  const say = (s: string) => out.stderr(`${s}\n`);
  if (o.verbalizer === undefined) throw new CliError('usage', '--prompt needs --verbalizer, the words of each label, e.g. --verbalizer positive=great,negative=terrible');
  for (const [flag, value] of Object.entries({ '--peft': o.peft, '--multi-label': o.multiLabel, '--resume': o.resume, '--from-scratch': o.fromScratch })) {
    if (value !== undefined && value !== false) throw new CliError('usage', `${flag} does not apply to prompt-based training (--prompt); leave it out`);
  }
  const templates = Array.isArray(o.prompt) ? o.prompt : [o.prompt];
  const verbalizer = await asError(async () => parseVerbalizer(o.verbalizer!));
  const labels = Object.keys(verbalizer);
  const epochs = number('--epochs', o.epochs, { min: 0, exclusive: true });
  const maxSteps = o.maxSteps === undefined ? undefined : integer('--max-steps', o.maxSteps, 1);
  const batchSize = integer('--batch-size', o.batchSize, 1);
  const maxLength = integer('--max-length', o.maxLength, 8);
  const seed = integer('--seed', o.seed, 0);
  await asError(() => prepareOutputDir(o.output, { overwrite: !!o.overwriteOutputDir, remedies: { overwrite: '--overwrite-output-dir', resume: '--overwrite-output-dir' } }));
  const data = await asError(() => readFewShotData(o.train, { textColumn: o.textColumn, textPairColumn: o.textPairColumn, labelColumn: o.labelColumn, labels }));
  let source = o.model;
  if (source === undefined) {
    const lang = detectLanguage(data.examples.map((e) => e.text));
    if (!hasBundledModel(lang))
      throw new CliError('usage', `no --model given and the bundled ${lang} model is missing from this installation; name a masked-LM checkpoint with --model`);
    source = bundledModelDir(lang);
    say(`no --model: using the bundled ${lang === 'zh' ? 'Chinese' : 'English'} model (${source})`);
  }
  const threads = o.threads === undefined ? undefined : integer('--threads', o.threads, 1);
  const unlabeled =
    o.unlabeled === undefined
      ? undefined
      : await asError(() => loadTextExamples(o.unlabeled!, { columns: { text: o.textColumn, textPair: o.textPairColumn }, requireLabels: false }));
  const generations = o.ipetGenerations === undefined ? (unlabeled ? 2 : 0) : integer('--ipet-generations', o.ipetGenerations, 1);
  if (o.ipetGenerations !== undefined && !unlabeled) throw new CliError('usage', '--ipet-generations applies to self-training: give the unlabelled texts with --unlabeled');
  const tokenizer = await asError(() => AutoTokenizer.fromPretrained(source!));
  const config = { templates, labels, verbalizer };
  let learningRate = 0;
  // One generation: a fresh model from the starting checkpoint, trained on `examples`, saved to --output.
  const generation = async (examples: readonly PromptExample[], name: string) => {
    const model = await asError(() => AutoModelForMaskedLM.fromPretrained(source!, { seed, ...(threads === undefined ? {} : { threads }) }));
    learningRate = o.lr === undefined ? defaultLearningRate(Number(model.config.hidden_size)) : number('--lr', o.lr, { min: 0, exclusive: true });
    say(`${name}: ${examples.length} examples, ${labels.length} labels, ${templates.length} template(s); model ${source}`);
    try {
      const result = await asError(() =>
        trainPrompt({
          model,
          tokenizer,
          config,
          examples,
          batchSize,
          epochs,
          maxSteps,
          learningRate,
          weightDecay: number('--weight-decay', o.weightDecay, { min: 0 }),
          maxGradNorm: number('--max-grad-norm', o.maxGradNorm, { min: 0 }),
          maxLength: Math.min(maxLength, model.maxSequenceLength),
          seed,
          threads,
          onStep: (s) => {
            if (s.step % 10 === 0 || s.step === s.maxSteps) say(`step ${s.step}/${s.maxSteps}  loss ${s.loss.toFixed(4)}`);
          },
        }),
      );
      await asError(() => savePromptModel(o.output, model, tokenizer, config, { tuna: packageVersion() }));
      return result;
    } finally {
      await model.dispose();
    }
  };
  let result = await generation(data.examples, 'prompt-based training');
  const selfTraining: { generation: number; pseudo_labelled: number }[] = [];
  const perClass = Math.max(1, Math.round(data.examples.length / labels.length));
  for (let g = 1; g <= generations; g++) {
    const checkpoint = await asError(() => openClozeModel(o.output, { batchSize: 32, ...(threads === undefined ? {} : { threads }) }));
    let probabilities: number[][];
    try {
      probabilities = await asError(() => promptProbabilities(checkpoint, config, unlabeled!, 32));
    } finally {
      await checkpoint.session.release();
    }
    const pseudo = selectPseudoLabels(unlabeled!, probabilities, pseudoLabelCount(perClass, g));
    selfTraining.push({ generation: g, pseudo_labelled: pseudo.length });
    result = await generation([...data.examples, ...pseudo], `self-training generation ${g}/${generations} (${pseudo.length} pseudo-labelled texts)`);
  }
  const summary = {
    output: o.output,
    global_step: result.steps,
    learning_rate: learningRate,
    ...(selfTraining.length ? { self_training: selfTraining } : {}),
    train: { train_runtime: Math.round(result.seconds * 1000) / 1000, first_loss: result.losses[0], last_loss: result.losses.at(-1) },
  };
  await writeFileAtomic(join(o.output, 'train_results.json'), new TextEncoder().encode(`${toJson(summary)}\n`));
  if (o.json) out.stdout(`${toJson(summary)}\n`);
  else out.stdout(`prompt classifier (masked LM, prompt_config.json) and train_results.json written to ${o.output}\n`);
}
