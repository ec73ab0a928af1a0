/** Public types of the zero-shot-classification pipeline. */
import type { CallOptions, PipelineBase, PipelineOptions } from './types.js';

/**
 * How a zero-shot pipeline scores candidate labels:
 * - `nli`: a natural-language-inference classifier reads (text, hypothesis) pairs, the hypothesis
 *   being the label in `hypothesisTemplate`; the entailment logit scores the label (as transformers'
 *   zero-shot-classification pipeline does);
 * - `cloze`: a masked LM fills a prompt built from the text; a label scores the probability of its
 *   words (its verbalizer) at the mask;
 * - `embedding`: a sentence-embedding model; a label scores the cosine between the text's
 *   embedding and the embedding of the label's description (the label in `hypothesisTemplate`).
 */
export type ZeroShotMode = 'nli' | 'cloze' | 'embedding';

/** Options of `pipeline('zero-shot-classification', model, options)`. */
export interface ZeroShotPipelineOptions extends PipelineOptions {
  /**
   * Default: `nli` for a sequence classifier, `embedding` for a sentence-transformers directory
   * (modules.json), `cloze` for a masked LM (or BertForPreTraining). A bare encoder needs
   * `mode: 'embedding'` to be asked for.
   */
  readonly mode?: ZeroShotMode;
}

/** Candidate labels: a list, or one string of comma-separated labels (as transformers takes them). */
export type CandidateLabels = string | readonly string[];

/** Options of a zero-shot call. */
export interface ZeroShotClassificationOptions extends CallOptions {
  /** The labels to choose from (instead of the call's second argument). */
  readonly candidateLabels?: CandidateLabels;
  /**
   * How a label becomes a hypothesis (nli) or a description (embedding); `{}` stands for the label
   * (default `'This example is {}.'`). In cloze mode without `template`, the prompt is the text, a
   * space and this template with the mask in the label's place.
   */
  readonly hypothesisTemplate?: string;
  /**
   * Labels are independent (default false): nli scores each by the softmax of its
   * [contradiction, entailment] logits, cloze by its own word probability, embedding by the raw
   * cosine. Otherwise the scores of a text sum to 1 over its labels.
   */
  readonly multiLabel?: boolean;
  /** Cloze: the prompt, with `{text}` and one mask (`{mask}` or the tokenizer's mask token). */
  readonly template?: string;
  /**
   * Cloze: the words of each label (`{ positive: ['great', 'good'], negative: 'terrible' }`); its
   * keys are the candidate labels when none are given. Without it each label is its own word.
   */
  readonly verbalizer?: Readonly<Record<string, string | readonly string[]>>;
  /** Embedding: the softmax temperature over cosines for single-label scores (default 0.05). */
  readonly temperature?: number;
  /** The pipeline's mode, repeated (an error when it is another; the mode is chosen at load time). */
  readonly mode?: ZeroShotMode;
  /** transformers' spelling of `candidateLabels`. */
  readonly candidate_labels?: CandidateLabels;
  /** transformers' spelling of `hypothesisTemplate`. */
  readonly hypothesis_template?: string;
  /** transformers' spelling of `multiLabel`. */
  readonly multi_label?: boolean;
}

/** The labels of one text, best first (transformers' shape, with tuna's extras per mode). */
export interface ZeroShotClassificationResult {
  /** The text classified. */
  readonly sequence: string;
  /** The candidate labels, best first. */
  readonly labels: string[];
  /** Their scores, in the order of `labels`. */
  readonly scores: number[];
  /** Embedding mode: the cosine between the text and each label's description, in the order of `labels`. */
  readonly similarities?: number[];
  /**
   * Cloze mode: each label's words and their probabilities at the mask, in the order of `labels`
   * (a word of several pieces: the geometric mean of its pieces' probabilities).
   */
  readonly word_scores?: Record<string, number>[];
}

/** The call signatures of a zero-shot-classification pipeline. */
export interface ZeroShotClassificationCall {
  /** Scores the candidate labels of one text. */
  (input: string, candidateLabels: CandidateLabels, opts?: ZeroShotClassificationOptions): Promise<ZeroShotClassificationResult>;
  /** Scores the candidate labels of each text: one result per text, in order. */
  (inputs: readonly string[], candidateLabels: CandidateLabels, opts?: ZeroShotClassificationOptions): Promise<ZeroShotClassificationResult[]>;
  /** With the labels among the options (`candidateLabels`, or a cloze `verbalizer`). */
  (input: string, opts?: ZeroShotClassificationOptions): Promise<ZeroShotClassificationResult>;
  (inputs: readonly string[], opts?: ZeroShotClassificationOptions): Promise<ZeroShotClassificationResult[]>;
}

/** A callable zero-shot-classification pipeline (see {@link pipeline}). */
export interface ZeroShotClassificationPipeline extends ZeroShotClassificationCall, PipelineBase<'zero-shot-classification'> {
  /** The same as calling the pipeline. */
  readonly run: ZeroShotClassificationCall;
  /** One result per input, in input order; the labels among the options or as the second argument. */
  runBatch(inputs: readonly string[], opts: ZeroShotClassificationOptions): Promise<ZeroShotClassificationResult[]>;
  runBatch(inputs: readonly string[], candidateLabels: CandidateLabels, opts?: ZeroShotClassificationOptions): Promise<ZeroShotClassificationResult[]>;
  /** How the pipeline scores labels. */
  readonly mode: ZeroShotMode;
  /** NLI mode: the classifier's entailment label id (from config.json's label2id). */
  readonly entailmentId?: number;
  /** NLI mode: the id of its contradiction label. */
  readonly contradictionId?: number;
}
