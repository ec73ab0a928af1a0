/**
 * Switching a running assistant to a new version without dropping a request: the new version is
 * loaded completely, then the dialogue's reference is swapped; turns that started on the old
 * version finish on it, and the old version is disposed once the last of them is done. A switch is
 * triggered by the model directory's `current` pointer changing (fs.watch, with a poll as the
 * fallback where watching is unreliable) or by a call to {@link ModelSwitch.reload}.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type FSWatcher, existsSync, watch } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Dialogue } from './dialogue.js';
import { AssistantError } from './errors.js';
import { type LoadNluOptions, Nlu } from './nlu.js';
import { CURRENT, resolveVersionDir } from './versions.js';

/** What a reload did. */
export interface ReloadResult {
  /** Whether another version was loaded and switched in. */
  readonly switched: boolean;
  readonly model_version: number;
  readonly previous_version: number;
}

/** Options of {@link ModelSwitch}. */
export interface ModelSwitchOptions extends LoadNluOptions {
  /** Watch `current` (fs.watch plus a poll every `pollMs`, default 2000 ms); off: reload only on request. */
  readonly watch?: boolean;
  readonly pollMs?: number;
  /** Reports a failed automatic reload (the old version keeps serving). */
  readonly onError?: (e: unknown) => void;
  /** Reports a switch. */
  readonly onSwitch?: (r: ReloadResult) => void;
}

/** The versions of a running dialogue: which one answers, which ones still finish turns. */
export class ModelSwitch {
  private readonly inFlight = new Map<Nlu, number>();
  private readonly retired = new Set<Nlu>();
  private reloading: Promise<ReloadResult> | undefined;
  private again = false;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    /** The model directory (or a version directory, which never switches). */
    readonly modelDir: string,
    private readonly dialogue: Dialogue,
    private readonly opts: ModelSwitchOptions = {},
  ) {
    if (opts.watch && existsSync(join(modelDir, CURRENT))) this.startWatching();
  }

  /** Runs one turn, counted against the version answering when it starts. */
  async run<T>(turn: () => Promise<T>): Promise<T> {
    const nlu = this.dialogue.nlu;
    this.inFlight.set(nlu, (this.inFlight.get(nlu) ?? 0) + 1);
    try {
      return await turn();
    } finally {
      const left = this.inFlight.get(nlu)! - 1;
      if (left > 0) this.inFlight.set(nlu, left);
      else {
        this.inFlight.delete(nlu);
        if (this.retired.delete(nlu)) await nlu.dispose();
      }
    }
  }

  /**
   * Loads the version `current` names, if it is not the one answering, and switches to it.
   * Concurrent calls share one reload (and a call during a reload runs another after it).
   *
   * @throws AssistantError when the version cannot be loaded; the old one keeps answering.
   */
  reload(): Promise<ReloadResult> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.switchOnce().finally(() => {
      this.reloading = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.reload().catch((e) => this.opts.onError?.(e));
      }
    });
    return this.reloading;
  }

  private async switchOnce(): Promise<ReloadResult> {
    const old = this.dialogue.nlu;
    const { dir } = await resolveVersionDir(this.modelDir);
    if (resolve(dir) === resolve(old.dir) || this.closed) return { switched: false, model_version: old.version, previous_version: old.version };
    const next = await Nlu.load(dir, this.opts.threads === undefined ? {} : { threads: this.opts.threads });
    if (this.closed) {
      await next.dispose();
      return { switched: false, model_version: old.version, previous_version: old.version };
    }
    this.dialogue.setNlu(next);
    if (this.inFlight.has(old)) this.retired.add(old);
    else await old.dispose();
    const r = { switched: true, model_version: next.version, previous_version: old.version };
    this.opts.onSwitch?.(r);
    return r;
  }

  private startWatching(): void {
    const trigger = () => {
      if (this.closed) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload().catch((e) => this.opts.onError?.(e)), 50);
      this.debounce.unref();
    };
    try {
      // `current` is replaced by a rename, so the directory is watched, not the file.
      this.watcher = watch(this.modelDir, { persistent: false }, (_event, name) => {
        if (name === null || name === CURRENT) trigger();
      });
      this.watcher.on('error', () => {});
    } catch {
      // Some file systems cannot be watched; the poll still sees the change.
    }
    this.timer = setInterval(trigger, this.opts.pollMs ?? 2000);
    this.timer.unref();
  }

  /** Stops watching, waits for a reload under way, and frees the versions that were waiting for their turns (not the answering one). */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    await this.reloading?.catch(() => undefined);
    for (const nlu of this.retired) await nlu.dispose();
    this.retired.clear();
  }
}

/** What is wrong with an admin key no client could send, or undefined. */
export function adminKeyProblem(key: string): string | undefined {
  if (key.trim() === '') return 'is empty or blank';
  if (key !== key.trim()) return 'has spaces at its start or end, which HTTP drops from the Authorization header';
  if (!/^[\x20-\x7e]+$/.test(key)) return 'has control or non-ASCII characters, which an Authorization header cannot carry';
  return undefined;
}

/**
 * Checks an `Authorization: Bearer <key>` header against the admin key (in constant time).
 *
 * @throws AssistantError `unauthorized` when the header is missing or the key wrong.
 */
export function checkAdminKey(header: string | undefined, key: string): void {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (m && timingSafeEqual(digest(m[1]!.trim()), digest(key))) return;
  throw new AssistantError('unauthorized', header === undefined ? 'this endpoint needs the admin key: send "Authorization: Bearer <key>"' : 'the admin key is wrong', {
    field: 'authorization',
  });
}
