/** Public types of the inference pipelines: task names, inputs, options, results, pipeline objects. */
import type { HubOptions } from '../io/hub.js';
import type { ModelConfig, ModelTask, Tokenizer } from '../models/registry.js';
import type { ZeroShotClassificationPipeline } from './zero-shot-types.js';

export type * from './zero-shot-types.js';

/** The tasks {@link pipeline} builds (`text-ranking` runs a sequence classifier as a cross-encoder). */
export type PipelineTask = ModelTask | 'text-ranking' | 'zero-shot-classification';

/** Options of {@link pipeline}, fixed for the pipeline's lifetime. */
export interface PipelineOptions {
  /**
   * ONNX Runtime intra-op threads (default: the number of cores, or `TUNA_THREADS`): a whole
   * number of at least 1, capped to the cores this process may use (with a warning).
   */
  readonly threads?: number;
  /** Inputs per model run (default 32); each batch is padded to its longest input. */
  readonly batchSize?: number;
  /**
   * Longest input in tokens, special tokens included; longer inputs are truncated (or, for
   * token classification with `stride`, split into windows of this length). Default: the
   * tokenizer's `model_max_length`, else the model's `max_position_embeddings`.
   */
  readonly maxLength?: number;
  /** Download settings when `model` is a Hub id. */
  readonly hub?: HubOptions;
  /**
   * For an adapter directory (adapter_config.json): the base model (a directory or Hub id) instead
   * of the one its `base_model_name_or_path` names.
   */
  readonly baseModel?: string;
  /**
   * Text classification: `runWithLogits` also returns each input's `clsVector`, the final layer's
   * vector of the first token (what the classifier's pooler or head reads), from the same run.
   */
  readonly clsVector?: boolean;
}

/** Options every call takes. */
export interface CallOptions {
  /** Inputs per model run for this call (default: the pipeline's `batchSize`). */
  readonly batchSize?: number;
}

/** What every pipeline object has besides being callable. */
export interface PipelineBase<Task extends PipelineTask> {
  /** The task name. */
  readonly task: Task;
  /** The checkpoint directory the pipeline was loaded from (a Hub id resolves to its cache directory). */
  readonly model: string;
  /** The checkpoint's configuration. */
  readonly config: ModelConfig;
  /** The checkpoint's tokenizer. */
  readonly tokenizer: Tokenizer;
  /** Longest input in tokens, special tokens included. */
  readonly maxLength: number;
  /** Frees the ONNX Runtime session; later calls fail with a `PipelineError` (code `disposed`). */
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------- text-classification

/** A text, or a text pair for pair classification (natural language inference, paraphrase, ...). */
export type TextClassificationInput = string | { readonly text: string; readonly textPair?: string };

/** How logits become scores. */
export type ClassificationFunction = 'softmax' | 'sigmoid' | 'none';

/** Options of a text-classification call. */
export interface TextClassificationOptions extends CallOptions {
  /**
   * How many labels to return per input, best first (default 1); `null` or 0 returns all labels.
   */
  readonly topK?: number | null;
  /**
   * Default: `sigmoid` when config.problem_type is `multi_label_classification` or the model has
   * one label, else `softmax`. `none` returns raw logits as scores.
   */
  readonly functionToApply?: ClassificationFunction;
}

/** One label and its score. */
export interface TextClassificationLabel {
  readonly label: string;
  readonly score: number;
}

/** The `topK` best labels of one input, best first. */
export type TextClassificationResult = TextClassificationLabel[];

/** The call signatures of a text-classification pipeline. */
export interface TextClassificationCall {
  /** Classifies one input: its `topK` best labels. */
  (input: TextClassificationInput, opts?: TextClassificationOptions): Promise<TextClassificationResult>;
  /** Classifies several inputs: with `topK` 1 (the default) one label per input, in order. */
  (inputs: readonly TextClassificationInput[], opts?: TextClassificationOptions & { readonly topK?: 1 }): Promise<TextClassificationLabel[]>;
  /** Classifies several inputs: one label per input when `topK` is 1, else one list per input. */
  (inputs: readonly TextClassificationInput[], opts?: TextClassificationOptions): Promise<TextClassificationLabel[] | TextClassificationResult[]>;
}

/** A callable text-classification pipeline (see {@link pipeline}). */
export interface TextClassificationPipeline extends TextClassificationCall, PipelineBase<'text-classification'> {
  /** The same as calling the pipeline. */
  readonly run: TextClassificationCall;
  /** Always one result (the list of `topK` labels) per input, in input order. */
  runBatch(inputs: readonly TextClassificationInput[], opts?: TextClassificationOptions): Promise<TextClassificationResult[]>;
  /**
   * As {@link runBatch}, with each input's raw logits (one per label, before softmax or sigmoid),
   * and its `clsVector` when the pipeline was loaded with {@link PipelineOptions.clsVector}.
   */
  runWithLogits(
    inputs: readonly TextClassificationInput[],
    opts?: TextClassificationOptions,
  ): Promise<{ result: TextClassificationResult; logits: number[]; clsVector?: number[] }[]>;
}

// ---------------------------------------------------------------- token-classification

/**
 * How token predictions become entities (Hugging Face's `aggregation_strategy`):
 * - `none`: one result per token (special tokens and ignored labels left out);
 * - `simple`: each token keeps its best label; adjacent tokens of the same entity type are grouped
 *   (a `B-` tag starts a new group), the group's score is the mean of its tokens' scores;
 * - `first` / `average` / `max`: each word first gets one label, from its first token, from the
 *   mean of its tokens' score vectors, or from its most confident token; words are then grouped
 *   as in `simple`.
 */
export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

/** Options of a token-classification call. */
export interface TokenClassificationOptions extends CallOptions {
  /** Default `none`. */
  readonly aggregationStrategy?: AggregationStrategy;
  /** Labels (or entity groups) left out of the results (default `['O']`). */
  readonly ignoreLabels?: readonly string[];
  /**
   * Tokens shared by consecutive windows when a text is longer than `maxLength`: the text is read
   * in windows of `maxLength` tokens, each starting `maxLength - 2 - stride` tokens after the
   * previous one, and the entities of all windows are merged. Without it, long texts are
   * truncated. Needs an aggregation strategy other than `none`.
   */
  readonly stride?: number;
  /**
   * Inputs are sentences already split into words (`string[]` each; Hugging Face's
   * `is_split_into_words`): each word is tokenized on its own, and offsets index the words joined
   * by single spaces. Default false.
   */
  readonly isSplitIntoWords?: boolean;
}

/** One token's prediction (`aggregationStrategy: 'none'`). */
export interface TokenEntity {
  /** The token's best label. */
  readonly entity: string;
  /** Softmax probability of that label. */
  readonly score: number;
  /** Position of the token in the encoded sequence ([CLS] is 0). */
  readonly index: number;
  /** The token (e.g. `##ing`), or the original text for an unknown-word token. */
  readonly word: string;
  /** Start of the token in the input, in UTF-16 code units. */
  readonly start: number;
  /** End (exclusive) of the token in the input. */
  readonly end: number;
}

/** A group of tokens or words with one entity type (any aggregation strategy but `none`). */
export interface EntityGroup {
  /** The entity type: the label without its `B-`/`I-` prefix. */
  readonly entity_group: string;
  /** Mean score of the grouped tokens or words. */
  readonly score: number;
  /** The grouped tokens joined back into text (WordPiece `##` pieces glued to their word). */
  readonly word: string;
  /** Start of the group in the input, in UTF-16 code units. */
  readonly start: number;
  /** End (exclusive) of the group in the input; `input.slice(start, end)` is the entity's text. */
  readonly end: number;
}

/** Token-classification options without aggregation. */
export type TokenLevelOptions = TokenClassificationOptions & { readonly aggregationStrategy?: 'none' };
/** Token-classification options with an aggregation strategy. */
export type GroupedOptions = TokenClassificationOptions & { readonly aggregationStrategy: Exclude<AggregationStrategy, 'none'> };

/** The call signatures of a token-classification pipeline. */
export interface TokenClassificationCall {
  /** Tags the tokens of one text. */
  (input: string, opts?: TokenLevelOptions): Promise<TokenEntity[]>;
  /** Finds the entities of one text. */
  (input: string, opts: GroupedOptions): Promise<EntityGroup[]>;
  (input: string, opts?: TokenClassificationOptions): Promise<TokenEntity[] | EntityGroup[]>;
  /** Tags several texts: one list per text, in order. */
  (inputs: readonly string[], opts?: TokenLevelOptions): Promise<TokenEntity[][]>;
  (inputs: readonly string[], opts: GroupedOptions): Promise<EntityGroup[][]>;
  (inputs: readonly string[], opts?: TokenClassificationOptions): Promise<(TokenEntity[] | EntityGroup[])[]>;
}

/** A callable token-classification pipeline (see {@link pipeline}). */
export interface TokenClassificationPipeline extends TokenClassificationCall, PipelineBase<'token-classification'> {
  /** The same as calling the pipeline. */
  readonly run: TokenClassificationCall;
  /** Always one list of results per input, in input order. */
  runBatch(inputs: readonly string[], opts?: TokenLevelOptions): Promise<TokenEntity[][]>;
  runBatch(inputs: readonly string[], opts: GroupedOptions): Promise<EntityGroup[][]>;
  runBatch(inputs: readonly string[], opts?: TokenClassificationOptions): Promise<(TokenEntity[] | EntityGroup[])[]>;
  /**
   * As {@link runBatch}, with the raw logits of each input: one matrix per window (a single one
   * unless `stride` splits a long text), one row per token of the encoded sequence ([CLS] and
   * [SEP] included, padding excluded).
   */
  runWithLogits(inputs: readonly string[], opts?: TokenClassificationOptions): Promise<{ result: TokenEntity[] | EntityGroup[]; logits: number[][][] }[]>;
}

// ---------------------------------------------------------------- fill-mask

/** Options of a fill-mask call. */
export interface FillMaskOptions extends CallOptions {
  /** Candidates per mask, most likely first (default 5). */
  readonly topK?: number;
}

/** One candidate for a mask. */
export interface FillMaskCandidate {
  /** Softmax probability of the token at the mask's position. */
  readonly score: number;
  /** The token's id. */
  readonly token: number;
  /** The token decoded as text. */
  readonly token_str: string;
  /**
   * The input with the candidate in place of the mask. With one mask, special tokens are left out;
   * with several, the text keeps [CLS], [SEP] and the other masks (as Hugging Face does).
   */
  readonly sequence: string;
}

/**
 * The candidates of one input: a list for an input with one mask, a list of lists (one per mask,
 * in text order) for an input with several.
 */
export type FillMaskResult = FillMaskCandidate[] | FillMaskCandidate[][];

/** The call signatures of a fill-mask pipeline. */
export interface FillMaskCall {
  /** Fills the mask(s) of one text. */
  (input: string, opts?: FillMaskOptions): Promise<FillMaskResult>;
  /** Fills the masks of several texts: one result per text, in order. */
  (inputs: readonly string[], opts?: FillMaskOptions): Promise<FillMaskResult[]>;
}

/** A callable fill-mask pipeline (see {@link pipeline}). */
export interface FillMaskPipeline extends FillMaskCall, PipelineBase<'fill-mask'> {
  /** The same as calling the pipeline. */
  readonly run: FillMaskCall;
  /** Always one result per input, in input order. */
  runBatch(inputs: readonly string[], opts?: FillMaskOptions): Promise<FillMaskResult[]>;
}

// ---------------------------------------------------------------- feature-extraction

/**
 * How token vectors become the result: all of them (`none`), the model's own pooling (`model`: its
 * sentence-transformers modules, or the mean of the tokens for a plain checkpoint), their mean, or
 * the [CLS] vector.
 */
export type Pooling = 'none' | 'model' | 'mean' | 'cls';

/** Options of a feature-extraction call. */
export interface FeatureExtractionOptions extends CallOptions {
  /**
   * Default `model` for a sentence-transformers model, `none` (one vector per token, [CLS] and
   * [SEP] included) for a plain checkpoint.
   */
  readonly pooling?: Pooling;
  /** Scale every returned vector to unit L2 norm (default: whether the model has a Normalize module). */
  readonly normalize?: boolean;
  /** A prompt of the model by name (config_sentence_transformers.json), e.g. `query`. */
  readonly promptName?: string;
  /** Prompt text prepended to every input (instead of a named one). */
  readonly prompt?: string;
}

/** Options that pool tokens into one vector per input. */
export type PooledOptions = FeatureExtractionOptions & { readonly pooling: 'model' | 'mean' | 'cls' };
/** Options that keep one vector per token. */
export type TokenVectorsOptions = FeatureExtractionOptions & { readonly pooling?: 'none' };

/** One vector per input (pooled), or one vector per token. */
export type FeatureExtractionResult = number[] | number[][];

/** The call signatures of a feature-extraction pipeline. */
export interface FeatureExtractionCall {
  /** The input's sentence embedding (`last_hidden_state` pooled). */
  (input: string, opts: PooledOptions): Promise<number[]>;
  /** The input's token vectors (`last_hidden_state`, one row per token). */
  (input: string, opts?: TokenVectorsOptions): Promise<number[][]>;
  (input: string, opts?: FeatureExtractionOptions): Promise<FeatureExtractionResult>;
  /** One embedding per input, in order. */
  (inputs: readonly string[], opts: PooledOptions): Promise<number[][]>;
  /** One list of token vectors per input, in order. */
  (inputs: readonly string[], opts?: TokenVectorsOptions): Promise<number[][][]>;
  (inputs: readonly string[], opts?: FeatureExtractionOptions): Promise<FeatureExtractionResult[]>;
}

/** A callable feature-extraction pipeline (see {@link pipeline}). */
export interface FeatureExtractionPipeline extends FeatureExtractionCall, PipelineBase<'feature-extraction'> {
  /** The same as calling the pipeline. */
  readonly run: FeatureExtractionCall;
  /** Always one result per input, in input order. */
  runBatch(inputs: readonly string[], opts: PooledOptions): Promise<number[][]>;
  runBatch(inputs: readonly string[], opts?: TokenVectorsOptions): Promise<number[][][]>;
  runBatch(inputs: readonly string[], opts?: FeatureExtractionOptions): Promise<FeatureExtractionResult[]>;
}

// ---------------------------------------------------------------- text-ranking

/** Options of a text-ranking call (CrossEncoder.rank). */
export interface TextRankingOptions extends CallOptions {
  /** How many documents to return, best first (default: all). */
  readonly topK?: number;
  /** Also return each document's text as `text` (default false). */
  readonly returnDocuments?: boolean;
}

/** Options of `predict` (CrossEncoder.predict). */
export interface TextRankingPredictOptions extends CallOptions {
  /** Apply the model's activation (e.g. Sigmoid for one label) to the logits (default true). */
  readonly applyActivation?: boolean;
}

/** One ranked document, as sentence-transformers' CrossEncoder.rank returns it. */
export interface TextRankingResult {
  /** Index of the document in the list given. */
  readonly corpus_id: number;
  /** The model's score of (query, document), after its activation. */
  readonly score: number;
  /** The document, with `returnDocuments`. */
  readonly text?: string;
}

/** A query and the documents to rank against it (for `runBatch`). */
export interface TextRankingInput {
  readonly query: string;
  readonly documents: readonly string[];
}

/** A callable text-ranking (cross-encoder) pipeline (see {@link pipeline}). */
export interface TextRankingPipeline extends PipelineBase<'text-ranking'> {
  /** Scores every document against the query and returns them best first. */
  (query: string, documents: readonly string[], opts?: TextRankingOptions): Promise<TextRankingResult[]>;
  /** The same as calling the pipeline. */
  run(query: string, documents: readonly string[], opts?: TextRankingOptions): Promise<TextRankingResult[]>;
  /** Ranks the documents of each input against its query: one ranking per input, in order. */
  runBatch(inputs: readonly TextRankingInput[], opts?: TextRankingOptions): Promise<TextRankingResult[][]>;
  /** One score per (query, passage) pair, in order: a number for a one-label model, else one per label. */
  predict(pairs: readonly (readonly [string, string])[], opts?: TextRankingPredictOptions): Promise<number[] | number[][]>;
  /** The activation `predict` and ranking apply to the logits (from the model's sentence-transformers config). */
  readonly activation: 'identity' | 'sigmoid' | 'tanh' | 'relu';
  /** Labels of the classifier (1 for a reranker). */
  readonly numLabels: number;
}

/** The pipeline type of each task. */
export interface PipelineByTask {
  'text-classification': TextClassificationPipeline;
  'token-classification': TokenClassificationPipeline;
  'fill-mask': FillMaskPipeline;
  'feature-extraction': FeatureExtractionPipeline;
  'text-ranking': TextRankingPipeline;
  'zero-shot-classification': ZeroShotClassificationPipeline;
}

/** Any pipeline. */
export type Pipeline = PipelineByTask[PipelineTask];
