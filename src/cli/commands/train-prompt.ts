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
import { parseVerbalizer, savePromptModel, trainPrompt } from '../../fewshot/prompt.js';
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
  const model = await asError(() => AutoModelForMaskedLM.fromPretrained(source!, { seed, ...(o.threads === undefined ? {} : { threads: integer('--threads', o.threads, 1) }) }));
  const tokenizer = await asError(() => AutoTokenizer.fromPretrained(source!));
  const learningRate = o.lr === undefined ? defaultLearningRate(Number(model.config.hidden_size)) : number('--lr', o.lr, { min: 0, exclusive: true });
  const config = { templates, labels, verbalizer };
  say(`prompt-based training: ${data.examples.length} examples, ${labels.length} labels, ${templates.length} template(s); model ${source}`);
  const result = await asError(() =>
    trainPrompt({
      model,
      tokenizer,
      config,
      examples: data.examples,
      batchSize,
      epochs,
      maxSteps,
      learningRate,
      weightDecay: number('--weight-decay', o.weightDecay, { min: 0 }),
      maxGradNorm: number('--max-grad-norm', o.maxGradNorm, { min: 0 }),
      maxLength: Math.min(maxLength, model.maxSequenceLength),
      seed,
      onStep: (s) => {
        if (s.step % 10 === 0 || s.step === s.maxSteps) say(`step ${s.step}/${s.maxSteps}  loss ${s.loss.toFixed(4)}`);
      },
    }),
  );
  await asError(() => savePromptModel(o.output, model, tokenizer, config, { tuna: packageVersion() }));
  const summary = {
    output: o.output,
    global_step: result.steps,
    learning_rate: learningRate,
    train: { train_runtime: Math.round(result.seconds * 1000) / 1000, first_loss: result.losses[0], last_loss: result.losses.at(-1) },
  };
  await writeFileAtomic(join(o.output, 'train_results.json'), new TextEncoder().encode(`${toJson(summary)}\n`));
  await model.dispose();
  if (o.json) out.stdout(`${toJson(summary)}\n`);
  else out.stdout(`prompt classifier (masked LM, prompt_config.json) and train_results.json written to ${o.output}\n`);
}
