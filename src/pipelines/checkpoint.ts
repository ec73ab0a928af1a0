/**
 * Opens a checkpoint for a pipeline task: checks that it has the head the task needs, loads its
 * weights and tokenizer, and compiles the inference graph (frozen weights, fused kernels).
 */
import { join } from 'node:path';
import { readConfig } from '../io/checkpoint.js';
import { resolveModel } from '../io/hub.js';
import { type BertArchitecture, type BertConfig, parseBertConfig } from '../models/bert/config.js';
import { CheckpointError, loadBert } from '../models/bert/pretrained.js';
import type { Value } from '../onnx/graph.js';
import type { BuildContext } from '../nn/layers.js';
import { ForwardModel } from '../nn/forward.js';
import { BertTokenizer } from '../tokenizers/bert-tokenizer.js';
import { checkBatchSize } from './batching.js';
import { PipelineError } from './errors.js';
import type { PipelineOptions, PipelineTask } from './types.js';

/** A checkpoint opened for one task. */
export interface TaskCheckpoint {
  readonly dir: string;
  readonly config: BertConfig;
  readonly architecture: BertArchitecture;
  readonly tokenizer: BertTokenizer;
  readonly model: ForwardModel;
  /** Longest input in tokens, special tokens included. */
  readonly maxLength: number;
  readonly batchSize: number;
}

/** The task each head serves, for error messages that point to the right pipeline. */
const TASKS_OF: Record<string, readonly PipelineTask[]> = {
  BertForSequenceClassification: ['text-classification', 'feature-extraction'],
  BertForTokenClassification: ['token-classification', 'feature-extraction'],
  BertForMaskedLM: ['fill-mask', 'feature-extraction'],
  BertForPreTraining: ['fill-mask', 'feature-extraction'],
  BertForNextSentencePrediction: ['feature-extraction'],
  BertModel: ['feature-extraction'],
};

function describe(config: BertConfig): string {
  return config.architectures.length ? config.architectures.join(', ') : 'BertModel (config.json names no architecture)';
}

function wrongTask(dir: string, task: PipelineTask, config: BertConfig, needs: string, remedy: string): PipelineError {
  const named = config.architectures.find((a) => TASKS_OF[a]);
  const instead = named ? ` Use it with ${TASKS_OF[named]!.map((t) => `pipeline('${t}', ...)`).join(' or ')}.` : '';
  return new PipelineError('wrong_task', `${dir}: ${task} needs ${needs}, but the checkpoint is a ${describe(config)}.${instead} ${remedy}`, { field: 'task' });
}

/** The architecture to load for `task`, or a `wrong_task` error naming what the checkpoint is. */
function architectureFor(task: PipelineTask, config: BertConfig, dir: string): BertArchitecture {
  const archs = config.architectures;
  switch (task) {
    case 'text-classification':
      if (archs.includes('BertForSequenceClassification')) return 'BertForSequenceClassification';
      throw wrongTask(dir, task, config, 'a sequence-classification head (BertForSequenceClassification)', 'Fine-tune one with `tuna train --task text-classification`.');
    case 'token-classification':
      if (archs.includes('BertForTokenClassification')) return 'BertForTokenClassification';
      throw wrongTask(dir, task, config, 'a token-classification head (BertForTokenClassification)', 'Fine-tune one with `tuna train --task token-classification`.');
    case 'fill-mask':
      if (archs.length === 0 || archs.includes('BertForMaskedLM') || archs.includes('BertForPreTraining')) return 'BertForMaskedLM';
      throw wrongTask(dir, task, config, 'a masked-LM head (BertForMaskedLM or BertForPreTraining)', 'Use the pre-trained checkpoint it was fine-tuned from.');
    case 'feature-extraction':
      return 'BertModel';
  }
}

/** Parameters a task never reads, so their absence from a checkpoint does not matter. */
function unused(task: PipelineTask, name: string): boolean {
  return task !== 'text-classification' && /(^|\.)pooler\./.test(name);
}

/** Checks the `maxLength` option against the model's position embeddings. */
function maxLengthOf(opts: PipelineOptions, config: BertConfig, tokenizer: BertTokenizer): number {
  const limit = config.max_position_embeddings;
  if (opts.maxLength === undefined) return Math.min(tokenizer.modelMaxLength ?? limit, limit);
  const n = opts.maxLength;
  if (!Number.isInteger(n) || n < 3 || n > limit) {
    throw new PipelineError('invalid_option', `maxLength must be an integer from 3 to ${limit} (the model's max_position_embeddings), got ${String(n)}`, { field: 'maxLength' });
  }
  return n;
}

/**
 * Loads `dirOrId` (a checkpoint directory or a Hub id) for `task` and compiles the graph `build`
 * returns (named outputs) over its parameters.
 *
 * @throws PipelineError (`wrong_task`) when the checkpoint lacks the head the task needs.
 */
export async function openCheckpoint(
  task: PipelineTask,
  dirOrId: string,
  opts: PipelineOptions,
  build: (ctx: BuildContext, config: BertConfig, architecture: BertArchitecture) => Readonly<Record<string, Value>>,
): Promise<TaskCheckpoint> {
  const batchSize = checkBatchSize(opts.batchSize ?? 32);
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new PipelineError('invalid_option', `threads must be a positive integer, got ${String(opts.threads)}`, { field: 'threads' });
  }
  const dir = await resolveModel(dirOrId, opts.hub);
  const declared = parseBertConfig(await readConfig(dir), join(dir, 'config.json'));
  const architecture = architectureFor(task, declared, dir);
  const loaded = await loadBert(dir, { architecture });
  const missing = loaded.report.missing.filter((name) => !unused(task, name));
  if (missing.length) {
    const head = missing.filter((n) => /^(cls\.|classifier\.)/.test(n));
    if (head.length) {
      throw wrongTask(dir, task, loaded.config, `the weights of its head (${head.slice(0, 3).join(', ')}${head.length > 3 ? ', ...' : ''})`, 'model.safetensors lacks them.');
    }
    throw new CheckpointError(`${dir}: model.safetensors lacks ${missing.length} parameter(s) the model needs (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`);
  }
  const tokenizer = await BertTokenizer.fromDirectory(dir);
  const maxLength = maxLengthOf(opts, loaded.config, tokenizer);
  const model = await ForwardModel.create(loaded.store, (ctx) => build(ctx, loaded.config, architecture), {
    frozen: true,
    fusedKernels: true,
    session: { threads: opts.threads },
  });
  return { dir, config: loaded.config, architecture, tokenizer, model, maxLength, batchSize };
}
