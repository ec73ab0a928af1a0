/**
 * Hugging Face-style entry points: `AutoModelFor*.fromPretrained` and `AutoTokenizer.fromPretrained`
 * return models and tokenizers that load from and save to Hugging Face checkpoint directories.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HubOptions } from '../io/hub.js';
import { resolveModel } from '../io/hub.js';
import { ForwardModel } from '../nn/forward.js';
import type { ParameterStore } from '../nn/parameters.js';
import { type HostTensor } from '../runtime/tensor.js';
import { BertTokenizer } from '../tokenizers/bert-tokenizer.js';
import { type BertArchitecture, type BertConfig, type ProblemType, numLabels } from './bert/config.js';
import { buildBert } from './bert/modeling.js';
import { type LoadReport, loadBert, saveBert } from './bert/pretrained.js';

/** Options of `fromPretrained`. */
export interface FromPretrainedOptions {
  /** Labels of a classification head, by id; a head trained on other labels is re-initialised. */
  readonly id2label?: Readonly<Record<string, string>>;
  /** Number of labels when no names are given (labels become LABEL_0, LABEL_1, ...). */
  readonly numLabels?: number;
  readonly problemType?: ProblemType;
  /** Further config.json fields to override (e.g. `hidden_dropout_prob`). */
  readonly config?: Partial<BertConfig>;
  /** Seed of freshly initialised weights (default 42). */
  readonly seed?: number;
  /** Accept a directory with config.json but no weights and initialise them (default true). */
  readonly initMissingWeights?: boolean;
  readonly hub?: HubOptions;
  /** ONNX Runtime threads for `forward`. */
  readonly threads?: number;
}

/**
 * A BERT model with a task head, its configuration and its parameter values: what `fromPretrained`
 * returns and what the {@link Trainer} trains. Parameter values are live; `forward` always sees the
 * current ones.
 */
export class PreTrainedBert {
  private forwardModel: ForwardModel | undefined;

  constructor(
    public config: BertConfig,
    readonly architecture: BertArchitecture,
    readonly store: ParameterStore,
    /** What loading did: missing, unexpected and re-initialised parameters. */
    readonly loadReport: LoadReport,
    readonly source: string,
    private readonly threads?: number,
  ) {}

  /** Number of labels of the classification head (0 for models without one). */
  get numLabels(): number {
    return numLabels(this.config);
  }

  /** Runs the model (dropout off) on a batch of `input_ids`, `attention_mask`, `token_type_ids`; returns its outputs (e.g. `logits`). */
  async forward(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    this.forwardModel ??= await ForwardModel.create(this.store, (ctx) => buildBert(ctx, this.config, this.architecture, false).outputs, {
      fusedKernels: true,
      session: { threads: this.threads },
    });
    return this.forwardModel.run(inputs);
  }

  /**
   * Writes config.json and model.safetensors (Hugging Face layout), each atomically; `dtype` F16
   * or BF16 halves the file (loading upcasts to F32).
   */
  async savePretrained(dir: string, opts: { dtype?: 'F32' | 'F16' | 'BF16' } = {}): Promise<void> {
    await mkdir(dir, { recursive: true });
    await saveBert(dir, this, opts);
  }

  /** Frees the inference session. */
  async dispose(): Promise<void> {
    await this.forwardModel?.release();
    this.forwardModel = undefined;
  }
}

async function loadFor(architecture: BertArchitecture, dirOrId: string, opts: FromPretrainedOptions): Promise<PreTrainedBert> {
  const config: Record<string, unknown> = { ...(opts.config ?? {}) };
  const id2label = opts.id2label ?? (opts.numLabels ? Object.fromEntries(Array.from({ length: opts.numLabels }, (_, i) => [String(i), `LABEL_${i}`])) : undefined);
  if (id2label) {
    config.id2label = id2label;
    config.label2id = Object.fromEntries(Object.entries(id2label).map(([k, v]) => [v, Number(k)]));
  }
  if (opts.problemType) config.problem_type = opts.problemType;
  const dir = await resolveModel(dirOrId, opts.hub);
  const previous = id2label ? await previousLabels(dir) : undefined;
  const relabelled = id2label !== undefined && previous !== undefined && JSON.stringify(previous) !== JSON.stringify(id2label);
  const loaded = await loadBert(dir, {
    architecture,
    config: config as Partial<BertConfig>,
    seed: opts.seed ?? 42,
    initMissingWeights: opts.initMissingWeights ?? true,
    // A head trained on other labels is meaningless for the new ones, even when the count matches.
    reinitialize: relabelled ? (name) => name.startsWith('classifier.') : undefined,
  });
  return new PreTrainedBert(loaded.config, architecture, loaded.store, loaded.report, dir, opts.threads);
}

async function previousLabels(dir: string): Promise<Record<string, string> | undefined> {
  try {
    const raw = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { id2label?: Record<string, string>; architectures?: string[] };
    const isClassifier = (raw.architectures ?? []).some((a) => /ForSequenceClassification|ForTokenClassification/.test(a));
    return isClassifier ? raw.id2label : undefined;
  } catch {
    return undefined;
  }
}

/** Loads a checkpoint as a sequence classifier (BertForSequenceClassification). */
export const AutoModelForSequenceClassification = {
  fromPretrained: (dirOrId: string, opts: FromPretrainedOptions = {}) => loadFor('BertForSequenceClassification', dirOrId, opts),
};

/** Loads a checkpoint as a token classifier (BertForTokenClassification). */
export const AutoModelForTokenClassification = {
  fromPretrained: (dirOrId: string, opts: FromPretrainedOptions = {}) => loadFor('BertForTokenClassification', dirOrId, opts),
};

/** Loads a checkpoint as a masked language model (BertForMaskedLM). */
export const AutoModelForMaskedLM = {
  fromPretrained: (dirOrId: string, opts: FromPretrainedOptions = {}) => loadFor('BertForMaskedLM', dirOrId, opts),
};

/** Loads a checkpoint with both pre-training heads (BertForPreTraining: masked LM and next-sentence prediction). */
export const AutoModelForPreTraining = {
  fromPretrained: (dirOrId: string, opts: FromPretrainedOptions = {}) => loadFor('BertForPreTraining', dirOrId, opts),
};

/** Loads the bare encoder (BertModel: last_hidden_state, pooler_output). */
export const AutoModel = {
  fromPretrained: (dirOrId: string, opts: FromPretrainedOptions = {}) => loadFor('BertModel', dirOrId, opts),
};

/** Loads the tokenizer of a checkpoint directory or Hub id (vocab.txt / tokenizer.json, tokenizer_config.json). */
export const AutoTokenizer = {
  fromPretrained: async (dirOrId: string, opts: { hub?: HubOptions } = {}) => BertTokenizer.fromDirectory(await resolveModel(dirOrId, opts.hub)),
};
