/** `pipeline(task, model)`: the entry point to the inference pipelines. */
import { PipelineError } from './errors.js';
import { callOptions } from './inputs.js';
import { featureExtractionPipeline } from './feature-extraction.js';
import { fillMaskPipeline } from './fill-mask.js';
import { textClassificationPipeline } from './text-classification.js';
import { textRankingPipeline } from './text-ranking.js';
import { tokenClassificationPipeline } from './token-classification.js';
import { zeroShotClassificationPipeline } from './zero-shot-classification.js';
import type { ZeroShotPipelineOptions } from './zero-shot-types.js';
import type { PipelineByTask, PipelineOptions, PipelineTask } from './types.js';

/** Other names of tasks, as transformers uses them. */
const ALIASES: Readonly<Record<string, PipelineTask>> = { 'sentiment-analysis': 'text-classification', ner: 'token-classification' };

/** Load options and their transformers.js (snake_case) spellings. */
const LOAD_OPTIONS = { threads: 'threads', batchSize: 'batch_size', maxLength: 'max_length', hub: 'hub', baseModel: 'base_model' } as const;

const FACTORIES: { [T in PipelineTask]: (model: string, opts: PipelineOptions) => Promise<PipelineByTask[T]> } = {
  'text-classification': textClassificationPipeline,
  'token-classification': tokenClassificationPipeline,
  'fill-mask': fillMaskPipeline,
  'feature-extraction': featureExtractionPipeline,
  'text-ranking': textRankingPipeline,
  'zero-shot-classification': zeroShotClassificationPipeline,
};

/** Load options only some tasks take, with their snake_case spellings. */
const TASK_LOAD_OPTIONS: Readonly<Partial<Record<PipelineTask, Readonly<Record<string, string>>>>> = {
  'zero-shot-classification': { mode: 'mode' },
  'text-classification': { clsVector: 'cls_vector' },
};

/** The task names {@link pipeline} accepts. */
export const PIPELINE_TASKS = Object.keys(FACTORIES) as PipelineTask[];

/**
 * Loads a checkpoint (a Hugging Face directory or a Hub id) for a task and returns a callable
 * pipeline, in the manner of transformers.js:
 *
 * ```ts
 * const classifier = await pipeline('text-classification', 'out/intents');
 * await classifier('where is my card?');            // [{ label: 'card_arrival', score: 0.97 }]
 * await classifier(['a', 'b'], { topK: 2 });         // [[...], [...]]
 * const ner = await pipeline('token-classification', 'out/ner');
 * await ner('John lives in Paris', { aggregationStrategy: 'simple' });
 * const unmasker = await pipeline('fill-mask', 'models/tuna-small-en');
 * await unmasker('The capital of France is [MASK].');
 * const embed = await pipeline('feature-extraction', 'models/tuna-small-en');
 * await embed('some text', { pooling: 'mean', normalize: true });   // number[]
 * const ranker = await pipeline('text-ranking', 'out/reranker');
 * await ranker('query', ['passage a', 'passage b'], { topK: 1 }); // [{ corpus_id: 1, score: 0.93 }]
 * ```
 *
 * Results follow Hugging Face's shapes and field names. `runBatch(inputs)` always returns one result
 * per input (what calling the pipeline on that input alone returns), in order. Inputs are batched
 * (`batchSize`, default 32), sorted by length so that batches need little padding.
 *
 * @throws PipelineError `unknown_task` for another task name; `wrong_task` when the checkpoint has
 * no head for the task (e.g. token-classification on a sequence classifier); `invalid_option`.
 */
export function pipeline(task: 'zero-shot-classification', model: string, opts?: ZeroShotPipelineOptions): Promise<PipelineByTask['zero-shot-classification']>;
export function pipeline<T extends PipelineTask>(task: T, model: string, opts?: PipelineOptions): Promise<PipelineByTask[T]>;
export function pipeline(task: 'sentiment-analysis', model: string, opts?: PipelineOptions): Promise<PipelineByTask['text-classification']>;
export function pipeline(task: 'ner', model: string, opts?: PipelineOptions): Promise<PipelineByTask['token-classification']>;
export async function pipeline(taskOrAlias: string, model: string, rawOpts: PipelineOptions = {}): Promise<PipelineByTask[PipelineTask]> {
  const task = Object.hasOwn(ALIASES, taskOrAlias) ? ALIASES[taskOrAlias]! : taskOrAlias;
  const opts = callOptions<PipelineOptions>(rawOpts, { ...LOAD_OPTIONS, ...(Object.hasOwn(TASK_LOAD_OPTIONS, task) ? TASK_LOAD_OPTIONS[task as PipelineTask] : {}) });
  const factory = (FACTORIES as Record<string, (model: string, opts: PipelineOptions) => Promise<PipelineByTask[PipelineTask]>>)[task];
  if (!Object.hasOwn(FACTORIES, task) || factory === undefined) {
    throw new PipelineError(
      'unknown_task',
      `unknown task ${JSON.stringify(task)}; pipelines exist for ${PIPELINE_TASKS.map((t) => `'${t}'`).join(', ')} (aliases ${Object.keys(ALIASES)
        .map((a) => `'${a}'`)
        .join(', ')})`,
      { field: 'task' },
    );
  }
  if (typeof model !== 'string' || model === '') throw new PipelineError('invalid_option', 'model must be a checkpoint directory or a Hub model id', { field: 'model' });
  return factory(model, opts);
}
