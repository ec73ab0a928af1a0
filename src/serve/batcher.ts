/**
 * Micro-batching: requests that arrive close together for the same model, task and options are
 * run as one batch, and each request gets its own slice of the results back.
 *
 * Each model has one lane that runs one batch at a time, so a model's ONNX Runtime sessions never
 * run concurrently. A lane dispatches a group's queued requests when they hold `maxBatchSize`
 * inputs, or when the oldest has waited `maxWaitMs`, or at once while draining. Requests that
 * arrive while a batch runs queue up and form the next batch, so under load batches grow by
 * themselves even with `maxWaitMs` 0.
 */

import { TunaError } from '../errors.js';

/** Runs one batch: one result per input, in order. */
export type BatchRunner = (inputs: readonly unknown[]) => Promise<readonly unknown[]>;

/** What the batcher reports, for metrics. */
export interface BatcherObserver {
  /** A batch of `size` inputs (from `requests` requests) ran in `seconds`. */
  batch?(model: string, task: string, size: number, requests: number, seconds: number): void;
  /** Inputs now waiting for a model's lane. */
  queueDepth?(model: string, depth: number): void;
  /** A queued request was dropped because its client went away. */
  cancelled?(model: string, task: string): void;
}

/** Settings of a {@link MicroBatcher}. */
export interface BatcherOptions {
  /** Most inputs in one batch (a single larger request runs alone). 1 turns batching off. */
  readonly maxBatchSize: number;
  /** Longest time the first request of a batch waits for others, in milliseconds. */
  readonly maxWaitMs: number;
  /**
   * Most inputs waiting for one model (default: no limit). A request that would take the queue
   * beyond it is refused with a {@link QueueFullError}; a request larger than the limit is still
   * accepted when nothing else waits, so that no request size is refused for good.
   */
  readonly maxQueuedInputs?: number;
  readonly observer?: BatcherObserver;
}

/** The error a request's promise rejects with when the model's queue is full (code `overloaded`). */
export class QueueFullError extends TunaError {
  override name = 'QueueFullError';
  constructor(message: string) {
    super('overloaded', message);
  }
}

/** The error a request's promise rejects with when its signal aborts while it is queued (code `cancelled`). */
export class RequestCancelledError extends TunaError {
  override name = 'RequestCancelledError';
  constructor(message: string) {
    super('cancelled', message);
  }
}

interface Job {
  readonly inputs: readonly unknown[];
  readonly enqueuedAt: number;
  readonly resolve: (results: readonly unknown[]) => void;
  readonly reject: (e: unknown) => void;
  readonly signal?: AbortSignal;
  readonly onAbort?: () => void;
}

interface Group {
  readonly task: string;
  readonly run: BatchRunner;
  readonly jobs: Job[];
  /** Inputs in `jobs`. */
  size: number;
}

class Lane {
  readonly groups = new Map<string, Group>();
  busy = false;
  timer: NodeJS.Timeout | undefined;
  depth = 0;
}

/** Groups requests into batches per (model, task, options); see the module comment. */
export class MicroBatcher {
  private readonly lanes = new Map<string, Lane>();
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: BatcherOptions) {
    if (!Number.isInteger(opts.maxBatchSize) || opts.maxBatchSize < 1) throw new RangeError(`maxBatchSize must be a positive integer, got ${opts.maxBatchSize}`);
    if (!Number.isFinite(opts.maxWaitMs) || opts.maxWaitMs < 0) throw new RangeError(`maxWaitMs must be a number >= 0, got ${opts.maxWaitMs}`);
    const q = opts.maxQueuedInputs;
    if (q !== undefined && (!Number.isInteger(q) || q < 1)) throw new RangeError(`maxQueuedInputs must be a positive integer, got ${q}`);
  }

  /**
   * Queues `inputs` for `model` in the group `key` (requests of one group share a batch; `run` is
   * the group's runner) and resolves with their results, in order. When `signal` aborts before the
   * batch starts, the request leaves the queue and the promise rejects with a
   * {@link RequestCancelledError}; once running, its results are computed and dropped. Rejects with
   * a {@link QueueFullError} at once when the model's queue holds `maxQueuedInputs` already.
   */
  submit(model: string, task: string, key: string, run: BatchRunner, inputs: readonly unknown[], signal?: AbortSignal): Promise<readonly unknown[]> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new RequestCancelledError('the client went away'));
      const lane = this.lane(model);
      const limit = this.opts.maxQueuedInputs;
      if (limit !== undefined && lane.depth > 0 && lane.depth + inputs.length > limit) {
        return reject(new QueueFullError(`${lane.depth} inputs are already waiting for model ${model} (the limit is ${limit})`));
      }
      const groupKey = `${task}\u0000${key}`;
      let group = lane.groups.get(groupKey);
      if (!group) lane.groups.set(groupKey, (group = { task, run, jobs: [], size: 0 }));
      const g = group;
      const onAbort = signal ? () => this.cancel(model, lane, g, job) : undefined;
      const job: Job = { inputs, enqueuedAt: performance.now(), resolve, reject, signal, onAbort };
      signal?.addEventListener('abort', onAbort!, { once: true });
      g.jobs.push(job);
      g.size += inputs.length;
      this.setDepth(model, lane, lane.depth + inputs.length);
      this.schedule(model, lane);
    });
  }

  /** Inputs waiting (not yet running) for `model`. */
  queueDepth(model: string): number {
    return this.lanes.get(model)?.depth ?? 0;
  }

  /** Runs everything queued without waiting for batches to fill, and resolves once all lanes are idle. */
  drain(): Promise<void> {
    this.draining = true;
    for (const [model, lane] of this.lanes) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
      this.schedule(model, lane);
    }
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  private lane(model: string): Lane {
    let lane = this.lanes.get(model);
    if (!lane) this.lanes.set(model, (lane = new Lane()));
    return lane;
  }

  private setDepth(model: string, lane: Lane, depth: number): void {
    lane.depth = depth;
    this.opts.observer?.queueDepth?.(model, depth);
  }

  private cancel(model: string, lane: Lane, group: Group, job: Job): void {
    const at = group.jobs.indexOf(job);
    if (at < 0) return; // already running
    group.jobs.splice(at, 1);
    group.size -= job.inputs.length;
    this.setDepth(model, lane, lane.depth - job.inputs.length);
    this.opts.observer?.cancelled?.(model, group.task);
    job.reject(new RequestCancelledError('the client went away'));
    this.checkIdle();
  }

  /** Dispatches the next batch if one is due, else sets a timer for when one will be. */
  private schedule(model: string, lane: Lane): void {
    if (lane.busy) return;
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    const now = performance.now();
    let oldest: Group | undefined;
    for (const [key, g] of lane.groups) {
      if (g.jobs.length === 0) {
        lane.groups.delete(key);
        continue;
      }
      if (g.size >= this.opts.maxBatchSize) return void this.dispatch(model, lane, g);
      if (!oldest || g.jobs[0]!.enqueuedAt < oldest.jobs[0]!.enqueuedAt) oldest = g;
    }
    if (!oldest) {
      this.checkIdle();
      return;
    }
    const due = oldest.jobs[0]!.enqueuedAt + this.opts.maxWaitMs;
    if (this.draining || due <= now) {
      this.dispatch(model, lane, oldest);
      return;
    }
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        this.schedule(model, lane);
      },
      Math.ceil(due - now),
    );
  }

  private async dispatch(model: string, lane: Lane, group: Group): Promise<void> {
    const jobs: Job[] = [];
    let size = 0;
    while (group.jobs.length > 0 && (jobs.length === 0 || size + group.jobs[0]!.inputs.length <= this.opts.maxBatchSize)) {
      const job = group.jobs.shift()!;
      if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort);
      jobs.push(job);
      size += job.inputs.length;
    }
    group.size -= size;
    this.setDepth(model, lane, lane.depth - size);
    lane.busy = true;
    try {
      await this.runJobs(model, group, jobs, size);
    } finally {
      lane.busy = false;
      this.schedule(model, lane);
    }
  }

  /** Runs the jobs as one batch; if it fails and holds several requests, runs each alone so every request gets its own error. */
  private async runJobs(model: string, group: Group, jobs: readonly Job[], size: number): Promise<void> {
    const t0 = performance.now();
    let results: readonly unknown[];
    try {
      results = await group.run(jobs.flatMap((j) => j.inputs));
      if (results.length !== size) throw new Error(`a batch of ${size} inputs gave ${results.length} results`);
    } catch (e) {
      if (jobs.length === 1) return jobs[0]!.reject(e);
      for (const job of jobs) await this.runJobs(model, group, [job], job.inputs.length);
      return;
    }
    this.opts.observer?.batch?.(model, group.task, size, jobs.length, (performance.now() - t0) / 1000);
    let at = 0;
    for (const job of jobs) {
      job.resolve(results.slice(at, at + job.inputs.length));
      at += job.inputs.length;
    }
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0) return;
    for (const lane of this.lanes.values()) if (lane.busy || lane.depth > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
