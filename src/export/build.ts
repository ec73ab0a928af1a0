/**
 * The inference graph of a checkpoint, ready for export: frozen weights as initializers, standard
 * input and output names, constant weight assemblies folded and contrib ops lowered to standard ONNX.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Graph } from '../onnx/graph.js';
import { ParameterScope } from '../nn/parameters.js';
import { type BertArchitecture, BertConfigError, type BertConfig, parseBertConfig } from '../models/bert/config.js';
import { buildBert } from '../models/bert/modeling.js';
import { CheckpointError, type LoadedBert, loadBert } from '../models/bert/pretrained.js';
import { CheckpointError as FileCheckpointError, readConfig } from '../io/checkpoint.js';
import { ExportError } from './errors.js';
import { foldConstants } from './fold.js';
import { lowerContribOps } from './lower.js';
import { ExportModel } from './model.js';

/** The pipeline task an exported model serves (transformers.js names). */
export type ExportTask = 'text-classification' | 'token-classification' | 'fill-mask' | 'feature-extraction';

/** Architectures tuna exports, and the graph each is exported as. */
const EXPORTED: Partial<Record<string, { build: BertArchitecture; task: ExportTask }>> = {
  BertForSequenceClassification: { build: 'BertForSequenceClassification', task: 'text-classification' },
  BertForTokenClassification: { build: 'BertForTokenClassification', task: 'token-classification' },
  BertForMaskedLM: { build: 'BertForMaskedLM', task: 'fill-mask' },
  // The masked-LM half of the pre-training heads; the next-sentence head is left out.
  BertForPreTraining: { build: 'BertForMaskedLM', task: 'fill-mask' },
  BertModel: { build: 'BertModel', task: 'feature-extraction' },
};

/** Architectures {@link buildExportModel} accepts in config.json. */
export const EXPORTABLE_ARCHITECTURES = Object.keys(EXPORTED);

/** A checkpoint's inference graph as an {@link ExportModel}, with what it was built from. */
export interface BuiltExport {
  readonly model: ExportModel;
  readonly config: BertConfig;
  /** The architecture config.json names. */
  readonly architecture: string;
  readonly task: ExportTask;
  /** Output names in order: `logits`, or `last_hidden_state` (and `pooler_output`). */
  readonly outputs: readonly string[];
  readonly loaded: LoadedBert;
}

function pick(archs: readonly string[], file: string): string {
  if (archs.length === 0) return 'BertModel';
  const found = archs.find((a) => EXPORTED[a]);
  if (found) return found;
  throw new ExportError(
    'unsupported_architecture',
    `${file}: architectures ${JSON.stringify(archs)} cannot be exported; tuna exports ${EXPORTABLE_ARCHITECTURES.join(', ')}`,
    { file },
  );
}

/** Options for {@link buildExportModel}. */
export interface BuildExportOptions {
  /**
   * Keep ONNX Runtime's fused `com.microsoft` Attention kernel for self-attention (ONNX Runtime
   * only) instead of standard ops (default false).
   */
  readonly contribOps?: boolean;
}

/**
 * Loads the checkpoint in `dir` and builds its inference graph: standard ONNX ops, or with
 * `contribOps` ONNX Runtime's fused Attention kernel.
 */
export async function buildExportModel(dir: string, opts: BuildExportOptions = {}): Promise<BuiltExport> {
  if (!existsSync(dir)) throw new ExportError('checkpoint_not_found', `${dir}: no such checkpoint directory`, { file: dir });
  if (!statSync(dir).isDirectory()) throw new ExportError('checkpoint_not_found', `${dir}: is a file; --model takes a checkpoint directory (config.json, model.safetensors, vocab.txt)`, { file: dir });
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new ExportError('checkpoint_not_found', `${configFile}: no such file; a Hugging Face checkpoint directory needs config.json`, { file: configFile });
  const wrap = (e: unknown, file: string) =>
    e instanceof CheckpointError || e instanceof FileCheckpointError || e instanceof BertConfigError
      ? new ExportError('invalid_checkpoint', (e as Error).message, { file, cause: e })
      : e;
  let raw: Record<string, unknown>;
  try {
    raw = await readConfig(dir);
    parseBertConfig(raw, configFile);
  } catch (e) {
    throw wrap(e, configFile);
  }
  const archs = Array.isArray(raw.architectures) ? (raw.architectures as unknown[]).filter((a): a is string => typeof a === 'string') : [];
  const architecture = pick(archs, configFile);
  const plan = EXPORTED[architecture]!;
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) throw new ExportError('checkpoint_not_found', `${weights}: no such file; export needs the trained weights in model.safetensors`, { file: weights });
  let loaded: LoadedBert;
  try {
    loaded = await loadBert(dir, { architecture: plan.build });
  } catch (e) {
    throw wrap(e, weights);
  }
  const noPooler = loaded.report.missing.some((n) => /(^|\.)pooler\./.test(n));
  const missing = loaded.report.missing.filter((n) => !(plan.build === 'BertModel' && /(^|\.)pooler\./.test(n)));
  if (missing.length || loaded.report.mismatched.length) {
    const names = [...missing, ...loaded.report.mismatched.map((x) => x.name)];
    throw new ExportError(
      'invalid_checkpoint',
      `${weights}: lacks ${names.length} parameter(s) a ${architecture} needs (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}); export needs a complete trained checkpoint`,
      { file: weights },
    );
  }

  const g = new Graph('tuna_export');
  const scope = new ParameterScope(g, loaded.store, true);
  const ctx = { scope, training: false, nextSeed: () => 0, initStd: loaded.config.initializer_range, fusedKernels: opts.contribOps ?? false };
  const built = buildBert(ctx, loaded.config, plan.build, false).outputs;
  const outputs = plan.build === 'BertModel' ? (noPooler ? ['last_hidden_state'] : ['last_hidden_state', 'pooler_output']) : ['logits'];
  for (const name of outputs) g.output(built[name]!, name);

  const model = ExportModel.fromGraph(g);
  foldConstants(model);
  lowerContribOps(model, opts.contribOps ? ['Attention'] : []);
  model.prune();
  return { model, config: loaded.config, architecture, task: plan.task, outputs, loaded };
}
