import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { AutoModelForMaskedLM, AutoModelForPreTraining, AutoTokenizer } from '../../models/auto.js';
import type { PreTrainedModel } from '../../models/pretrained-model.js';
import type { Tokenizer } from '../../models/registry.js';
import { electraBatch, evaluateElectra } from '../../pretrain/electra-data.js';
import { type ElectraPretrainingModel, GENERATOR_DIR, loadElectraPretraining, newElectraPretraining } from '../../pretrain/electra-model.js';
import { listCheckpoints } from '../../train/checkpoints.js';
import { bertConfig, bertConfigToJson } from '../../models/bert/config.js';
import type { Command } from 'commander';
import { readDocuments, tokenizeCorpus } from '../../pretrain/corpus.js';
import { unknownTokenWarning } from '../../tokenizers/unknown-rate.js';
import { type TrainingArguments, checkMetricForBestModel } from '../../train/arguments.js';
import { resolveModel } from '../../io/hub.js';
import { prepareOutputDir } from '../../train/output-dir.js';
import { inLockedOutput, startRun } from './run-start.js';
import { evaluateMlm, fillMask, holdOut } from '../../pretrain/evaluate.js';
import { nspInstances, packedInstances } from '../../pretrain/instances.js';
import { type MaskingOptions, maskedBatch } from '../../pretrain/masking.js';
import { progressCallback } from '../../train/progress.js';
import { Trainer } from '../../train/trainer.js';
import { CliError } from '../errors.js';
import { trainInterruptibly } from './interruptible.js';
import { type Output, processOutput, toJson } from '../output.js';
import { asError, choice, integer, number } from './options.js';
import { type TrainOptions, trainingArguments } from './train.js';

/** Options of `tuna pretrain`. */
export interface PretrainOptions extends Omit<TrainOptions, 'task' | 'model' | 'train' | 'validation' | 'test'> {
  readonly input: string[];
  readonly tokenizer?: string;
  readonly model?: string;
  readonly hiddenSize: string;
  readonly layers: string;
  readonly heads: string;
  readonly intermediateSize?: string;
  readonly nsp?: boolean;
  readonly wholeWordMask?: boolean;
  readonly mlmProbability: string;
  readonly sample?: string[];
  readonly saveDtype: string;
  /** `mlm` (BERT's masked LM, default) or `electra` (generator + discriminator, replaced-token detection). */
  readonly objective?: string;
  readonly embeddingSize?: string;
  readonly generatorSizeRatio?: string;
  readonly generatorHiddenSize?: string;
  readonly generatorHeads?: string;
  readonly generatorIntermediateSize?: string;
  readonly generatorLayers?: string;
  readonly rtdWeight?: string;
}

/** Adds the options only `tuna pretrain` has to its command, after the shared training flags (see `createProgram`). */
export function pretrainCommandOptions(c: Command): Command {
  return c
    .option('--overwrite-output-dir', 'replace an earlier run in --output: its checkpoints, model and logs are removed first')
    .option(
      '--objective <name>',
      'mlm (masked LM: BertForMaskedLM/BertForPreTraining) or electra (a small generator fills masks, the discriminator spots replaced tokens: ElectraForPreTraining, with the generator as ElectraForMaskedLM in OUTPUT/generator/)',
      'mlm',
    )
    .option('--embedding-size <n>', 'electra: width of the embeddings the generator and discriminator share (default: the hidden size)')
    .option('--generator-size-ratio <r>', "electra: the generator's hidden size, heads and feed-forward size as a share of the discriminator's", '0.25')
    .option('--generator-hidden-size <n>', "electra: the generator's hidden size (overrides the ratio)")
    .option('--generator-heads <n>', "electra: the generator's attention heads (overrides the ratio)")
    .option('--generator-intermediate-size <n>', "electra: the generator's feed-forward size (overrides the ratio)")
    .option('--generator-layers <n>', "electra: the generator's encoder layers (default: the discriminator's)")
    .option('--rtd-weight <lambda>', "electra: weight of the discriminator's replaced-token-detection loss against the generator's masked-LM loss", '50');
}

/** The first lines of a corpus, for the language of its text. */
async function firstLines(paths: readonly string[], n: number): Promise<string[]> {
  const lines: string[] = [];
  for await (const doc of readDocuments(paths)) {
    lines.push(...doc);
    if (lines.length >= n) break;
  }
  return lines.slice(0, n);
}

/**
 * `tuna pretrain`: masked-LM (and optionally next-sentence) pre-training on text files, from a new
 * model of the given sizes (with `--tokenizer`) or from a checkpoint (`--model`). Writes a Hugging
 * Face BertForPreTraining / BertForMaskedLM checkpoint with its tokenizer, held-out MLM loss and
 * accuracy, the metrics log and the learning curve.
 */
export async function pretrainCommand(given: PretrainOptions, out: Output): Promise<void> {
  const say = (s: string) => out.stderr(`${s}\n`);
  if (!given.tokenizer === !given.model) throw new CliError('usage', 'give exactly one of --tokenizer (a new model) or --model (continue pre-training a checkpoint)');
  // A Hub id with --revision: one snapshot for the tokenizer and the weights.
  const o = given.model !== undefined && given.revision !== undefined ? { ...given, model: await asError(() => resolveModel(given.model!, { revision: given.revision })) } : given;
  const args = trainingArguments({ ...o, task: 'text-classification', model: '', train: '' } as TrainOptions);
  const maxLength = integer('--max-length', o.maxLength, 8);
  const probability = number('--mlm-probability', o.mlmProbability, { min: 0, max: 1, exclusive: true });
  choice('--save-dtype', o.saveDtype, ['f32', 'f16', 'bf16'] as const);
  const heldFraction = number('--validation-split', o.validationSplit, { min: 0, max: 0.5 });
  const objective = choice('--objective', o.objective ?? 'mlm', ['mlm', 'electra'] as const);
  if (objective === 'electra' && o.nsp) throw new CliError('usage', '--nsp is a masked-LM objective; ELECTRA pre-training (--objective electra) has no next-sentence head');
  const resuming = !!o.resume || o.resumeFromCheckpoint !== undefined;
  await inLockedOutput(o, resuming, say, () => pretrainLocked(o, out, { args, maxLength, probability, heldFraction, resuming, say }));
}

/** What {@link pretrainCommand} has checked of its flags before taking the output directory. */
interface CheckedPretrainFlags {
  readonly args: TrainingArguments;
  readonly maxLength: number;
  readonly probability: number;
  readonly heldFraction: number;
  readonly resuming: boolean;
  readonly say: (line: string) => void;
}

/** The BERT model masked-LM pre-training starts from: a new one of the flags' sizes, or `--model`. */
async function mlmModelFor(o: PretrainOptions, tokenizer: Tokenizer, maxLength: number, args: TrainingArguments, architecture: string): Promise<PreTrainedModel> {
  const load = o.nsp ? AutoModelForPreTraining : AutoModelForMaskedLM;

  let start = o.model;
  if (!start) {
    const hidden = integer('--hidden-size', o.hiddenSize, 8);
    const heads = integer('--heads', o.heads, 1);
    if (hidden % heads !== 0) throw new CliError('usage', `--hidden-size ${hidden} is not a multiple of --heads ${heads}`);
    const config = bertConfig({
      vocab_size: tokenizer.vocabSize,
      hidden_size: hidden,
      num_hidden_layers: integer('--layers', o.layers, 1),
      num_attention_heads: heads,
      intermediate_size: o.intermediateSize ? integer('--intermediate-size', o.intermediateSize, 1) : 4 * hidden,
      max_position_embeddings: Math.max(maxLength, 128),
      pad_token_id: tokenizer.padTokenId,
    });
    start = await mkdtemp(join(tmpdir(), 'tuna-pretrain-'));
    await writeFile(join(start, 'config.json'), JSON.stringify(bertConfigToJson(config, architecture), null, 2));
  }
  const fresh = !o.model;
  try {
    return await asError(() => load.fromPretrained(start!, { seed: args.seed, threads: args.threads, initMissingWeights: fresh }));
  } finally {
    if (fresh) await rm(start, { recursive: true, force: true });
  }
}

/**
 * The discriminator and generator ELECTRA pre-training starts from: new ones of the flags' sizes
 * (the generator scaled by --generator-size-ratio unless its sizes are given), or `--model` (an
 * ElectraForPreTraining checkpoint, with its generator in generator/ when it has one).
 */
async function electraModelFor(
  o: PretrainOptions,
  tokenizer: Tokenizer,
  maxLength: number,
  args: TrainingArguments,
  say: (line: string) => void,
): Promise<ElectraPretrainingModel> {
  const optional = (flag: string, raw: string | undefined, min: number) => (raw === undefined ? undefined : integer(flag, raw, min));
  const generator = {
    ratio: number('--generator-size-ratio', o.generatorSizeRatio ?? '0.25', { min: 0, max: 1, exclusive: true }),
    hiddenSize: optional('--generator-hidden-size', o.generatorHiddenSize, 1),
    heads: optional('--generator-heads', o.generatorHeads, 1),
    intermediateSize: optional('--generator-intermediate-size', o.generatorIntermediateSize, 1),
    layers: optional('--generator-layers', o.generatorLayers, 1),
  };
  const rtdWeight = number('--rtd-weight', o.rtdWeight ?? '50', { min: 0 });
  const common = { seed: args.seed, threads: args.threads, rtdWeight };
  if (o.model) return asError(() => loadElectraPretraining(o.model!, generator, { ...common, say }));
  const hidden = integer('--hidden-size', o.hiddenSize, 8);
  const heads = integer('--heads', o.heads, 1);
  if (hidden % heads !== 0) throw new CliError('usage', `--hidden-size ${hidden} is not a multiple of --heads ${heads}`);
  return asError(async () =>
    newElectraPretraining(
      {
        vocabSize: tokenizer.vocabSize,
        hiddenSize: hidden,
        layers: integer('--layers', o.layers, 1),
        heads,
        intermediateSize: o.intermediateSize ? integer('--intermediate-size', o.intermediateSize, 1) : 4 * hidden,
        embeddingSize: optional('--embedding-size', o.embeddingSize, 1),
        maxPositions: Math.max(maxLength, 128),
        padTokenId: tokenizer.padTokenId,
      },
      generator,
      common,
    ),
  );
}

/** The run of `tuna pretrain`, with the output directory locked. */
async function pretrainLocked(o: PretrainOptions, out: Output, flags: CheckedPretrainFlags): Promise<void> {
  const { args, maxLength, probability, heldFraction, resuming, say } = flags;
  await asError(() => prepareOutputDir(o.output, { resume: resuming || !!o.overwriteOutputDir, remedies: { overwrite: '--overwrite-output-dir', resume: '--resume' } }));
  const metrics =
    o.objective === 'electra'
      ? ['loss', 'mlm_loss', 'mlm_accuracy', 'rtd_loss', 'rtd_accuracy', 'rtd_replaced_recall']
      : ['loss', 'mlm_loss', 'mlm_accuracy', ...(o.nsp ? ['nsp_loss', 'nsp_accuracy'] : [])];
  if (args.metricForBestModel !== undefined) await asError(async () => checkMetricForBestModel(args.metricForBestModel!, metrics));
  const source = (o.model ?? o.tokenizer)!;
  const tokenizer = await asError(() => AutoTokenizer.fromPretrained(source));
  tokenizer.modelMaxLength = maxLength;
  if (tokenizer.maskTokenId === undefined) throw new CliError('invalid_model', `${source}: the vocabulary has no [MASK] token, which masked-LM pre-training needs`);
  const electra = o.objective === 'electra';
  const architecture = electra ? 'ElectraForPreTraining' : o.nsp ? 'BertForPreTraining' : 'BertForMaskedLM';
  const electraModel = electra ? await electraModelFor(o, tokenizer, maxLength, args, say) : undefined;
  const model: PreTrainedModel = electraModel ?? (await mlmModelFor(o, tokenizer, maxLength, args, architecture));
  if (maxLength > model.config.max_position_embeddings) {
    throw new CliError('usage', `--max-length ${maxLength} exceeds the model's max_position_embeddings (${model.config.max_position_embeddings})`);
  }
  if (o.model && !resuming) {
    const r = model.loadReport;
    const nspHead = r.missing.filter((n) => n.startsWith('cls.seq_relationship.'));
    const pooler = r.missing.filter((n) => n.includes('pooler.'));
    const other = r.missing.filter((n) => !nspHead.includes(n) && !pooler.includes(n));
    if (nspHead.length) {
      say(`--nsp: ${o.model} has no next-sentence head; the head (${nspHead.join(', ')})${pooler.length ? ' and the pooler it reads' : ''} start from random weights`);
    } else if (pooler.length) other.push(...pooler);
    if (other.length) say(`initialised ${other.length} parameters the checkpoint lacks (${other.slice(0, 4).join(', ')}${other.length > 4 ? ', ...' : ''})`);
    if (r.mismatched.length)
      say(
        `re-initialised ${r.mismatched.length} parameters whose shape differs (${r.mismatched
          .map((m) => m.name)
          .slice(0, 4)
          .join(', ')})`,
      );
  }
  const learningRate = await startRun(o, { learningRate: args.learningRate, hiddenSize: Number(model.config.hidden_size), resuming }, say);

  const t0 = performance.now();
  const store = await asError(() => tokenizeCorpus(tokenizer, o.input));
  const ids = { cls: tokenizer.clsTokenId, sep: tokenizer.sepTokenId };
  const instances = o.nsp ? nspInstances(store, ids, { maxLength, seed: args.seed ?? 42 }) : packedInstances(store, ids, { maxLength });
  const { train, heldOut } = holdOut(instances, heldFraction, (args.seed ?? 42) + 1);
  say(
    `corpus: ${store.documentCount} documents, ${store.sentenceCount} lines, ${store.tokenCount} tokens (${((performance.now() - t0) / 1000).toFixed(1)} s); ` +
      `${train.length} training and ${heldOut.length} held-out sequences of up to ${maxLength} tokens; ` +
      `${architecture}, ${(model.store.count() / 1e6).toFixed(1)}M parameters` +
      (electraModel
        ? ` (and an ElectraForMaskedLM generator of hidden size ${electraModel.generatorConfig.hidden_size}, ${electraModel.generatorConfig.num_attention_heads} heads: ${(electraModel.generatorStore.count() / 1e6).toFixed(1)}M more)`
        : ''),
  );
  if (train.length === 0) throw new CliError('invalid_data', `${o.input.join(', ')}: too little text for one training sequence`);
  const unknownRate = store.countOf(tokenizer.unkTokenId) / Math.max(1, store.tokenCount);
  say(`vocabulary coverage: ${(100 * unknownRate).toFixed(1)}% of the corpus tokens are [UNK]`);
  const unknownWarning = unknownTokenWarning(unknownRate, await firstLines(o.input, 200), source, tokenizer);
  if (unknownWarning) say(unknownWarning);

  const continuation = new Set<number>();
  for (const [token, id] of tokenizer.getVocab()) if (token.startsWith('##')) continuation.add(id);
  const masking: MaskingOptions & { nsp: boolean } = {
    maskId: tokenizer.maskTokenId,
    padId: tokenizer.padTokenId,
    vocabSize: tokenizer.vocabSize,
    specialIds: new Set([tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.padTokenId]),
    probability,
    wholeWord: !!o.wholeWordMask,
    isContinuation: (id) => continuation.has(id),
    nsp: !!o.nsp,
  };
  const evalBatch = Math.max(1, Math.min(16, args.perDeviceEvalBatchSize ?? 16));
  const heldOutFigures = () =>
    electraModel
      ? evaluateElectra(electraModel, heldOut, { ...masking, batchSize: evalBatch, seed: 1234 })
      : evaluateMlm(model, heldOut, { ...masking, batchSize: evalBatch, seed: 1234 });
  if (electraModel) {
    electraModel.tokenizer = tokenizer;
    if (resuming) {
      // The Trainer restores the discriminator (and the shared embeddings); the generator is in generator/.
      const dir = o.resumeFromCheckpoint ?? (await listCheckpoints(o.output)).at(-1)?.dir;
      if (dir) await asError(() => electraModel.restoreGenerator(dir));
    }
  }
  const trainer = await asError(
    async () =>
      new Trainer({
        model,
        args: { ...args, learningRate, metricForBestModel: args.metricForBestModel ?? 'loss', evalStrategy: heldOut.length ? args.evalStrategy : 'no' },
        trainDataset: train,
        tokenizer,
        dataCollator: electraModel
          ? (features, indices, at) => electraBatch(features, indices, at, masking)
          : (features, indices, at) => maskedBatch(features, indices, at, { ...masking, sparse: true }),
        sparseMlm: true,
        evaluate: heldOutFigures,
        callbacks: [progressCallback(args.progress ?? 'auto', out === processOutput ? process.stderr : { write: (s: string) => (out.stderr(s), true) })],
      }),
  );
  const result = await trainInterruptibly(trainer, o, say);
  if (o.saveDtype !== 'f32') await model.savePretrained(o.output, { dtype: o.saveDtype === 'bf16' ? 'BF16' : 'F16' });
  const heldOutMetrics = heldOut.length ? await heldOutFigures() : {};
  const samples = o.sample?.length ? await fillMask(electraModel?.generator ?? model, tokenizer, o.sample) : [];
  await model.dispose();
  const summary = {
    output: o.output,
    architecture,
    ...(electraModel
      ? {
          objective: 'electra',
          rtd_weight: electraModel.rtdWeight,
          generator: {
            output: join(o.output, GENERATOR_DIR),
            architecture: 'ElectraForMaskedLM',
            hidden_size: electraModel.generatorConfig.hidden_size,
            num_attention_heads: electraModel.generatorConfig.num_attention_heads,
            intermediate_size: electraModel.generatorConfig.intermediate_size,
            num_hidden_layers: electraModel.generatorConfig.num_hidden_layers,
          },
        }
      : {}),
    corpus: { documents: store.documentCount, lines: store.sentenceCount, tokens: store.tokenCount, sequences: instances.length },
    global_step: result.globalStep,
    learning_rate: learningRate,
    unknown_rate: unknownRate,
    train: result.metrics,
    held_out: heldOutMetrics,
    fill_mask: samples.map((c, i) => ({ text: o.sample![i], candidates: c.map(({ token, token_str, score }) => ({ token, token_str, score })) })),
  };
  await writeFileAtomic(join(o.output, 'pretrain_results.json'), new TextEncoder().encode(toJson(summary) + '\n'));
  if (o.json) {
    out.stdout(`${toJson(summary)}\n`);
    return;
  }
  const m = heldOutMetrics as Record<string, number>;
  if (heldOut.length && electraModel) {
    out.stdout(
      `held-out: generator MLM loss ${m.mlm_loss!.toFixed(4)}, MLM accuracy ${(100 * m.mlm_accuracy!).toFixed(1)}% over ${m.masked_tokens} masked tokens; ` +
        `discriminator loss ${m.rtd_loss!.toFixed(4)}, accuracy ${(100 * m.rtd_accuracy!).toFixed(1)}%, replaced tokens found ${(100 * m.rtd_replaced_recall!).toFixed(1)}% ` +
        `(${(100 * m.replaced_share!).toFixed(1)}% of tokens replaced)\n`,
    );
  } else if (heldOut.length) {
    out.stdout(
      `held-out: MLM loss ${m.mlm_loss!.toFixed(4)}, MLM accuracy ${(100 * m.mlm_accuracy!).toFixed(1)}% over ${m.masked_tokens} masked tokens` +
        (m.nsp_accuracy === undefined ? '' : `, NSP accuracy ${(100 * m.nsp_accuracy).toFixed(1)}%`) +
        '\n',
    );
  }
  samples.forEach((c, i) => out.stdout(`${o.sample![i]}\n${c.map((x) => `  ${x.token_str.padEnd(14)} ${x.score.toFixed(3)}`).join('\n')}\n`));
  out.stdout(`${architecture} checkpoint written to ${o.output}${electraModel ? ` (the generator, ElectraForMaskedLM, in ${join(o.output, GENERATOR_DIR)})` : ''}\n`);
}
