/**
 * The four inference endpoints: which pipeline each runs, the `parameters` it takes (Hugging Face
 * snake_case names) and how they become pipeline options.
 */
import { tasksOfArchitectures } from '../models/registry.js';
import type { PipelineTask } from '../pipelines/types.js';
import { DEFAULT_HYPOTHESIS_TEMPLATE } from '../pipelines/zero-shot-classification.js';
import { ServeError } from './errors.js';

/** The service's task names, one per endpoint (`POST /v1/<task>`). */
export type ServeTask = 'classify' | 'ner' | 'embed' | 'fill-mask' | 'rerank' | 'zero-shot';

/** The service's task names in endpoint order. */
export const SERVE_TASKS: readonly ServeTask[] = ['classify', 'ner', 'embed', 'fill-mask', 'rerank', 'zero-shot'];

/** A JSON schema (the subset the request schemas use). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** What the service knows about one endpoint. */
export interface TaskSpec {
  readonly task: ServeTask;
  /** The pipeline the endpoint runs. */
  readonly pipeline: PipelineTask;
  /** JSON schema of `parameters`. */
  readonly parameters: JsonSchema;
  /** Whether an input may be a `{text, text_pair}` object. */
  readonly pairs: boolean;
  /**
   * Pipeline call options from validated `parameters`, every option spelled out (defaults
   * included, fixed key order) so that equal options give equal batching keys.
   */
  options(parameters: Readonly<Record<string, unknown>>): Record<string, unknown>;
  /** Pipeline option name -> request parameter name, for error fields. */
  readonly parameterNames: Readonly<Record<string, string>>;
}

const TOP_K_ALL = { type: ['integer', 'null'], minimum: 0, maximum: 100000 };

/** Most candidate labels in one zero-shot request: each label costs one model input per text. */
const MAX_CANDIDATE_LABELS = 1000;

const SPECS: Record<ServeTask, TaskSpec> = {
  classify: {
    task: 'classify',
    pipeline: 'text-classification',
    pairs: true,
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: { top_k: TOP_K_ALL, function_to_apply: { type: 'string', enum: ['softmax', 'sigmoid', 'none'] } },
    },
    options: (p) => ({ topK: p.top_k === undefined ? 1 : p.top_k, functionToApply: p.function_to_apply }),
    parameterNames: { topK: 'top_k', functionToApply: 'function_to_apply' },
  },
  ner: {
    task: 'ner',
    pipeline: 'token-classification',
    pairs: false,
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: {
        aggregation_strategy: { type: 'string', enum: ['none', 'simple', 'first', 'average', 'max'] },
        ignore_labels: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 200 } },
        stride: { type: 'integer', minimum: 0, maximum: 100000 },
      },
    },
    options: (p) => ({ aggregationStrategy: p.aggregation_strategy ?? 'simple', ignoreLabels: p.ignore_labels, stride: p.stride }),
    parameterNames: { aggregationStrategy: 'aggregation_strategy', ignoreLabels: 'ignore_labels', stride: 'stride' },
  },
  embed: {
    task: 'embed',
    pipeline: 'feature-extraction',
    pairs: false,
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pooling: { type: 'string', enum: ['model', 'mean', 'cls', 'none'] },
        normalize: { type: 'boolean' },
        prompt_name: { type: 'string', minLength: 1, maxLength: 200 },
        prompt: { type: 'string', maxLength: 2000 },
      },
    },
    // `model`: the model's own pooling (sentence-transformers modules), the mean for a plain checkpoint;
    // normalize left unset follows the model (its Normalize module).
    options: (p) => ({ pooling: p.pooling ?? 'model', normalize: p.normalize, promptName: p.prompt_name, prompt: p.prompt }),
    parameterNames: { pooling: 'pooling', normalize: 'normalize', promptName: 'prompt_name', prompt: 'prompt' },
  },
  'fill-mask': {
    task: 'fill-mask',
    pipeline: 'fill-mask',
    pairs: false,
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: { top_k: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
    options: (p) => ({ topK: p.top_k ?? 5 }),
    parameterNames: { topK: 'top_k' },
  },
  // A cross-encoder: the body is {query, documents} (rerankRequestSchema), not {inputs}.
  rerank: {
    task: 'rerank',
    pipeline: 'text-ranking',
    pairs: false,
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: { top_k: { type: 'integer', minimum: 1, maximum: 100000 }, return_documents: { type: 'boolean' } },
    },
    options: (p) => ({ topK: p.top_k, returnDocuments: p.return_documents ?? false }),
    parameterNames: { topK: 'top_k', returnDocuments: 'return_documents' },
  },
  // An NLI classifier scoring candidate labels (the zero-shot-classification pipeline, mode nli).
  'zero-shot': {
    task: 'zero-shot',
    pipeline: 'zero-shot-classification',
    pairs: false,
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: {
        candidate_labels: {
          type: ['string', 'array'],
          minLength: 1,
          maxLength: 20000,
          minItems: 1,
          maxItems: MAX_CANDIDATE_LABELS,
          items: { type: 'string', minLength: 1, maxLength: 200 },
        },
        hypothesis_template: { type: 'string', minLength: 2, maxLength: 1000 },
        multi_label: { type: 'boolean' },
      },
    },
    options: (p) => {
      if (p.candidate_labels === undefined) {
        throw new ServeError(
          'invalid_request',
          'parameters.candidate_labels is missing: send the labels to choose from, e.g. {"inputs": "text", "parameters": {"candidate_labels": ["sports", "politics"]}}',
          { field: 'parameters.candidate_labels' },
        );
      }
      return { candidateLabels: p.candidate_labels, hypothesisTemplate: p.hypothesis_template ?? DEFAULT_HYPOTHESIS_TEMPLATE, multiLabel: p.multi_label ?? false };
    },
    parameterNames: { candidateLabels: 'candidate_labels', hypothesisTemplate: 'hypothesis_template', multiLabel: 'multi_label' },
  },
};

/** The spec of an endpoint. */
export function taskSpec(task: ServeTask): TaskSpec {
  return SPECS[task];
}

/**
 * The endpoint tasks a checkpoint's architectures serve (every model serves `embed`), from the model
 * registry; a sequence classifier with one label (a cross-encoder) also serves `rerank`, and one
 * whose labels name entailment (an NLI classifier) `zero-shot`, when its `config` (config.json) is given.
 */
export function serveTasksOfArchitectures(architectures: readonly string[], config?: Readonly<Record<string, unknown>>): ServeTask[] {
  const pipelines = new Set<PipelineTask>(tasksOfArchitectures(architectures));
  if (pipelines.has('text-classification') && config !== undefined && labelCount(config) === 1) pipelines.add('text-ranking');
  if (pipelines.has('text-classification') && config !== undefined && hasEntailmentLabel(config)) pipelines.add('zero-shot-classification');
  return SERVE_TASKS.filter((t) => pipelines.has(SPECS[t].pipeline));
}

/** Whether config.json's id2label names an entailment label (as the zero-shot pipeline finds it: a name starting with "entail", any case). */
function hasEntailmentLabel(config: Readonly<Record<string, unknown>>): boolean {
  const id2label = config.id2label;
  if (id2label === null || typeof id2label !== 'object') return false;
  return Object.values(id2label).some((name) => typeof name === 'string' && name.toLowerCase().startsWith('entail'));
}

/** The number of labels config.json declares (`id2label`, else `num_labels`, else 2 as transformers assumes). */
function labelCount(config: Readonly<Record<string, unknown>>): number {
  const id2label = config.id2label;
  if (id2label !== null && typeof id2label === 'object') return Object.keys(id2label).length;
  return typeof config.num_labels === 'number' ? config.num_labels : 2;
}

/** JSON schema of the body of `POST /v1/rerank`: a query, the documents to rank, optional model and parameters. */
export function rerankRequestSchema(limits: RequestLimits): JsonSchema {
  const text = { type: 'string', minLength: 1, maxLength: limits.maxTextChars };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['query', 'documents'],
    properties: {
      query: text,
      documents: { type: 'array', minItems: 1, maxItems: limits.maxInputs, items: text },
      model: { type: 'string', minLength: 1, maxLength: 200 },
      parameters: SPECS.rerank.parameters,
    },
  };
}

/** Limits on request bodies. */
export interface RequestLimits {
  /** Longest text, in UTF-16 code units (JavaScript string length). */
  readonly maxTextChars: number;
  /** Most texts in one request. */
  readonly maxInputs: number;
}

/** JSON schema of the body of `POST /v1/<task>`. */
export function requestSchema(spec: TaskSpec, limits: RequestLimits): JsonSchema {
  const text = { type: 'string', minLength: 1, maxLength: limits.maxTextChars };
  const pair = {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: { text, text_pair: text },
  };
  const one = spec.pairs ? { type: ['string', 'object'], ...textKeywords(limits), ...objectKeywords(pair) } : text;
  return {
    type: 'object',
    additionalProperties: false,
    required: ['inputs'],
    properties: {
      inputs: {
        type: spec.pairs ? ['string', 'object', 'array'] : ['string', 'array'],
        ...textKeywords(limits),
        ...(spec.pairs ? objectKeywords(pair) : {}),
        minItems: 1,
        maxItems: limits.maxInputs,
        items: one,
      },
      model: { type: 'string', minLength: 1, maxLength: 200 },
      adapter: { type: 'string', minLength: 1, maxLength: 200 },
      parameters: spec.parameters,
    },
  };
}

function textKeywords(limits: RequestLimits): JsonSchema {
  return { minLength: 1, maxLength: limits.maxTextChars };
}

function objectKeywords(pair: JsonSchema): JsonSchema {
  const { type: _type, ...rest } = pair as Record<string, unknown>;
  return rest;
}
