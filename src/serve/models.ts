/** The models a server serves: checkpoint directories opened as one pipeline per task. */
import { HEADS, architectureEntry } from '../models/registry.js';
import { basename, resolve } from 'node:path';
import { readConfig } from '../io/checkpoint.js';
import { adapterModelConfig, readAdapter } from '../peft/adapter.js';
import { isAdapterDir } from '../peft/config.js';
import { resolveModel } from '../io/hub.js';
import { pipeline } from '../pipelines/pipeline.js';
import type { Pipeline } from '../pipelines/types.js';
import { ServeConfigError } from './errors.js';
import { type ServeTask, serveTasksOfArchitectures, taskSpec } from './tasks.js';
import { fewShotKind } from '../fewshot/detect.js';

/** A model to serve: a checkpoint directory and the name requests select it by. */
export interface ModelSpec {
  /** Name in requests (`"model": name`) and in `GET /v1/models`; default: the directory's base name. */
  readonly name?: string;
  /** Hugging Face checkpoint directory (config.json, model.safetensors, vocab.txt or tokenizer.json), or a Hub id (downloaded into the cache). */
  readonly dir: string;
}

/** What `GET /v1/models` says about one model. */
export interface ModelInfo {
  readonly name: string;
  /** The endpoints the model serves. */
  readonly tasks: readonly ServeTask[];
  /** The checkpoint's architectures, from config.json. */
  readonly architectures: readonly string[];
  /** Labels of a classification head (in id order); empty for other heads. */
  readonly labels: readonly string[];
  /** Longest input in tokens, special tokens included; longer texts are truncated. */
  readonly max_length: number;
}

/** One loaded model: its pipelines by task. */
export interface LoadedModel {
  readonly info: ModelInfo;
  readonly dir: string;
  readonly pipelines: ReadonlyMap<ServeTask, Pipeline>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const NAME_RULE = 'a model name is 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit';

/**
 * Parses a model value: `DIR`, or `NAME=DIR` where NAME is letters, digits, `.`, `_` or `-`. A
 * value whose part before the first `=` holds no `/` is `NAME=DIR` (a directory whose first path
 * component has a `=` is written `./a=b`).
 *
 * @throws ServeConfigError for a name that breaks the rule, or no directory after `NAME=`.
 */
export function parseModelSpec(value: string): ModelSpec {
  const eq = value.indexOf('=');
  if (eq < 0 || /[/\\]/.test(value.slice(0, eq))) return { dir: value };
  const name = value.slice(0, eq);
  const dir = value.slice(eq + 1);
  if (!NAME.test(name)) throw new ServeConfigError(`model name ${JSON.stringify(name)} in ${JSON.stringify(value)} is not valid: ${NAME_RULE}`, { option: value });
  if (dir.trim() === '') throw new ServeConfigError(`${JSON.stringify(value)} names model ${JSON.stringify(name)} but gives no directory after "="`, { option: value });
  return { name, dir };
}

/** The names of `specs`, checked to be valid and distinct. */
function modelNames(specs: readonly ModelSpec[]): string[] {
  const names = specs.map((s) => s.name ?? basename(resolve(s.dir)));
  names.forEach((name, i) => {
    if (!NAME.test(name))
      throw new ServeConfigError(`model name ${JSON.stringify(name)} (for ${specs[i]!.dir}) is not valid: ${NAME_RULE}; give the model a name of its own (NAME=DIR)`, {
        option: specs[i]!.dir,
      });
    const first = names.indexOf(name);
    if (first !== i)
      throw new ServeConfigError(`two models are named ${JSON.stringify(name)} (${specs[first]!.dir} and ${specs[i]!.dir}); name them apart with --model NAME=DIR`, {
        option: specs[i]!.dir,
      });
  });
  return names;
}

/**
 * Opens every model for each task its architecture serves (a sequence classifier: classify and
 * embed; a token classifier: ner and embed; a masked LM: fill-mask and embed).
 *
 * @throws ServeConfigError when a directory is no BERT checkpoint or names clash.
 */
export async function loadModels(specs: readonly ModelSpec[], opts: { threads?: number; batchSize: number; revision?: string }): Promise<LoadedModel[]> {
  if (specs.length === 0) throw new ServeConfigError('no model to serve; give at least one --model DIR', { option: 'model' });
  const names = modelNames(specs);
  const loaded: LoadedModel[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      let config: Record<string, unknown>;
      let dir: string;
      // An adapter directory serves its head's tasks on its base (found as pipelines find it).
      let adapterHead: string | undefined;
      try {
        dir = await resolveModel(spec.dir, opts.revision === undefined ? {} : { revision: opts.revision });
        if (isAdapterDir(dir)) {
          adapterHead = (await readAdapter(dir)).head;
          config = await adapterModelConfig(dir);
        } else config = await readConfig(dir);
      } catch (e) {
        throw new ServeConfigError(withPath(spec.dir, e), { option: spec.dir, cause: e });
      }
      const architectures = Array.isArray(config.architectures) ? (config.architectures as unknown[]).map(String) : [];
      // A few-shot classifier (prompt-trained masked LM, SetFit head) answers /v1/classify through its own pipeline.
      const fewShot = fewShotKind(dir) !== undefined;
      const tasks = fewShot
        ? (['classify'] as ServeTask[])
        : serveTasksOfArchitectures(architectures, config).filter((t) => adapterHead === undefined || t !== 'embed' || adapterHead === 'encoder');
      const pipelines = new Map<ServeTask, Pipeline>();
      loaded.push({ info: { name: names[i]!, tasks, architectures, labels: [], max_length: 0 }, dir, pipelines });
      for (const task of tasks) {
        try {
          pipelines.set(task, await pipeline(taskSpec(task).pipeline, dir, { threads: opts.threads, batchSize: opts.batchSize }));
        } catch (e) {
          throw new ServeConfigError(`cannot open the model for ${task}: ${withPath(spec.dir, e)}`, { option: spec.dir, cause: e });
        }
      }
      const first = pipelines.get(tasks[0]!)!;
      const head = fewShot || architectures.some((a) => (architectureEntry(a) ? HEADS[architectureEntry(a)!.head].labelled : false));
      const id2label = first.config.id2label;
      const labels = head
        ? Object.keys(id2label)
            .sort((a, b) => Number(a) - Number(b))
            .map((k) => id2label[k]!)
        : [];
      loaded[i] = { ...loaded[i]!, info: { name: names[i]!, tasks, architectures, labels, max_length: first.maxLength } };
    }
  } catch (e) {
    await disposeModels(loaded);
    throw e;
  }
  return loaded;
}

/** An error's message, prefixed with the model's path unless it names it already. */
function withPath(dir: string, e: unknown): string {
  const message = (e as Error).message;
  return message.includes(dir) ? message : `${dir}: ${message}`;
}

/** Frees every pipeline's ONNX Runtime session. */
export async function disposeModels(models: readonly LoadedModel[]): Promise<void> {
  for (const m of models) for (const p of m.pipelines.values()) await p.dispose();
}
