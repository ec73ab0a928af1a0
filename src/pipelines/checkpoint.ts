/**
 * Opens a model for a pipeline task: finds the head the task needs through the registry, loads
 * the checkpoint as a {@link PreTrainedModel} (refusing incomplete ones: inference never runs on
 * random weights), loads its tokenizer and compiles the inference graph (frozen weights, fused
 * kernels).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig } from '../io/checkpoint.js';
import { resolveModel } from '../io/hub.js';
import type { ForwardModel } from '../nn/forward.js';
import {
  type BuildOptions,
  HEAD_FOR_TASK,
  type HeadKind,
  type ModelConfig,
  type ModelFamily,
  type ModelGraph,
  type ModelTask,
  type Tokenizer,
  familyOfConfig,
  headForTask,
  tasksOfArchitectures,
} from '../models/registry.js';
import { IncompleteCheckpointError, PreTrainedModel, vocabularyMismatchError } from '../models/pretrained-model.js';
import { isAdapterDir, loadAdapterModel } from '../peft/index.js';
import { resolveThreads } from '../runtime/session.js';
import type { BuildContext } from '../nn/layers.js';
import type { Value } from '../onnx/graph.js';
import { checkBatchSize } from './batching.js';
import { PipelineError } from './errors.js';
import type { PipelineOptions, PipelineTask } from './types.js';

/** A model opened for one task: the model, its tokenizer and its compiled inference session. */
export interface OpenModel {
  readonly dir: string;
  readonly pretrained: PreTrainedModel;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly session: ForwardModel;
  /** Longest input in tokens, special tokens included. */
  readonly maxLength: number;
  readonly batchSize: number;
}

const REMEDY: Record<PipelineTask, string> = {
  'text-classification': 'Fine-tune one with `tuna train --task text-classification`.',
  'token-classification': 'Fine-tune one with `tuna train --task token-classification`.',
  'fill-mask': 'Use the pre-trained checkpoint it was fine-tuned from.',
  'feature-extraction': '',
  'text-ranking': 'Train one with `tuna train --task cross-encoder`.',
  'zero-shot-classification': "For a masked LM load it with { mode: 'cloze' }, for a sentence-embedding model { mode: 'embedding' }.",
};

const HEAD_NAMES: Record<PipelineTask, string> = {
  'text-classification': 'a sequence-classification head',
  'token-classification': 'a token-classification head',
  'fill-mask': 'a masked-LM head',
  'feature-extraction': 'an encoder',
  'text-ranking': 'a sequence-classification head',
  'zero-shot-classification': 'a sequence-classification head trained for natural language inference',
};

/** The model task whose head a pipeline task runs (text-ranking and zero-shot NLI: a sequence classifier). */
function modelTaskOf(task: PipelineTask): ModelTask {
  return task === 'text-ranking' || task === 'zero-shot-classification' ? 'text-classification' : task;
}

function wrongTask(dir: string, task: PipelineTask, family: ModelFamily, architectures: readonly string[], needs?: string): PipelineError {
  const serves = tasksOfArchitectures(architectures);
  const what = architectures.length ? `a ${architectures.join(', ')}` : 'a bare encoder (config.json names no architecture)';
  const head = needs ?? `${HEAD_NAMES[task]} (${family.architectures[HEAD_FOR_TASK[modelTaskOf(task)]]})`;
  return new PipelineError(
    'wrong_task',
    `${dir}: ${task} needs ${head}, but the checkpoint is ${what}. Use it with ${serves.map((t) => `pipeline('${t}', ...)`).join(' or ')}. ${REMEDY[task]}`.trim(),
    { field: 'task' },
  );
}

/**
 * The `wrong_task` error when what a checkpoint lacks is its head's own weights and nothing of the
 * encoder: the checkpoint is not what its config says (e.g. an encoder saved under a classifier's
 * config). Undefined when encoder weights are missing too, which is an incomplete checkpoint.
 */
function headlessError(
  dir: string,
  task: PipelineTask,
  family: ModelFamily,
  architectures: readonly string[],
  head: HeadKind,
  incomplete: IncompleteCheckpointError,
): PipelineError | undefined {
  // Under a head, the encoder's parameters carry the family's prefix (`bert.`); the rest are the head's.
  const encoderPrefix = head === 'encoder' ? '' : (family.keyRules(head).prefix ?? '');
  const lacking = encoderPrefix === '' ? [] : incomplete.missing.filter((n) => !n.startsWith(encoderPrefix));
  if (lacking.length === 0 || lacking.length !== incomplete.missing.length || incomplete.mismatched.length) return undefined;
  return wrongTask(dir, task, family, architectures, `the weights of its head (${lacking.slice(0, 3).join(', ')}${lacking.length > 3 ? ', ...' : ''}), which the checkpoint lacks`);
}

/** Checks the `maxLength` option against the model's position embeddings. */
function maxLengthOf(opts: PipelineOptions, limit: number, tokenizer: Tokenizer): number {
  if (opts.maxLength === undefined) return Math.min(tokenizer.modelMaxLength ?? limit, limit);
  const n = opts.maxLength;
  if (!Number.isInteger(n) || n < 3 || n > limit) {
    throw new PipelineError('invalid_option', `maxLength must be an integer from 3 to ${limit} (the most tokens the model's position embeddings cover), got ${String(n)}`, {
      field: 'maxLength',
    });
  }
  return n;
}

/**
 * Loads `dirOrId` (a checkpoint directory or a Hub id) with the head `task` needs and compiles its
 * inference graph; `build` may replace the head's outputs (e.g. add post-processing).
 *
 * @throws PipelineError (`wrong_task`) when the checkpoint has no head for the task;
 *   CheckpointError (`invalid_checkpoint`) when it lacks weights the head needs, holds them with
 *   other shapes than config.json declares, or has a tokenizer with ids beyond the embeddings;
 *   TunaError `non_finite` for weights holding NaN or infinities, `too_large` for sizes beyond
 *   memory, `invalid_option` for a bad `threads` option or `TUNA_THREADS`.
 */
export async function openModel(
  task: PipelineTask,
  dirOrId: string,
  opts: PipelineOptions,
  buildOpts: BuildOptions = {},
  build?: (ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph) => Readonly<Record<string, Value>>,
): Promise<OpenModel> {
  const batchSize = checkBatchSize(opts.batchSize ?? 32);
  // Checked before anything is loaded: the option, or TUNA_THREADS when it is not given.
  const threads = resolveThreads(opts.threads);
  const dir = await resolveModel(dirOrId, opts.hub);
  if (isAdapterDir(dir)) return openAdapter(task, dir, opts, buildOpts, build, { batchSize, threads });
  const raw = await readConfig(dir);
  const family = familyOfConfig(raw, join(dir, 'config.json'));
  const architectures = family.parseConfig(raw, join(dir, 'config.json')).architectures;
  const head = headForTask(modelTaskOf(task), architectures);
  if (head === undefined) throw wrongTask(dir, task, family, architectures);
  let pretrained: PreTrainedModel;
  try {
    // Incomplete checkpoints and broken (NaN/Inf) weights are refused before a session is built.
    pretrained = await PreTrainedModel.fromPretrained(dir, { head, threads, missing: 'error', checkFinite: true });
  } catch (e) {
    throw e instanceof IncompleteCheckpointError ? (headlessError(dir, task, family, architectures, head, e) ?? e) : e;
  }
  // The tokenizer is checked to produce only ids the embeddings have.
  const tokenizer = await pretrained.loadTokenizer();
  const maxLength = maxLengthOf(opts, pretrained.maxSequenceLength, tokenizer);
  const session = await pretrained.compileInference({ ...buildOpts, build, frozen: true, fusedKernels: true, threads });
  return { dir, pretrained, config: pretrained.config, tokenizer, session, maxLength, batchSize };
}

/**
 * {@link openModel} for an adapter directory (adapter_config.json): the base model it names (or
 * `opts.baseModel`) with the adapter applied; the adapter directory's tokenizer when it has one.
 */
async function openAdapter(
  task: PipelineTask,
  dir: string,
  opts: PipelineOptions,
  buildOpts: BuildOptions,
  build: ((ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph) => Readonly<Record<string, Value>>) | undefined,
  sizes: { batchSize: number; threads: number | undefined },
): Promise<OpenModel> {
  const { batchSize, threads } = sizes;
  const peft = await loadAdapterModel(dir, { baseModel: opts.baseModel, threads, hub: opts.hub, checkFinite: true });
  const pretrained = peft.model;
  if (headForTask(modelTaskOf(task), [pretrained.architecture]) !== pretrained.head) throw wrongTask(dir, task, pretrained.family, [pretrained.architecture]);
  const hasTokenizer = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json'].some((f) => existsSync(join(dir, f)));
  const tokenizer = hasTokenizer ? await pretrained.family.loadTokenizer(dir) : await pretrained.loadTokenizer();
  const error = vocabularyMismatchError(hasTokenizer ? dir : pretrained.source, tokenizer.vocabSize, pretrained.config.vocab_size);
  if (error) throw error;
  const maxLength = maxLengthOf(opts, pretrained.maxSequenceLength, tokenizer);
  const session = await pretrained.compileInference({ ...buildOpts, build, frozen: true, fusedKernels: true, threads });
  return { dir, pretrained, config: pretrained.config, tokenizer, session, maxLength, batchSize };
}
