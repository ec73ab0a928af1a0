/**
 * The inference graph of a checkpoint, ready for export: frozen weights as initializers, standard
 * input and output names, constant weight assemblies folded and contrib ops lowered to standard ONNX.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isTunaError } from '../errors.js';
import { Graph } from '../onnx/graph.js';
import type { LayerFactory } from '../nn/layers.js';
import { ParameterScope } from '../nn/parameters.js';
import { HEADS, HEAD_FOR_TASK, type HeadKind, type ModelFamily, type ModelTask, familyOfConfig, headOfArchitectures } from '../models/registry.js';
import { PreTrainedModel, vocabularyMismatchError } from '../models/pretrained-model.js';
import { hasWeights, readConfig } from '../io/checkpoint.js';
import type { BuildOptions, ModelGraph } from '../models/heads.js';
import type { BuildContext } from '../nn/layers.js';
import type { Value } from '../onnx/graph.js';
import { type SentenceLayout, readSentenceLayout } from '../sentence/layout.js';
import { adoptDenseParameters, sentenceEmbedding } from '../sentence/pooling.js';
import { SETFIT_HEAD_FILE, readSetFitHead } from '../fewshot/setfit.js';
import { PROMPT_CONFIG_FILE, labelWordPieces } from '../fewshot/prompt.js';
import { readPromptConfig } from '../fewshot/prompt-pipeline.js';
import { type PromptExportSpec, promptClassifierOutputs, promptVariants } from './prompt.js';
import type { LogisticHead } from '../fewshot/logistic.js';
import { ExportError } from './errors.js';
import { foldConstants } from './fold.js';
import { lowerContribOps } from './lower.js';
import { ExportModel } from './model.js';

/** The pipeline task an exported model serves (transformers.js names). */
export type ExportTask = ModelTask;

/** The export tasks, for option checking. */
export const EXPORT_TASKS: readonly ExportTask[] = ['text-classification', 'token-classification', 'fill-mask', 'feature-extraction'];

/** A checkpoint's inference graph as an {@link ExportModel}, with the model it was built from. */
export interface ExportGraph {
  readonly model: ExportModel;
  /** The loaded checkpoint, with the head that was exported. */
  readonly source: PreTrainedModel;
  /** The architecture config.json names. */
  readonly architecture: string;
  readonly task: ExportTask;
  /**
   * Output names in order: `logits`, or `last_hidden_state` (and `pooler_output`, and for a
   * sentence-transformers model `sentence_embedding`).
   */
  readonly outputs: readonly string[];
  /** How the graph's outputs were built from the model's head (for the reference run). */
  readonly build?: (ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph) => Readonly<Record<string, Value>>;
  /** What the export could not do exactly as the model directory asks. */
  readonly warnings: readonly string[];
  /** The config.json to write beside the export instead of the checkpoint's (a SetFit model's). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** Options for {@link buildExportModel}. */
export interface BuildExportOptions {
  /**
   * Keep ONNX Runtime's fused `com.microsoft` Attention kernel for self-attention (ONNX Runtime
   * only) instead of standard ops (default false).
   */
  readonly contribOps?: boolean;
  /**
   * The task to export for (default: the checkpoint's own head). `feature-extraction` writes the
   * encoder alone (output `last_hidden_state`), whatever head the checkpoint has.
   */
  readonly task?: ExportTask;
  /** The layer factory the graph is built with (e.g. an adapter's weights as extra inputs). */
  readonly layers?: LayerFactory;
}

/** Whether a checkpoint directory has tokenizer files (an export without them only warns). */
function hasTokenizer(dir: string): boolean {
  return existsSync(join(dir, 'tokenizer.json')) || existsSync(join(dir, 'vocab.txt'));
}

/**
 * Loads the checkpoint in `dir` and builds its inference graph: standard ONNX ops, or with
 * `contribOps` ONNX Runtime's fused Attention kernel.
 */
export async function buildExportModel(dir: string, opts: BuildExportOptions = {}): Promise<ExportGraph> {
  if (!existsSync(dir)) throw new ExportError('checkpoint_not_found', `${dir}: no such checkpoint directory`, { file: dir });
  if (!statSync(dir).isDirectory())
    throw new ExportError('checkpoint_not_found', `${dir}: is a file; --model takes a checkpoint directory (config.json, model.safetensors, vocab.txt)`, { file: dir });
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile))
    throw new ExportError('checkpoint_not_found', `${configFile}: no such file; a Hugging Face checkpoint directory needs config.json`, { file: configFile });
  // Broken weights and sizes beyond memory keep their own codes (non_finite, too_large).
  const wrap = (e: unknown, file: string) =>
    isTunaError(e) && !(e instanceof ExportError) && e.code !== 'non_finite' && e.code !== 'too_large'
      ? new ExportError(e.code === 'unsupported_model' ? 'unsupported_architecture' : 'invalid_checkpoint', e.message, { file, cause: e })
      : e;
  let rawConfig: Record<string, unknown>;
  let declared: HeadKind;
  let architecture: string;
  let family: ModelFamily;
  try {
    rawConfig = await readConfig(dir);
    family = familyOfConfig(rawConfig, configFile);
    const config = family.parseConfig(rawConfig, configFile);
    declared = headOfArchitectures(family, config.architectures, configFile);
    architecture = family.architectures[declared] ?? declared;
  } catch (e) {
    throw wrap(e, configFile);
  }
  if (opts.task !== undefined && !EXPORT_TASKS.includes(opts.task)) {
    throw new ExportError('invalid_option', `task "${String(opts.task)}" cannot be exported; choose one of ${EXPORT_TASKS.join(', ')}`);
  }
  // A prompt or SetFit directory is a text classifier: asking for that task is asking for its own export.
  const classifierDir = existsSync(join(dir, PROMPT_CONFIG_FILE)) || existsSync(join(dir, SETFIT_HEAD_FILE));
  const asked = opts.task === 'text-classification' && classifierDir ? undefined : opts.task;
  let head: HeadKind;
  if (asked === undefined) {
    const exportAs = HEADS[declared].exportAs;
    if (exportAs === undefined) {
      const exportable = new Set((Object.keys(HEADS) as HeadKind[]).filter((h) => HEADS[h].exportAs !== undefined).map((h) => family.architectures[h]));
      throw new ExportError(
        'unsupported_architecture',
        `${configFile}: architectures ${JSON.stringify([architecture])} cannot be exported; tuna exports ${[...exportable].join(', ')} (or the encoder alone, with task feature-extraction)`,
        { file: configFile },
      );
    }
    head = exportAs;
  } else {
    if (!HEADS[declared].tasks.includes(asked)) {
      throw new ExportError('invalid_option', `${configFile}: a ${architecture} cannot be exported for ${asked}; it serves ${HEADS[declared].tasks.join(', ')}`, {
        file: configFile,
      });
    }
    head = HEAD_FOR_TASK[asked];
  }
  if (!hasWeights(dir)) {
    throw new ExportError(
      'checkpoint_not_found',
      `${join(dir, 'model.safetensors')}: no such file; export needs the trained weights (model.safetensors, or model.safetensors.index.json and its shards)`,
      {
        file: join(dir, 'model.safetensors'),
      },
    );
  }
  let source: PreTrainedModel;
  try {
    // A bare-encoder export keeps the pooler when the checkpoint has one.
    source = await PreTrainedModel.fromPretrained(dir, { head, missing: 'error', checkFinite: true, optional: (n) => head === 'base' && /(^|\.)pooler\./.test(n) });
    if (head === 'base' && source.loadReport.missing.length) {
      source = await PreTrainedModel.fromPretrained(dir, { head: 'encoder', missing: 'error', checkFinite: true });
      head = 'encoder';
    }
    // Token ids beyond the embeddings would fail in every runtime the export is used in. (A
    // tokenizer tuna cannot read is still copied as it is; only its size is checked here.)
    const tokenizer = hasTokenizer(dir) ? await source.family.loadTokenizer(dir).catch(() => undefined) : undefined;
    const mismatch = tokenizer && vocabularyMismatchError(dir, tokenizer.vocabSize, source.config.vocab_size);
    if (mismatch) throw mismatch;
  } catch (e) {
    throw wrap(e, dir);
  }

  // A sentence-transformers model's encoder export also gives its pooled (Dense, Normalize) embedding.
  const warnings: string[] = [];
  let layout: SentenceLayout | undefined;
  try {
    layout = head === 'base' || head === 'encoder' ? await readSentenceLayout(dir) : undefined;
  } catch (e) {
    throw wrap(e, join(dir, 'modules.json'));
  }
  if (layout && !layout.pooling.includePrompt) {
    warnings.push(
      `${join(dir, '1_Pooling', 'config.json')}: include_prompt is false, but the exported sentence_embedding pools every token the attention mask covers; feed texts without the prompt, or pool last_hidden_state yourself`,
    );
  }
  // A SetFit model (setfit_head.json beside the sentence-transformers files) exports as one
  // classifier: the embedding, then the logistic head as logits whose softmax is its probabilities.
  let setfit: (LogisticHead & { labels: readonly string[] }) | undefined;
  try {
    setfit = layout && asked === undefined && existsSync(join(dir, SETFIT_HEAD_FILE)) ? await readSetFitHead(dir) : undefined;
  } catch (e) {
    throw wrap(e, join(dir, SETFIT_HEAD_FILE));
  }
  // A prompt-trained masked LM (prompt_config.json beside it) exports as one classifier: the
  // prompts built in token space, the cloze scores of the labels as logits.
  const promptFile = join(dir, PROMPT_CONFIG_FILE);
  let prompt: PromptExportSpec | undefined;
  try {
    prompt = head === 'masked-lm' && asked === undefined && existsSync(promptFile) ? await promptSpec(dir, source) : undefined;
  } catch (e) {
    throw wrap(e, promptFile);
  }
  const embed = layout ? sentenceEmbeddingOutput(layout, source.config.max_position_embeddings) : undefined;
  const build = prompt ? promptClassifierOutputs(prompt) : embed && setfit ? setfitOutputs(embed, setfit, join(dir, SETFIT_HEAD_FILE)) : embed;
  if (layout) adoptDenseParameters(source.store, layout.dense);
  const g = new Graph('tuna_export');
  const scope = new ParameterScope(g, source.store, true);
  const ctx = { scope, training: false, nextSeed: () => 0, initStd: 0.02, fusedKernels: opts.contribOps ?? false, layers: opts.layers };
  const built = build ? build(ctx, (o) => source.buildGraph(ctx, o)) : source.buildGraph(ctx).outputs;
  const outputs = (prompt ? ['logits'] : setfit ? ['logits', SENTENCE_EMBEDDING] : [...HEADS[head].outputs, ...(layout ? [SENTENCE_EMBEDDING] : [])]).filter(
    (n) => built[n] !== undefined,
  );
  for (const name of outputs) g.output(built[name]!, name);

  const model = ExportModel.fromGraph(g);
  foldConstants(model);
  lowerContribOps(model, opts.contribOps ? ['Attention'] : []);
  model.prune();
  const classes = prompt?.config.labels ?? setfit?.labels;
  if (classes) {
    const classifier = source.family.architectures['sequence-classification'] ?? architecture;
    const config = {
      ...rawConfig,
      architectures: [classifier],
      id2label: Object.fromEntries(classes.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(classes.map((l, i) => [l, i])),
      problem_type: 'single_label_classification',
    };
    return { model, source, architecture: `${architecture} + ${prompt ? 'prompt' : 'SetFit'} head`, task: 'text-classification', outputs, build: build!, warnings, config };
  }
  const task = asked ?? HEADS[head].tasks[0]!;
  return { model, source, architecture, task, outputs, ...(build ? { build } : {}), warnings };
}

/**
 * The logistic head on the sentence embedding, as `logits` whose softmax is the head's
 * probabilities: one row per class, or for two classes the logits [0, z] (softmax gives the
 * sigmoid of z, the binary head's probability of the second class).
 */
function setfitOutputs(embed: (ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph) => Readonly<Record<string, Value>>, head: LogisticHead, file: string) {
  return (ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph): Readonly<Record<string, Value>> => {
    const outputs = embed(ctx, buildHead);
    const g = ctx.scope.g;
    const rows = head.classes === 2 ? [head.coef[0]!.map(() => 0), head.coef[0]!] : head.coef;
    const bias = head.classes === 2 ? [0, head.intercept[0]!] : head.intercept;
    const D = rows[0]!.length;
    const given = outputs[SENTENCE_EMBEDDING]!.shape.at(-1);
    if (given !== D) throw new ExportError('invalid_checkpoint', `${file}: the head takes ${D}-dimensional embeddings, but the model gives ${String(given)}`, { file });
    const weight = new Float32Array(D * rows.length);
    rows.forEach((row, k) => row.forEach((w, j) => (weight[j * rows.length + k] = w)));
    const z = g.add(
      g.matMul(outputs[SENTENCE_EMBEDDING]!, g.constant(weight, 'float32', [D, rows.length], 'setfit_head.weight')),
      g.constant(bias, 'float32', [rows.length], 'setfit_head.bias'),
    );
    return { ...outputs, logits: z };
  };
}

/** The prompts and label words of a prompt-trained masked LM, checked against its tokenizer. */
async function promptSpec(dir: string, source: PreTrainedModel): Promise<PromptExportSpec> {
  const config = await readPromptConfig(dir);
  const tokenizer = await source.loadTokenizer();
  const limit = source.maxSequenceLength;
  const maxLength = Math.min(tokenizer.modelMaxLength ?? limit, limit);
  const file = join(dir, PROMPT_CONFIG_FILE);
  return {
    config,
    variants: promptVariants(tokenizer, config, maxLength, file),
    pieces: labelWordPieces(tokenizer, config),
    maxLength,
    padId: tokenizer.padTokenId,
    endId: tokenizer.encode('a').inputIds.at(-1)!,
    vocabSize: source.config.vocab_size,
  };
}

/** The output name of a sentence-transformers model's embedding (as its ONNX exports name it). */
export const SENTENCE_EMBEDDING = 'sentence_embedding';

/** The encoder's outputs plus the sentence embedding its layout pools (Dense modules, Normalize). */
function sentenceEmbeddingOutput(layout: SentenceLayout, maxPositions: number) {
  return (ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph): Readonly<Record<string, Value>> => {
    const outputs = buildHead().outputs;
    const attentionMask = ctx.scope.g.inputs.find((v) => v.name === 'attention_mask');
    if (!attentionMask || !outputs.last_hidden_state)
      throw new ExportError('unsupported_architecture', 'the encoder graph has no attention_mask input or last_hidden_state output to pool');
    return {
      ...outputs,
      [SENTENCE_EMBEDDING]: sentenceEmbedding(ctx, { hidden: outputs.last_hidden_state, attentionMask }, layout, { normalize: layout.normalize, maxPositions }),
    };
  };
}
