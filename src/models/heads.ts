/**
 * What the registry is made of: the kinds of task head and what each serves, the config fields
 * every family has, and the {@link ModelFamily} interface a family folder implements.
 */
import type { MatchOptions } from '../io/names.js';
import type { BuildContext } from '../nn/layers.js';
import type { Init } from '../nn/parameters.js';
import type { Value } from '../onnx/graph.js';
import type { Tokenizer } from '../tokenizers/types.js';

/** The inference tasks of the pipelines, in transformers.js names. */
export type ModelTask = 'text-classification' | 'token-classification' | 'fill-mask' | 'feature-extraction';

/** The kinds of head a family may build on its encoder. */
export type HeadKind =
  /** The bare encoder with its pooler (Hugging Face's `XModel`). */
  | 'base'
  /** The bare encoder without a pooler (`XModel(add_pooling_layer=False)`): feature extraction. */
  | 'encoder'
  | 'sequence-classification'
  | 'token-classification'
  | 'masked-lm'
  | 'next-sentence'
  /** Masked LM and next-sentence prediction together (BERT's pre-training heads). */
  | 'pretraining'
  /** One logit per token: was it replaced? (ELECTRA's discriminator, `ElectraForPreTraining`). */
  | 'replaced-token-detection';

/** How the labels of a head's training data look. */
export type LabelKind = 'none' | 'sequence' | 'token' | 'masked-lm' | 'next-sentence' | 'pretraining' | 'replaced-token';

/** What every family's head of one kind has in common. */
export interface HeadInfo {
  readonly kind: HeadKind;
  /** Pipeline tasks a checkpoint with this head serves, best first. */
  readonly tasks: readonly ModelTask[];
  readonly labels: LabelKind;
  /** Label inputs of the training graph. */
  readonly labelInputs: readonly string[];
  /** Output names of the inference graph. */
  readonly outputs: readonly string[];
  /**
   * The head `tuna export` writes for this one (the pre-training heads export their masked LM);
   * undefined when the head is not exported.
   */
  readonly exportAs?: HeadKind;
  /** Whether the head's weights are task-specific and re-initialised for a new label set. */
  readonly labelled: boolean;
}

/** The head kinds and what they mean. */
export const HEADS: Readonly<Record<HeadKind, HeadInfo>> = {
  base: { kind: 'base', tasks: ['feature-extraction'], labels: 'none', labelInputs: [], outputs: ['last_hidden_state', 'pooler_output'], exportAs: 'base', labelled: false },
  encoder: { kind: 'encoder', tasks: ['feature-extraction'], labels: 'none', labelInputs: [], outputs: ['last_hidden_state'], exportAs: 'encoder', labelled: false },
  'sequence-classification': {
    kind: 'sequence-classification',
    tasks: ['text-classification', 'feature-extraction'],
    labels: 'sequence',
    labelInputs: ['labels'],
    outputs: ['logits'],
    exportAs: 'sequence-classification',
    labelled: true,
  },
  'token-classification': {
    kind: 'token-classification',
    tasks: ['token-classification', 'feature-extraction'],
    labels: 'token',
    labelInputs: ['labels'],
    outputs: ['logits'],
    exportAs: 'token-classification',
    labelled: true,
  },
  'masked-lm': {
    kind: 'masked-lm',
    tasks: ['fill-mask', 'feature-extraction'],
    labels: 'masked-lm',
    labelInputs: ['labels'],
    outputs: ['logits'],
    exportAs: 'masked-lm',
    labelled: false,
  },
  'next-sentence': {
    kind: 'next-sentence',
    tasks: ['feature-extraction'],
    labels: 'next-sentence',
    labelInputs: ['labels'],
    outputs: ['logits'],
    labelled: false,
  },
  pretraining: {
    kind: 'pretraining',
    tasks: ['fill-mask', 'feature-extraction'],
    labels: 'pretraining',
    labelInputs: ['labels', 'next_sentence_label'],
    outputs: ['prediction_logits', 'seq_relationship_logits'],
    exportAs: 'masked-lm',
    labelled: false,
  },
  'replaced-token-detection': {
    kind: 'replaced-token-detection',
    tasks: ['feature-extraction'],
    // 1 where a token was replaced, 0 where it is the original; padding is left out of the loss.
    labels: 'replaced-token',
    labelInputs: ['labels'],
    outputs: ['logits'],
    labelled: false,
  },
};

/** The head a pipeline task loads (feature extraction needs no pooler). */
export const HEAD_FOR_TASK: Readonly<Record<ModelTask, HeadKind>> = {
  'text-classification': 'sequence-classification',
  'token-classification': 'token-classification',
  'fill-mask': 'masked-lm',
  'feature-extraction': 'encoder',
};

/** How a sequence classifier computes its loss (`problem_type` in config.json). */
export type ProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression';

/** The config.json fields every family has, with Hugging Face's names. */
export interface ModelConfig {
  readonly model_type: string;
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly max_position_embeddings: number;
  readonly pad_token_id: number;
  readonly initializer_range: number;
  readonly architectures: readonly string[];
  readonly id2label: Readonly<Record<string, string>>;
  readonly label2id: Readonly<Record<string, number>>;
  readonly problem_type?: ProblemType;
}

/** A parameter a model has: its name, shape, fresh initialisation and whether AdamW decays it. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
  readonly decay: boolean;
}

/** Options of a family's graph builder. */
export interface BuildOptions {
  /** Declare the label inputs and return the loss Hugging Face computes for the head. */
  readonly withLoss?: boolean;
  /** Masked-LM training scores only masked tokens (inputs `masked_positions`, `masked_labels`). */
  readonly sparseMlm?: boolean;
  /** Masked-LM inference at given positions only (input `mask_positions`, output `logits` [masks, vocab]). */
  readonly maskPositions?: boolean;
  /** Bare encoders also output `hidden_states.0` (embeddings) to `hidden_states.{layers}`. */
  readonly hiddenStates?: boolean;
  /** Sequence classifiers also output the final layer's `last_hidden_state` [batch, seq, hidden]. */
  readonly lastHiddenState?: boolean;
}

/** The `last_hidden_state` output a sequence classifier adds with {@link BuildOptions.lastHiddenState}. */
export function lastHiddenStateOutput(opts: BuildOptions, sequenceOutput: Value): Readonly<Record<string, Value>> {
  return opts.lastHiddenState ? { last_hidden_state: sequenceOutput } : {};
}

/** A built graph: named outputs, and the loss in training graphs. */
export interface ModelGraph {
  readonly outputs: Readonly<Record<string, Value>>;
  readonly loss?: Value;
}

/** The tokenizer type of the families registered so far. */
export type { Tokenizer };

/**
 * One Hugging Face `model_type`: how its config.json reads and writes, which parameters each head
 * has and how checkpoint keys map onto them, how its graph is built, and how its tokenizer loads.
 */
export interface ModelFamily<C extends ModelConfig = ModelConfig> {
  readonly modelType: string;
  /** The Hugging Face class name of each head the family builds (e.g. `BertForMaskedLM`). */
  readonly architectures: Readonly<Partial<Record<HeadKind, string>>>;
  /** Validates a parsed config.json, filling the family's defaults; `source` names the file in errors. */
  parseConfig(raw: unknown, source: string): C;
  /** The config as config.json holds it, naming `architecture`. */
  configToJson(config: C, architecture?: string): Record<string, unknown>;
  /** The same config with every dropout probability set to `p`. */
  withDropout(config: C, p: number): C;
  /** Every parameter of a head, in a fixed order; graph builders may use no other. */
  parameters(config: C, head: HeadKind): ParameterSpec[];
  /** How checkpoint keys are matched to parameter names (prefix, tied aliases, legacy spellings). */
  keyRules(head: HeadKind): MatchOptions;
  /** Parameters that belong to the task head (re-initialised for a new label set). */
  isHeadParameter(name: string): boolean;
  /** Builds the head's graph with Hugging Face parameter names. */
  build(ctx: BuildContext, config: C, head: HeadKind, opts: BuildOptions): ModelGraph;
  /** Loads the tokenizer of a checkpoint directory. */
  loadTokenizer(dir: string): Promise<Tokenizer>;
  /**
   * The longest input, in tokens, the model's position embeddings cover (default
   * `max_position_embeddings`; RoBERTa's positions start after the padding index, so fewer).
   */
  maxSequenceLength?(config: C): number;
  /** The config.json fields that set the parameters' sizes (named when a model is too large). */
  readonly sizeFields?: readonly string[];
}

/** Number of labels of a config's classification head. */
export function numLabels(config: ModelConfig): number {
  return Object.keys(config.id2label).length;
}
