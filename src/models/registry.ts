/**
 * The model registry: one {@link ModelFamily} per Hugging Face `model_type` (listed in
 * {@link FAMILIES}) and one {@link HeadInfo} per kind of task head (in heads.ts). Everything that
 * needs to know what a checkpoint is (which graph to build, which tasks it serves, how its labels
 * look, how its parameters are named) asks here; nothing outside a family's own folder switches
 * on architecture names.
 */
import { TunaError } from '../errors.js';
import { bertFamily } from './bert/family.js';
import { albertFamily } from './albert/family.js';
import { electraFamily } from './electra/family.js';
import { debertaV2Family } from './deberta-v2/family.js';
import { distilBertFamily } from './distilbert/family.js';
import { ernieFamily } from './ernie/family.js';
import { robertaFamily, xlmRobertaFamily } from './roberta/family.js';
import { HEADS, HEAD_FOR_TASK, type HeadKind, type ModelConfig, type ModelFamily, type ModelTask } from './heads.js';

export * from './heads.js';

/** The registered families; adding one is a folder under src/models/ plus one line here. */
const FAMILIES: readonly ModelFamily[] = [
  bertFamily as unknown as ModelFamily,
  electraFamily as unknown as ModelFamily,
  albertFamily as unknown as ModelFamily,
  robertaFamily as unknown as ModelFamily,
  xlmRobertaFamily as unknown as ModelFamily,
  ernieFamily as unknown as ModelFamily,
  distilBertFamily as unknown as ModelFamily,
  debertaV2Family as unknown as ModelFamily,
];

/** A model type or architecture no registered family builds. */
export class UnsupportedModelError extends TunaError {
  override name = 'UnsupportedModelError';
  constructor(message: string, details: { file?: string; field?: string } = {}) {
    super('unsupported_model', message, details);
  }
}

const families = new Map<string, ModelFamily>(FAMILIES.map((f) => [f.modelType, f]));

/** Registers a further family under its `model_type` (a later registration of the same type replaces it). */
export function registerFamily<C extends ModelConfig>(family: ModelFamily<C>): void {
  families.set(family.modelType, family as unknown as ModelFamily);
}

/** The registered model types. */
export function modelTypes(): string[] {
  return [...families.keys()];
}

/** The family of a `model_type`, or an {@link UnsupportedModelError} listing the registered ones. */
export function familyOf(modelType: string, source = 'config.json'): ModelFamily {
  const family = families.get(modelType);
  if (!family) {
    throw new UnsupportedModelError(`${source}: model_type "${modelType}" is not one tuna builds; supported: ${modelTypes().join(', ')}`, { file: source, field: 'model_type' });
  }
  return family;
}

/**
 * The family of a parsed config.json: by `model_type`, or for old configs without one, the family
 * whose architecture names it uses (BERT when it names none).
 */
export function familyOfConfig(raw: Record<string, unknown>, source = 'config.json'): ModelFamily {
  if (typeof raw.model_type === 'string') return familyOf(raw.model_type, source);
  if (raw.model_type !== undefined) throw new UnsupportedModelError(`${source}: field "model_type" must be a string`, { file: source, field: 'model_type' });
  const archs = Array.isArray(raw.architectures) ? raw.architectures : [];
  for (const family of families.values()) if (archs.some((a) => Object.values(family.architectures).includes(a as string))) return family;
  return familyOf('bert', source);
}

/** Where an architecture name is registered: its family and head kind. */
export interface ArchitectureEntry {
  readonly name: string;
  readonly family: ModelFamily;
  readonly head: HeadKind;
}

/** Looks up an architecture name (`BertForSequenceClassification`) across families. */
export function architectureEntry(name: string): ArchitectureEntry | undefined {
  for (const family of families.values()) {
    for (const [head, arch] of Object.entries(family.architectures)) if (arch === name) return { name, family, head: head as HeadKind };
  }
  return undefined;
}

/**
 * The head a config's `architectures` names in `family` (`base` when it names none), or an
 * {@link UnsupportedModelError} listing the heads tuna builds.
 */
export function headOfArchitectures(family: ModelFamily, architectures: readonly string[], source = 'config.json'): HeadKind {
  if (architectures.length === 0) return 'base';
  for (const a of architectures) {
    const entry = architectureEntry(a);
    if (entry && entry.family === family) return entry.head;
  }
  throw new UnsupportedModelError(
    `${source}: architectures ${JSON.stringify(architectures)} name no head tuna builds for model_type "${family.modelType}" (${Object.values(family.architectures).join(', ')})`,
    { file: source, field: 'architectures' },
  );
}

/** The pipeline tasks a head serves. */
export function tasksOfHead(head: HeadKind): readonly ModelTask[] {
  return HEADS[head].tasks;
}

/** The pipeline tasks a config's architectures serve (feature extraction always). */
export function tasksOfArchitectures(architectures: readonly string[]): ModelTask[] {
  const tasks = new Set<ModelTask>();
  for (const a of architectures) {
    const entry = architectureEntry(a);
    if (entry) for (const t of HEADS[entry.head].tasks) tasks.add(t);
  }
  tasks.add('feature-extraction');
  return (['text-classification', 'token-classification', 'fill-mask', 'feature-extraction'] as const).filter((t) => tasks.has(t));
}

/**
 * The head a checkpoint loads for a pipeline task, or undefined when its architectures have none
 * that serves the task (feature extraction is served by every checkpoint).
 */
export function headForTask(task: ModelTask, architectures: readonly string[]): HeadKind | undefined {
  if (task === 'feature-extraction') return 'encoder';
  if (task === 'fill-mask' && architectures.length === 0) return 'masked-lm';
  return tasksOfArchitectures(architectures).includes(task) ? HEAD_FOR_TASK[task] : undefined;
}
