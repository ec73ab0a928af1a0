// Checkpoints and HTTP helpers for the `tuna serve` tests.
import { request as httpRequest } from 'node:http';
import { tempDir, writeSequenceClassifier, writeTokenLogitModel } from './pipeline-models.js';

export { BUNDLED_EN } from './pipeline-models.js';

/** Labels of the test classifier (a random, seeded head on the bundled English model). */
export const CLASSIFIER_LABELS = { 0: 'billing', 1: 'shipping', 2: 'other' };

/** A BertForSequenceClassification checkpoint on the bundled English encoder. */
export async function makeClassifier(): Promise<string> {
  return writeSequenceClassifier(await tempDir('serve-cls'), CLASSIFIER_LABELS);
}

/** The token classifier's vocabulary: each listed token has fixed logits (see writeTokenLogitModel). */
export const NER_LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const NER_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'john', 'smith', 'lives', 'in', 'paris', 'new', 'york', 'and', '.'];
const O = [4, 0, 0, 0, 0];
const NER_LOGITS: Record<string, number[]> = {
  john: [0, 5, 0, 0, 0],
  smith: [0, 0, 5, 0, 0],
  paris: [0, 0, 0, 5, 0],
  new: [0, 0, 0, 4, 0],
  york: [0, 0, 0, 0, 4],
  ...Object.fromEntries(['lives', 'in', 'and', '.', '[UNK]'].map((t) => [t, O])),
};

/** A BertForTokenClassification checkpoint that tags john/smith as PER and paris, new york as LOC. */
export async function makeTokenClassifier(): Promise<string> {
  return writeTokenLogitModel(await tempDir('serve-ner'), NER_VOCAB, NER_LABELS, NER_LOGITS, { maxPositions: 64 });
}

/** A JSON answer. */
export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** POSTs `body` (an object sent as JSON, or a raw string) to `base + path`. */
export async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
}

/** GETs `base + path` and parses JSON (or returns the text for other types). */
export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const r = await fetch(base + path, { headers });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: (r.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
}

/**
 * Sends a raw HTTP/1.1 request over a fresh connection (no keep-alive) and resolves with the
 * status and body; for bodies `fetch` will not send (wrong Content-Length, ...).
 */
export function raw(base: string, opts: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: opts.method, path: opts.path, headers: { connection: 'close', ...opts.headers }, agent: false },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: data }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sum of the samples of a metric in Prometheus text whose labels include `match`. */
export function metricValue(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Polls `check` every 10 ms until it returns true, failing after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Largest absolute difference between two nested arrays/objects of numbers with the same shape; fails on other differences. */
export function maxDifference(a: unknown, b: unknown, path = '$'): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`${path}: length ${a.length} vs ${b.length}`);
    return a.reduce((m: number, x, i) => Math.max(m, maxDifference(x, b[i], `${path}[${i}]`)), 0);
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) throw new Error(`${path}: keys ${ka} vs ${kb}`);
    return ka.reduce((m, k) => Math.max(m, maxDifference((a as any)[k], (b as any)[k], `${path}.${k}`)), 0);
  }
  if (a !== b) throw new Error(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return 0;
}
