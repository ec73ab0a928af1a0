/** ERNIE configurations: BERT's config.json fields plus the task-type embeddings (`use_task_id`, `task_type_vocab_size`). */
import { type BertConfig, BertConfigError, parseBertConfig } from '../bert/config.js';

/** An ERNIE configuration with the Hugging Face field names of config.json. */
export interface ErnieConfig extends Omit<BertConfig, 'model_type'> {
  readonly model_type: 'ernie';
  /** Rows of `embeddings.task_type_embeddings`. */
  readonly task_type_vocab_size: number;
  /** Whether the embeddings add a task-type embedding (task type 0 unless given). */
  readonly use_task_id: boolean;
}

/** The most task types a config may declare. */
const MAX_TASK_TYPES = 100_000;

/**
 * Validates a parsed config.json as an ERNIE configuration, filling Hugging Face's defaults.
 * `source` names the file in error messages.
 */
export function parseErnieConfig(json: unknown, source = 'config.json'): ErnieConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BertConfigError(`${source}: expected a JSON object`, { file: source });
  const { task_type_vocab_size: rawTasks = 3, use_task_id: rawUse = false, ...raw } = json as Record<string, unknown>;
  const fail = (field: string, why: string, code?: 'too_large') => new BertConfigError(`${source}: field "${field}" ${why}`, { file: source, field, code });
  if (raw.model_type !== undefined && raw.model_type !== 'ernie') throw fail('model_type', `is "${String(raw.model_type)}", expected "ernie"`);
  if (typeof rawTasks !== 'number' || !Number.isInteger(rawTasks) || rawTasks < 1)
    throw fail('task_type_vocab_size', `must be a positive integer, got ${JSON.stringify(rawTasks)}`);
  if (rawTasks > MAX_TASK_TYPES) throw fail('task_type_vocab_size', `is ${rawTasks}, larger than the ${MAX_TASK_TYPES} tuna builds; the config is corrupt`, 'too_large');
  if (typeof rawUse !== 'boolean') throw fail('use_task_id', `must be true or false, got ${JSON.stringify(rawUse)}`);
  const bert = parseBertConfig({ ...raw, model_type: 'bert' }, source);
  return { ...bert, model_type: 'ernie', task_type_vocab_size: rawTasks, use_task_id: rawUse };
}

/** The config as Hugging Face writes config.json. */
export function ernieConfigToJson(config: ErnieConfig, architecture?: string): Record<string, unknown> {
  const { extra, ...fields } = config;
  const out: Record<string, unknown> = { ...extra, ...fields };
  if (architecture) out.architectures = [architecture];
  if (out.problem_type === undefined) delete out.problem_type;
  return out;
}
