/**
 * The alert dispatcher: stores every alert the watcher raises, holds back duplicates within a
 * cooldown, and posts the others as JSON to webhooks (each with its own minimum severity), with
 * retries, backoff and timeouts; how each delivery went is stored with the alert.
 */
import { MonitorError } from './errors.js';
import { ALL, type AlertDelivery, type AlertRecord, type AlertSeverity, type MonitorStore, type NewAlert, SEVERITIES } from './types.js';

/** A webhook that alerts are posted to. */
export interface AlertTarget {
  /** The `http:` or `https:` URL a JSON body is POSTed to. */
  readonly url: string;
  /** Alerts below this severity are not sent here (default `low`: every alert). */
  readonly minSeverity?: AlertSeverity;
  /** Extra request headers (an `Authorization` token, ...). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A name for messages and stored errors (default: the URL's host). */
  readonly name?: string;
}

/** Options of {@link AlertDispatcher}. */
export interface AlertDispatcherOptions {
  /** Where alerts go; none is allowed (every alert is then stored as `none`). */
  readonly targets: readonly AlertTarget[];
  /**
   * An alert whose key had an alert within this many milliseconds before it (by window start) is
   * stored as `suppressed` and not sent, unless its severity is higher than that alert's. 0: no cooldown.
   */
  readonly cooldownMs: number;
  /** Further attempts after a failed one (default 3). */
  readonly retries?: number;
  /** The wait before the first retry, doubled before each next one (default 500 ms). */
  readonly backoffMs?: number;
  /** The longest wait between attempts, also the cap on a `Retry-After` (default 30 000 ms). */
  readonly maxBackoffMs?: number;
  /** An attempt without an answer in this many milliseconds is abandoned and retried (default 5000). */
  readonly timeoutMs?: number;
}

/**
 * The JSON body POSTed to a webhook (`Content-Type: application/json`):
 *
 * ```json
 * {
 *   "id": 17,
 *   "key": "negative-share|entity|acme|up",
 *   "watch": "negative-share",
 *   "detector": "page-hinkley",
 *   "severity": "high",
 *   "metric": "share",
 *   "label": "negative",
 *   "series": { "dimension": "entity", "value": "acme" },
 *   "direction": "up",
 *   "window": { "start": "2024-05-01T13:00:00.000Z", "end": "2024-05-01T14:00:00.000Z", "ms": 3600000 },
 *   "observed": 0.62,
 *   "expected": 0.21,
 *   "score": 9.4,
 *   "threshold": 5,
 *   "examples": [{ "id": "d1", "text": "...", "label": "negative", "score": 0.98, "timestamp": "2024-05-01T13:12:00.000Z" }],
 *   "raisedAt": "2024-05-01T14:00:05.000Z",
 *   "text": "HIGH: share of negative for entity \"acme\" 0.62 vs expected 0.21 in 2024-05-01 13:00–14:00 UTC (page-hinkley)"
 * }
 * ```
 *
 * `text` is the one-line summary of {@link formatAlert}, the field chat webhooks (Slack,
 * Mattermost, Rocket.Chat) display.
 */
export interface AlertPayload {
  readonly id: number;
  readonly key: string;
  readonly watch: string;
  readonly detector: string;
  readonly severity: AlertSeverity;
  readonly metric: NewAlert['metric'];
  readonly label: string | null;
  readonly series: { readonly dimension: NewAlert['dimension']; readonly value: string };
  readonly direction: NewAlert['direction'];
  readonly window: { readonly start: string; readonly end: string; readonly ms: number };
  readonly observed: number;
  readonly expected: number;
  readonly score: number;
  readonly threshold: number;
  readonly examples: readonly { id: string; text: string; label: string; score: number; timestamp: string }[];
  readonly raisedAt: string;
  readonly text: string;
}

/** The webhook body of a stored alert (see {@link AlertPayload}). */
export function alertPayload(alert: AlertRecord): AlertPayload {
  return {
    id: alert.id,
    key: alert.key,
    watch: alert.watch,
    detector: alert.detector,
    severity: alert.severity,
    metric: alert.metric,
    label: alert.label,
    series: { dimension: alert.dimension, value: alert.value },
    direction: alert.direction,
    window: { start: iso(alert.windowStart), end: iso(alert.windowEnd), ms: alert.windowMs },
    observed: alert.observed,
    expected: alert.expected,
    score: alert.score,
    threshold: alert.threshold,
    examples: alert.examples.map((e) => ({ id: e.id, text: e.text, label: e.label, score: e.score, timestamp: iso(e.timestamp) })),
    raisedAt: iso(alert.raisedAt),
    text: formatAlert(alert),
  };
}

/**
 * The one-line human summary of an alert:
 * `HIGH: share of negative for entity "acme" 0.62 vs expected 0.21 in 2024-05-01 13:00–14:00 UTC (page-hinkley)`.
 */
export function formatAlert(alert: NewAlert): string {
  const what = alert.metric === 'share' ? `share of ${alert.label ?? '?'}` : 'volume';
  const series = alert.dimension === 'all' && alert.value === ALL ? 'all documents' : `${alert.dimension} ${JSON.stringify(alert.value)}`;
  const num = (x: number) => formatNumber(x, alert.metric);
  return `${alert.severity.toUpperCase()}: ${what} for ${series} ${num(alert.observed)} vs expected ${num(alert.expected)} in ${formatWindow(alert.windowStart, alert.windowEnd)} (${alert.detector})`;
}

function formatNumber(x: number, metric: NewAlert['metric']): string {
  if (!Number.isFinite(x)) return String(x);
  if (metric === 'share') return x.toFixed(2);
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

/** `2024-05-01 13:00–14:00 UTC`, or both dates when the window spans days. */
function formatWindow(start: number, end: number): string {
  const [sd, st] = dateTime(start);
  const [ed, et] = dateTime(end);
  return sd === ed ? `${sd} ${st}–${et} UTC` : `${sd} ${st}–${ed} ${et} UTC`;
}

function dateTime(ms: number): [string, string] {
  const s = iso(ms);
  const time = s.slice(17, 23) === '00.000' ? s.slice(11, 16) : s.slice(11, 19);
  return [s.slice(0, 10), time];
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/** How one target's delivery went. */
interface TargetResult {
  readonly ok: boolean;
  readonly attempts: number;
  readonly error: string | null;
}

/** One attempt's outcome: success, a failure worth retrying (with an optional wait), or a final failure. */
type Attempt = { kind: 'ok' } | { kind: 'retry'; error: string; waitMs?: number } | { kind: 'fail'; error: string };

interface ResolvedTarget {
  readonly url: string;
  readonly name: string;
  readonly minRank: number;
  readonly headers: Readonly<Record<string, string>>;
}

const rank = (s: AlertSeverity) => SEVERITIES.indexOf(s);

/**
 * Stores and delivers alerts. One dispatcher per store; alerts of one key are decided in the order
 * `dispatch` was called.
 *
 * ```ts
 * const dispatcher = new AlertDispatcher(store, { targets: [{ url: 'https://hooks.example/x', minSeverity: 'medium' }], cooldownMs: 6 * 3_600_000 });
 * const record = await dispatcher.dispatch(alert); // record.delivery: delivered | failed | suppressed | none
 * await dispatcher.close();
 * ```
 */
export class AlertDispatcher {
  private readonly targets: readonly ResolvedTarget[];
  private readonly cooldownMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly keyQueues = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  /** @throws MonitorError (`invalid_config`) naming the option that cannot be used. */
  constructor(
    private readonly store: MonitorStore,
    options: AlertDispatcherOptions,
  ) {
    const o = options;
    if (o === null || typeof o !== 'object') throw config('alerts', 'the alert options must be an object with targets and cooldownMs');
    if (!Array.isArray(o.targets)) throw config('alerts.targets', 'alerts.targets must be a list of webhooks ({ url, minSeverity? })');
    this.targets = o.targets.map((t, i) => resolveTarget(t, `alerts.targets[${i}]`));
    this.cooldownMs = nonNegative(o.cooldownMs, 'alerts.cooldownMs', undefined);
    this.retries = nonNegative(o.retries, 'alerts.retries', 3, true);
    this.backoffMs = nonNegative(o.backoffMs, 'alerts.backoffMs', 500);
    this.maxBackoffMs = nonNegative(o.maxBackoffMs, 'alerts.maxBackoffMs', 30_000);
    this.timeoutMs = nonNegative(o.timeoutMs, 'alerts.timeoutMs', 5000);
    if (this.timeoutMs === 0) throw config('alerts.timeoutMs', 'alerts.timeoutMs is 0: give a positive number of milliseconds');
  }

  /**
   * Stores `alert` and delivers it: `suppressed` within the cooldown of its key (not sent), `none`
   * when no target takes its severity, else posted to every target that does and stored as
   * `delivered` (all answered 2xx) or `failed` (one still failed after the retries, its error
   * kept). Network errors, timeouts, 5xx and 429 answers are retried (a `Retry-After` is
   * honoured up to `maxBackoffMs`); other 4xx answers are not. Settles once delivery is over.
   *
   * @returns the stored alert with its final delivery, attempts and error.
   * @throws MonitorError (`disposed`) after {@link close}; the store's errors.
   */
  dispatch(alert: NewAlert): Promise<AlertRecord> {
    if (this.closed) return Promise.reject(new MonitorError('disposed', 'the alert dispatcher is closed; create a new one to send alerts'));
    const previous = this.keyQueues.get(alert.key) ?? Promise.resolve();
    const decided = previous.then(() => this.record(alert));
    const tail = decided.catch(() => undefined);
    this.keyQueues.set(alert.key, tail);
    void tail.then(() => {
      if (this.keyQueues.get(alert.key) === tail) this.keyQueues.delete(alert.key);
    });
    const done = decided.then((stored) => (stored.delivery === 'pending' ? this.deliver(stored) : stored));
    const tracked = done.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return done;
  }

  /** Stops taking alerts and waits for the deliveries in flight (retries included). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Decides suppression and severity routing, and stores the alert. */
  private async record(alert: NewAlert): Promise<AlertRecord> {
    if (await this.inCooldown(alert)) return this.store.addAlert(alert, 'suppressed');
    const wanted = this.targetsFor(alert.severity);
    return this.store.addAlert(alert, wanted.length === 0 ? 'none' : 'pending');
  }

  private targetsFor(severity: AlertSeverity): ResolvedTarget[] {
    return this.targets.filter((t) => rank(severity) >= t.minRank);
  }

  /**
   * True when the newest alert of the key lies within the cooldown (by window start) and is at
   * least as severe. The newest alert counts whatever its delivery, so a condition that persists
   * alerts once and again only after a quiet cooldown.
   */
  private async inCooldown(alert: NewAlert): Promise<boolean> {
    if (this.cooldownMs === 0) return false;
    const last = await this.store.lastAlert(alert.key);
    if (last === undefined) return false;
    if (Math.abs(alert.windowStart - last.windowStart) >= this.cooldownMs) return false;
    return rank(alert.severity) <= rank(last.severity);
  }

  private async deliver(stored: AlertRecord): Promise<AlertRecord> {
    const body = JSON.stringify(alertPayload(stored));
    const results = await Promise.all(this.targetsFor(stored.severity).map((t) => this.send(t, body)));
    const attempts = results.reduce((n, r) => n + r.attempts, 0);
    const failed = results.filter((r) => !r.ok);
    const delivery: AlertDelivery = failed.length === 0 ? 'delivered' : 'failed';
    const error = failed.length === 0 ? null : failed.map((r) => r.error).join('; ');
    await this.store.updateAlertDelivery(stored.id, delivery, attempts, error);
    return { ...stored, delivery, attempts, error };
  }

  /** Posts `body` to one target with retries. */
  private async send(target: ResolvedTarget, body: string): Promise<TargetResult> {
    let attempts = 0;
    for (;;) {
      attempts++;
      const outcome = await this.attempt(target, body);
      if (outcome.kind === 'ok') return { ok: true, attempts, error: null };
      const error = `webhook ${target.name}: ${outcome.error}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`;
      if (outcome.kind === 'fail' || attempts > this.retries) return { ok: false, attempts, error };
      const backoff = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempts - 1));
      await sleep(outcome.waitMs === undefined ? backoff : Math.min(this.maxBackoffMs, outcome.waitMs));
    }
  }

  private async attempt(target: ResolvedTarget, body: string): Promise<Attempt> {
    let res: Response;
    try {
      res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'tuna-monitor', ...target.headers },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      return { kind: 'retry', error: networkError(e, this.timeoutMs) };
    }
    let text = '';
    try {
      text = await res.text();
    } catch (e) {
      if (res.ok) return { kind: 'retry', error: networkError(e, this.timeoutMs) };
    }
    if (res.ok) return { kind: 'ok' };
    const detail = text.trim().replace(/\s+/g, ' ').slice(0, 200);
    const error = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${detail ? `: ${detail}` : ''}`;
    if (res.status >= 500 || res.status === 429) {
      const waitMs = retryAfterMs(res.headers.get('retry-after'));
      return waitMs === undefined ? { kind: 'retry', error } : { kind: 'retry', error, waitMs };
    }
    return { kind: 'fail', error: `${error} (not retried: fix the webhook URL, headers or receiver)` };
  }
}

/** A `Retry-After` header's wait: delay seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const v = header.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function networkError(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const message = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : '';
  return cause && cause !== message ? `${message}: ${cause}` : message;
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}

function config(field: string, message: string): MonitorError {
  return new MonitorError('invalid_config', message, { field });
}

function nonNegative(v: unknown, field: string, fallback: number | undefined, integer = false): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw config(field, `${field} is ${JSON.stringify(v) ?? String(v)}: give a ${integer ? 'whole ' : ''}number of ${integer ? 'retries' : 'milliseconds'}, 0 or more`);
  }
  return v;
}

function resolveTarget(t: AlertTarget, field: string): ResolvedTarget {
  if (t === null || typeof t !== 'object') throw config(field, `${field} must be an object with a url`);
  let url: URL;
  try {
    url = new URL(t.url);
  } catch {
    throw config(`${field}.url`, `${field}.url is ${JSON.stringify(t.url)}, not a URL; give an http:// or https:// address`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw config(`${field}.url`, `${field}.url uses ${url.protocol}; webhooks are http:// or https:// addresses`);
  }
  const minSeverity = t.minSeverity ?? 'low';
  if (!SEVERITIES.includes(minSeverity)) {
    throw config(`${field}.minSeverity`, `${field}.minSeverity is ${JSON.stringify(minSeverity)}; the severities are ${SEVERITIES.join(', ')}`);
  }
  const headers = t.headers ?? {};
  if (headers === null || typeof headers !== 'object' || Object.values(headers).some((h) => typeof h !== 'string')) {
    throw config(`${field}.headers`, `${field}.headers must map header names to string values`);
  }
  if (t.name !== undefined && typeof t.name !== 'string') throw config(`${field}.name`, `${field}.name must be a string`);
  return { url: url.href, name: JSON.stringify(t.name ?? url.host), minRank: rank(minSeverity), headers };
}
