/**
 * Parameter-efficient adapters served on a base model: `--adapter NAME=DIR` and the admin
 * endpoint register adapters of a served model, a request names one (`"adapter": NAME`).
 *
 * LoRA sequence classifiers of one base are stacked (see `peft/stacked-lora.ts`): requests for
 * different adapters share a micro-batch and run in one forward pass of one graph, each row with
 * its adapter's LoRA weights and head. Other adapters (BitFit, bottleneck adapters, deep prompts,
 * token classifiers, encoders, LoRA that replaces more than linear layers) run on a pipeline of
 * their own, one adapter per batch.
 *
 * At most `maxAdapters` adapters are resident; loading one more unloads the least recently used
 * (never one a request is using). A registered adapter that was unloaded is loaded again by the
 * next request for it; a deleted one is unknown (404). Requests hold their adapter while they run,
 * so loading, unloading or replacing adapters never breaks one in flight.
 */
import { existsSync, readFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { isTunaError } from '../errors.js';
import { numLabels } from '../models/heads.js';
import { PreTrainedModel, vocabularyMismatchError } from '../models/pretrained-model.js';
import type { HeadKind, ModelConfig, Tokenizer } from '../models/registry.js';
import type { ForwardModel } from '../nn/forward.js';
import { type AdapterFiles, readAdapter, resolveBaseModel } from '../peft/adapter.js';
import { isAdapterDir } from '../peft/config.js';
import { ADAPTER_INDEX, type StackLayout, StackBase, type StackableAdapter } from '../peft/stacked-lora.js';
import { batchInputs, checkFiniteOutputs } from '../pipelines/batching.js';
import { pipeline } from '../pipelines/pipeline.js';
import { classificationScores, defaultClassificationFunction, rankLabels } from '../pipelines/text-classification.js';
import type { Pipeline } from '../pipelines/types.js';
import { modelFingerprint } from '../retrieval/manifest.js';
import type { BatchRunner } from './batcher.js';
import { ServeConfigError, ServeError } from './errors.js';
import { type LoadedModel, parseModelSpec } from './models.js';
import { type ServeTask, taskSpec } from './tasks.js';

/** An adapter to serve: its name in requests, its directory, and (optionally) the served model it runs on. */
export interface AdapterSpec {
  readonly name: string;
  readonly dir: string;
  /** The served model (its name) the adapter runs on; default: the one whose directory is the adapter's base. */
  readonly model?: string;
}

/** What `GET /v1/adapters` says about one adapter. */
export interface AdapterInfo {
  readonly name: string;
  /** The served model it runs on. */
  readonly model: string;
  readonly path: string;
  /** `lora`, `bitfit`, `adapter` or `prompt`. */
  readonly method: string;
  readonly tasks: readonly ServeTask[];
  /** Labels of its classification head, in id order. */
  readonly labels: readonly string[];
  /** Whether it runs in its base's stacked graph (mixed batches) rather than on a pipeline of its own. */
  readonly stacked: boolean;
  /** Whether its weights are loaded now (an unloaded one is loaded again by the next request). */
  readonly resident: boolean;
}

const NAME_RULE = 'an adapter name is 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Parses `--adapter NAME=DIR` (the name rules are --model's). @throws ServeConfigError */
export function parseAdapterSpec(value: string): AdapterSpec {
  const spec = parseModelSpec(value);
  if (spec.name === undefined) throw new ServeConfigError(`--adapter ${JSON.stringify(value)} needs a name: give NAME=DIR (${NAME_RULE})`, { option: value });
  return { name: spec.name, dir: spec.dir };
}

/** The endpoint a head serves. */
const TASK_OF_HEAD: Partial<Record<HeadKind, ServeTask>> = { 'sequence-classification': 'classify', 'token-classification': 'ner', encoder: 'embed' };

interface Entry {
  /** Distinct for every registration (a replaced adapter's requests never share a batch with its successor's). */
  readonly id: number;
  readonly name: string;
  readonly model: LoadedModel;
  readonly dir: string;
  readonly method: string;
  readonly task: ServeTask;
  /** Whether it goes in the stacked graph. */
  readonly stacked: boolean;
  labels: readonly string[];
  resident: boolean;
  lastUsed: number;
  /** Requests holding it. */
  pins: number;
  /** Deleted or replaced: unloaded once no request holds it. */
  gone: boolean;
  loading: Promise<void> | undefined;
  /** When stacked: the prepared weights, tokenizer and head config. */
  member?: Member;
  /** When not stacked: its own pipeline. */
  pipe?: Pipeline;
}

interface Member {
  readonly stackable: StackableAdapter;
  readonly tokenizer: Tokenizer;
  readonly maxLength: number;
  readonly config: ModelConfig;
}

/** A compiled stacked graph and the runs using it. */
interface SessionRef {
  readonly forward: ForwardModel;
  users: number;
  retired: boolean;
}

/** One stacking of resident adapters: what a batch runs with. */
interface Snapshot {
  readonly ref: SessionRef;
  readonly layout: StackLayout;
  /** Each stacked entry's slot and prepared weights, as stacked. */
  readonly slots: ReadonlyMap<Entry, { readonly slot: number; readonly member: Member }>;
  readonly feeds: Record<string, import('../runtime/tensor.js').HostTensor>;
}

/** The stacked graph of one served model and its resident members. */
class Stack {
  current: Snapshot | undefined;
  members: Entry[] = [];
  private updating: Promise<void> = Promise.resolve();
  /** The runner every stacked batch of this model goes through. */
  readonly run: BatchRunner;

  constructor(
    readonly base: StackBase,
    readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    private readonly threads: number | undefined,
  ) {
    this.run = (items) => this.runBatch(items as readonly StackedItem[]);
  }

  /**
   * Restacks with the members `change` makes of the current ones (serialised: one update at a
   * time, each seeing the last's members); compiles a new graph when the layout does not cover them.
   */
  update(change: (members: readonly Entry[]) => Entry[]): Promise<void> {
    const next = this.updating.then(async () => {
      const members = change(this.members);
      const adapters = members.map((m) => m.member!.stackable);
      let ref = this.current?.ref;
      let layout = this.current?.layout;
      if (!ref || !layout || !adapters.every((a) => this.base.covers(layout!, a))) {
        layout = this.base.layoutOf([...adapters, ...(this.current ? this.members.map((m) => m.member!.stackable) : [])]);
        ref = { forward: await this.base.compile(layout, this.threads), users: 0, retired: false };
      }
      const old = this.current;
      this.current = { ref, layout, slots: new Map(members.map((m, slot) => [m, { slot, member: m.member! }])), feeds: this.base.feeds(layout, adapters) };
      this.members = members;
      if (old && old.ref !== ref) await retire(old.ref);
    });
    this.updating = next.catch(() => {});
    return next;
  }

  private async runBatch(items: readonly StackedItem[]): Promise<unknown[]> {
    const snap = this.current;
    if (!snap) throw new ServeError('internal', 'no adapter is stacked on this model');
    const ref = snap.ref;
    ref.users++;
    try {
      const stacked = items.map((it) => {
        const s = snap.slots.get(it.entry);
        if (s === undefined) throw new ServeError('internal', `adapter ${it.entry.name} is not in the stacked graph`);
        return s;
      });
      const slots = stacked.map((s) => s.slot);
      const encodings = items.map((it, i) => {
        const m = stacked[i]!.member;
        const x = it.input;
        return typeof x === 'string' ? m.tokenizer.encode(x, undefined, { maxLength: m.maxLength }) : m.tokenizer.encode(x.text, x.textPair, { maxLength: m.maxLength });
      });
      const { feeds } = batchInputs(encodings, this.tokenizer.padTokenId);
      const index = { dtype: 'int64' as const, dims: [items.length], data: BigInt64Array.from(slots, (s) => BigInt(s)) };
      const out = await ref.forward.run({ ...feeds, ...snap.feeds, [ADAPTER_INDEX]: index });
      checkFiniteOutputs(out, this.base.model.source);
      const logits = out.logits!;
      const width = logits.dims[1]!;
      const data = logits.data as Float32Array;
      return items.map((it, i) => {
        const config = stacked[i]!.member.config;
        const n = numLabels(config);
        const row = data.subarray(i * width, i * width + n);
        const k = it.options.topK;
        const topK = k === null || k === 0 ? n : Math.min((k as number | undefined) ?? 1, n);
        const fn = (it.options.functionToApply as 'softmax' | 'sigmoid' | 'none' | undefined) ?? defaultClassificationFunction(config);
        return rankLabels(classificationScores(row, fn), config, topK);
      });
    } finally {
      ref.users--;
      if (ref.retired && ref.users === 0) await ref.forward.release();
    }
  }

  async dispose(): Promise<void> {
    await this.updating;
    if (this.current) await retire(this.current.ref);
    this.current = undefined;
  }
}

async function retire(ref: SessionRef): Promise<void> {
  ref.retired = true;
  if (ref.users === 0) await ref.forward.release();
}

/** One input of a stacked batch. */
interface StackedItem {
  readonly entry: Entry;
  readonly input: string | { text: string; textPair?: string };
  readonly options: Readonly<Record<string, unknown>>;
}

/** A request's hold on its adapter; {@link release} when the request is done. */
export interface AdapterLease {
  /** The served model the adapter runs on (its batcher lane). */
  readonly model: LoadedModel;
  /** The adapter's own pipeline, when it is not stacked. */
  readonly pipeline: Pipeline | undefined;
  /** The batcher group, runner and inputs of a request's inputs. */
  job(inputs: readonly unknown[], callOptions: Readonly<Record<string, unknown>>): { key: string; run: BatchRunner; inputs: readonly unknown[] };
  release(): void;
}

/** Settings of an {@link AdapterRegistry}. */
export interface AdapterRegistryOptions {
  readonly threads?: number;
  readonly batchSize: number;
  /** Most adapters resident at once (default: no limit). */
  readonly maxAdapters?: number;
}

/** The adapters a server knows: registered, resident or not; see the module comment. */
export class AdapterRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly stacks = new Map<LoadedModel, Promise<Stack>>();
  private readonly tokenizers = new Map<string, Promise<Tokenizer>>();
  private readonly fingerprints = new Map<string, Promise<string | undefined>>();
  private clock = 0;

  constructor(
    private readonly models: readonly LoadedModel[],
    private readonly opts: AdapterRegistryOptions,
  ) {
    const m = opts.maxAdapters;
    if (m !== undefined && (!Number.isInteger(m) || m < 1)) throw new ServeConfigError(`maxAdapters must be an integer >= 1, got ${String(m)}`, { option: 'maxAdapters' });
  }

  /** Whether any adapter is registered. */
  get size(): number {
    return this.entries.size;
  }

  /** The registered adapters, by name. */
  list(): AdapterInfo[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map(infoOf);
  }

  /** The adapters registered on a model that serve `task`. */
  namesOn(model: LoadedModel, task: ServeTask): string[] {
    return [...this.entries.values()].filter((e) => e.model === model && e.task === task).map((e) => e.name);
  }

  /**
   * Registers and loads an adapter (replacing one of the same name: requests holding the old one
   * finish on it). Resolves with its info and the load time in ms.
   *
   * @throws ServeConfigError when the name breaks the rule, no served model is its base (the
   *   message names both), or the directory is no usable adapter.
   */
  async register(spec: AdapterSpec): Promise<{ info: AdapterInfo; loadMs: number }> {
    const t0 = performance.now();
    if (!NAME.test(spec.name)) throw new ServeConfigError(`adapter name ${JSON.stringify(spec.name)} is not valid: ${NAME_RULE}`, { option: spec.name });
    if (!existsSync(spec.dir) || !isAdapterDir(spec.dir)) {
      throw new ServeConfigError(`adapter ${spec.name}: ${spec.dir} is no adapter directory (it needs adapter_config.json and adapter_model.safetensors)`, { option: spec.dir });
    }
    let files: AdapterFiles;
    try {
      files = await readAdapter(spec.dir);
    } catch (e) {
      throw new ServeConfigError(`adapter ${spec.name}: ${(e as Error).message}`, { option: spec.dir, cause: e });
    }
    const model = await this.baseOf(spec, files);
    const task = TASK_OF_HEAD[files.head];
    if (!task) throw new ServeConfigError(`adapter ${spec.name}: its head (${files.head}) serves no endpoint`, { option: spec.dir });
    const stack = files.method === 'lora' && files.head === 'sequence-classification' ? await this.stackOf(model) : undefined;
    let member: Member | undefined;
    if (stack) {
      try {
        member = await this.memberOf(stack, files);
      } catch (e) {
        // Adapters that replace more than linear layers run on their own pipeline.
        if (!(isTunaError(e) && e.code === 'invalid_option')) throw new ServeConfigError(`adapter ${spec.name}: ${(e as Error).message}`, { option: spec.dir, cause: e });
      }
    }
    const entry: Entry = {
      id: ++this.clock,
      name: spec.name,
      model,
      dir: spec.dir,
      method: files.method,
      task,
      stacked: member !== undefined,
      labels: member ? labelsOf(member.config) : [],
      resident: false,
      lastUsed: ++this.clock,
      pins: 0,
      gone: false,
      loading: undefined,
      member,
    };
    // A replacement takes the name at once: requests from now on wait for it to load. A stacked
    // adapter replacing an idle one of its model takes its place in one restacking.
    const previous = this.entries.get(spec.name);
    if (previous) this.entries.set(spec.name, entry);
    const swap = previous && previous.pins === 0 && previous.stacked && entry.stacked && previous.model === model && previous.resident ? previous : undefined;
    try {
      await this.load(entry, files, swap);
    } catch (e) {
      if (previous && this.entries.get(spec.name) === entry) this.entries.set(spec.name, previous);
      throw e;
    }
    this.entries.set(spec.name, entry);
    if (swap) {
      swap.gone = true;
      swap.resident = false;
      swap.member = undefined;
    } else if (previous) await this.drop(previous);
    await this.evict(entry);
    return { info: infoOf(entry), loadMs: performance.now() - t0 };
  }

  /** Deletes an adapter: unknown from now on, unloaded once no request holds it. Resolves false for an unknown name. */
  async unregister(name: string): Promise<boolean> {
    const entry = this.entries.get(name);
    if (!entry) return false;
    this.entries.delete(name);
    await this.drop(entry);
    return true;
  }

  /**
   * Holds the adapter `name` for a request to `task` (loading it again if it was unloaded).
   *
   * @throws ServeError `unknown_model` (field `adapter`) for an unknown adapter, `invalid_request`
   *   when `model` names another model than its base, `unsupported_task` when it does not serve `task`.
   */
  async lease(name: string, model: string | undefined, task: ServeTask): Promise<AdapterLease> {
    const entry = this.entries.get(name);
    if (!entry) {
      const known = [...this.entries.keys()];
      throw new ServeError(
        'unknown_model',
        `no adapter named ${JSON.stringify(name)}; ${known.length ? `the adapters are ${known.map((k) => JSON.stringify(k)).join(', ')}` : 'no adapter is loaded'}`,
        {
          field: 'adapter',
        },
      );
    }
    if (model !== undefined && model !== entry.model.info.name) {
      throw new ServeError(
        'invalid_request',
        `adapter ${JSON.stringify(name)} runs on model ${JSON.stringify(entry.model.info.name)}, not on ${JSON.stringify(model)}; leave "model" out or name its base`,
        {
          field: 'model',
        },
      );
    }
    if (entry.task !== task) {
      throw new ServeError('unsupported_task', `adapter ${JSON.stringify(name)} (${entry.method}) does not serve ${task}, only ${entry.task}`, { field: 'adapter' });
    }
    entry.pins++;
    entry.lastUsed = ++this.clock;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.pins--;
      if (entry.pins === 0 && (entry.gone || !this.entries.has(entry.name))) void this.unload(entry);
    };
    try {
      if (!entry.resident) {
        await this.load(entry);
        await this.evict(entry);
      }
    } catch (e) {
      release();
      throw e;
    }
    const stack = entry.stacked ? await this.stackOf(entry.model) : undefined;
    return {
      model: entry.model,
      pipeline: entry.pipe,
      job: (inputs, callOptions) =>
        stack
          ? { key: 'stacked-lora', run: stack.run, inputs: inputs.map((input) => ({ entry, input, options: callOptions }) as StackedItem) }
          : {
              key: `adapter\u0000${entry.id}\u0000${JSON.stringify(callOptions)}`,
              run: (batch) => (entry.pipe!.runBatch as (xs: readonly unknown[], o: unknown) => Promise<unknown[]>)(batch, callOptions),
              inputs,
            },
      release,
    };
  }

  /** Frees every adapter and stacked graph. */
  async dispose(): Promise<void> {
    for (const e of this.entries.values()) if (e.pipe) await e.pipe.dispose();
    for (const s of this.stacks.values()) await (await s.catch(() => undefined))?.dispose();
  }

  // ---------------------------------------------------------------- loading

  /** The served model `spec` runs on, checked to be its base. */
  private async baseOf(spec: AdapterSpec, files: AdapterFiles): Promise<LoadedModel> {
    const recorded = files.baseModel === undefined ? undefined : resolveBaseModel(files);
    if (spec.model !== undefined) {
      const model = this.models.find((m) => m.info.name === spec.model);
      if (!model)
        throw new ServeConfigError(`adapter ${spec.name}: no served model is named ${JSON.stringify(spec.model)}; the models are ${this.modelNames()}`, { option: spec.name });
      if (recorded !== undefined && !(await this.sameModel(recorded, model))) throw this.mismatch(spec, recorded, [model]);
      return this.checkBase(spec, model);
    }
    if (recorded === undefined) {
      if (this.models.length === 1) return this.checkBase(spec, this.models[0]!);
      throw new ServeConfigError(`adapter ${spec.name}: ${spec.dir} names no base model (base_model_name_or_path); name the model it runs on`, { option: spec.name });
    }
    for (const m of this.models) if (await this.sameModel(recorded, m)) return this.checkBase(spec, m);
    throw this.mismatch(spec, recorded, this.models);
  }

  private checkBase(spec: AdapterSpec, model: LoadedModel): LoadedModel {
    if (isAdapterDir(model.dir))
      throw new ServeConfigError(`adapter ${spec.name}: model ${model.info.name} is itself an adapter directory; serve its base model as the model`, { option: spec.name });
    return model;
  }

  private mismatch(spec: AdapterSpec, recorded: string, models: readonly LoadedModel[]): ServeConfigError {
    const served = models.map((m) => `${m.info.name} (${m.dir})`).join(', ');
    return new ServeConfigError(
      `adapter ${spec.name} (${spec.dir}) was trained on ${recorded} (its base_model_name_or_path), but ${models.length === 1 ? 'the model is' : 'the models are'} ${served}; serve its base model, or give the adapter of this one`,
      { option: spec.name },
    );
  }

  private modelNames(): string {
    return this.models.map((m) => JSON.stringify(m.info.name)).join(', ');
  }

  /** Whether `recorded` (an adapter's base) is the served `model`: the same path or Hub id, the same directory, or the same files (fingerprint). */
  private async sameModel(recorded: string, model: LoadedModel): Promise<boolean> {
    if (recorded === model.dir) return true;
    if (!existsSync(recorded)) return false;
    const [a, b] = await Promise.all([realpath(recorded), realpath(model.dir)]);
    if (a === b) return true;
    const fp = (dir: string) => {
      let p = this.fingerprints.get(dir);
      if (!p) this.fingerprints.set(dir, (p = modelFingerprint(dir).catch(() => undefined)));
      return p;
    };
    const [fa, fb] = await Promise.all([fp(a), fp(b)]);
    return fa !== undefined && fa === fb;
  }

  private stackOf(model: LoadedModel): Promise<Stack> {
    let s = this.stacks.get(model);
    if (!s) {
      s = (async () => {
        const pretrained = await PreTrainedModel.fromPretrained(model.dir, {
          head: 'sequence-classification',
          missing: 'init',
          threads: this.opts.threads,
          checkFinite: true,
          use: 'inference',
        });
        const tokenizer = await pretrained.loadTokenizer();
        const maxLength = Math.min(tokenizer.modelMaxLength ?? pretrained.maxSequenceLength, pretrained.maxSequenceLength);
        return new Stack(new StackBase(pretrained), tokenizer, maxLength, this.opts.threads);
      })();
      this.stacks.set(model, s);
      s.catch(() => this.stacks.delete(model));
    }
    return s;
  }

  /** An adapter prepared for its stack, with its tokenizer (its own files, else the base's). */
  private async memberOf(stack: Stack, files: AdapterFiles): Promise<Member> {
    const stackable = stack.base.prepare(files);
    const tokenizer = await this.tokenizerOf(stack, files.dir);
    const limit = stack.base.model.maxSequenceLength;
    return { stackable, tokenizer, maxLength: Math.min(tokenizer.modelMaxLength ?? limit, limit), config: stackable.config };
  }

  private tokenizerOf(stack: Stack, dir: string): Promise<Tokenizer> {
    const names = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'].filter((f) => existsSync(join(dir, f)));
    if (names.length === 0) return Promise.resolve(stack.tokenizer);
    const h = createHash('sha256');
    for (const f of names) h.update(`${f}\0`).update(readFileSync(join(dir, f)));
    const key = h.digest('hex');
    let t = this.tokenizers.get(key);
    if (!t) {
      t = stack.base.model.family.loadTokenizer(dir).then((tok) => {
        const error = vocabularyMismatchError(dir, tok.vocabSize, stack.base.model.config.vocab_size);
        if (error) throw error;
        return tok;
      });
      this.tokenizers.set(key, t);
      t.catch(() => this.tokenizers.delete(key));
    }
    return t;
  }

  /** Loads an entry's weights (stacked: restacks, without `replacing`; else opens its pipeline). Concurrent loads share one. */
  private load(entry: Entry, files?: AdapterFiles, replacing?: Entry): Promise<void> {
    if (entry.resident) return Promise.resolve();
    entry.loading ??= (async () => {
      try {
        if (entry.stacked) {
          const stack = await this.stackOf(entry.model);
          if (!entry.member) entry.member = await this.memberOf(stack, files ?? (await readAdapter(entry.dir)));
          await stack.update((members) => [...members.filter((m) => m !== entry && m !== replacing), entry]);
        } else {
          entry.pipe = await pipeline(taskSpec(entry.task).pipeline, entry.dir, { baseModel: entry.model.dir, threads: this.opts.threads, batchSize: this.opts.batchSize });
          entry.labels = entry.task === 'embed' ? [] : labelsOf(entry.pipe.config);
        }
        entry.resident = true;
      } catch (e) {
        throw isTunaError(e) ? e : new ServeError('internal', `adapter ${entry.name}: ${(e as Error).message}`, { cause: e });
      } finally {
        entry.loading = undefined;
      }
    })();
    return entry.loading;
  }

  /** Unloads an entry (stacked: restacks without it; else disposes its pipeline). Its prepared weights go too, so memory is freed. */
  private async unload(entry: Entry): Promise<void> {
    if (entry.loading) await entry.loading.catch(() => {});
    // An adapter a request took hold of meanwhile stays (unless it was deleted).
    if (!entry.resident || (entry.pins > 0 && !entry.gone)) return;
    entry.resident = false;
    if (entry.stacked) {
      const stack = await this.stackOf(entry.model);
      await stack.update((members) => members.filter((m) => m !== entry));
      // Unless a request loaded it again meanwhile.
      if (!entry.resident && !entry.loading) entry.member = undefined;
    } else {
      const pipe = entry.pipe;
      entry.pipe = undefined;
      await pipe?.dispose();
    }
  }

  /** A deleted or replaced entry: unloaded now, or by the last request holding it. */
  private async drop(entry: Entry): Promise<void> {
    entry.gone = true;
    if (entry.pins === 0) await this.unload(entry);
  }

  /** Unloads the least recently used adapters beyond maxAdapters (never `keep`, nor one a request holds). */
  private async evict(keep: Entry): Promise<void> {
    const limit = this.opts.maxAdapters;
    if (limit === undefined) return;
    for (;;) {
      const resident = [...this.entries.values()].filter((e) => e.resident);
      if (resident.length <= limit) return;
      const victim = resident.filter((e) => e !== keep && e.pins === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (!victim) return;
      await this.unload(victim);
    }
  }
}

function labelsOf(config: ModelConfig): string[] {
  return Object.keys(config.id2label)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => config.id2label[k]!);
}

function infoOf(e: Entry): AdapterInfo {
  return { name: e.name, model: e.model.info.name, path: e.dir, method: e.method, tasks: [e.task], labels: e.labels, stacked: e.stacked, resident: e.resident };
}

/** The end of the message to a request without `adapter` for a model that does not serve `task` itself: its adapters that do. */
export function adapterHint(registry: AdapterRegistry | undefined, model: LoadedModel, task: ServeTask): string {
  const names = registry?.namesOn(model, task) ?? [];
  return names.length ? `; name one of its adapters ("adapter": ${names.map((n) => JSON.stringify(n)).join(', ')})` : '';
}

/**
 * `GET /v1/adapters`, and with `admin` the authenticated `PUT /v1/admin/adapters/{name}` (body
 * `{"base": MODEL, "path": DIR}`: loads or replaces an adapter) and
 * `DELETE /v1/admin/adapters/{name}` (unloads and forgets it).
 */
export function registerAdapterRoutes(app: FastifyInstance, registry: AdapterRegistry, opts: { admin: boolean }): void {
  app.get('/v1/adapters', async () => ({ adapters: registry.list() }));
  if (!opts.admin) return;
  app.route<{ Params: { name: string }; Body: { base?: string; path: string } }>({
    method: 'PUT',
    url: '/v1/admin/adapters/:name',
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['path'],
        properties: { base: { type: 'string', minLength: 1, maxLength: 200 }, path: { type: 'string', minLength: 1, maxLength: 4096 } },
      },
    },
    handler: async (request) => {
      const { name } = request.params;
      try {
        const { info, loadMs } = await registry.register({ name, dir: request.body.path, ...(request.body.base ? { model: request.body.base } : {}) });
        return { adapter: info, load_ms: Math.round(loadMs * 100) / 100 };
      } catch (e) {
        if (e instanceof ServeConfigError) throw new ServeError('invalid_request', e.message, { field: 'path', cause: e });
        throw e;
      }
    },
  });
  app.delete<{ Params: { name: string } }>('/v1/admin/adapters/:name', async (request) => {
    const { name } = request.params;
    if (!(await registry.unregister(name))) throw new ServeError('unknown_model', `no adapter named ${JSON.stringify(name)}`, { field: 'adapter' });
    return { deleted: name };
  });
}
