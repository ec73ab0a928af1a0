/**
 * Matching a model's parameter names with a checkpoint's tensor names, the way Hugging Face
 * transformers does when loading `from_pretrained`.
 */

/**
 * The current name of a checkpoint key: legacy (TensorFlow-converted) LayerNorm parameters
 * `gamma` and `beta` become `weight` and `bias`, as transformers renames them for every model.
 * Other keys are returned unchanged.
 */
export function normalizeLegacyKey(key: string): string {
  if (key.endsWith('.gamma')) return `${key.slice(0, -'.gamma'.length)}.weight`;
  if (key.endsWith('.beta')) return `${key.slice(0, -'.beta'.length)}.bias`;
  if (key === 'gamma') return 'weight';
  if (key === 'beta') return 'bias';
  return key;
}

/** Options of {@link matchKeys}. */
export interface MatchOptions {
  /** The base model's prefix, with its dot (e.g. `'bert.'`); none by default. */
  readonly prefix?: string;
  /** Names that are the same parameter, as full (prefixed) names (e.g. a decoder tied to the word embeddings). */
  readonly aliases?: readonly (readonly [string, string])[];
  /** Checkpoint keys never reported as unexpected (buffers of old checkpoints). */
  readonly ignoreUnexpected?: readonly RegExp[];
  /** Maps a checkpoint key to its current name; default {@link normalizeLegacyKey}. */
  readonly normalize?: (key: string) => string;
}

/** The outcome of {@link matchKeys}, in Hugging Face's terms. */
export interface KeyMatch {
  /** Expected (model) name → the checkpoint key holding its value. Tied parameters may share a key. */
  readonly mapping: Map<string, string>;
  /** Expected names the checkpoint lacks: the model initialises them afresh (e.g. a new classifier head). */
  readonly missing: string[];
  /** Checkpoint keys the model does not use (e.g. the `cls.*` pre-training heads when loading a classifier). */
  readonly unexpected: string[];
  /** Checkpoint keys skipped silently: buffers of old checkpoints and duplicate names of tied parameters. */
  readonly ignored: string[];
}

/**
 * Matches a model's expected parameter names against a checkpoint's keys as transformers'
 * `from_pretrained` does:
 *
 * - keys are normalised first (legacy `LayerNorm.gamma`/`beta`);
 * - the base-model prefix is reconciled: a checkpoint of the bare encoder (no prefix) loads into a
 *   model with a head (whose encoder keys carry `prefix`), and a checkpoint with a head loads into
 *   the bare encoder (its prefixed keys used, its head keys unexpected);
 * - tied parameters are resolved through `aliases`: an absent name is read from its partner, and a
 *   checkpoint's copy of a tied name is not reported as unexpected when the model has that head.
 *
 * Returned lists keep the order of their inputs.
 */
export function matchKeys(expectedNames: Iterable<string>, checkpointNames: Iterable<string>, opts: MatchOptions = {}): KeyMatch {
  const prefix = opts.prefix ?? '';
  const aliases = opts.aliases ?? [];
  const ignoredPatterns = opts.ignoreUnexpected ?? [];
  const normalize = opts.normalize ?? normalizeLegacyKey;
  const expected = [...expectedNames];
  const expectedSet = new Set(expected);
  const keys = [...checkpointNames];

  // Normalised checkpoint name → original key; an exact current name wins over a legacy spelling.
  const byName = new Map<string, string>();
  for (const key of keys) {
    const name = normalize(key);
    if (!byName.has(name) || name === key) byName.set(name, key);
  }

  const checkpointHasPrefix = prefix !== '' && [...byName.keys()].some((k) => k.startsWith(prefix));
  const modelHasPrefix = prefix !== '' && expected.some((k) => k.startsWith(prefix));
  // Expected name → normalised checkpoint name, following transformers' prefix rules.
  const toCheckpoint = (name: string): string | undefined => {
    if (modelHasPrefix && !checkpointHasPrefix) return name.startsWith(prefix) ? name.slice(prefix.length) : name;
    if (!modelHasPrefix && checkpointHasPrefix) return prefix + name;
    return name;
  };
  // Normalised checkpoint name → the expected-namespace name it would be, if the model has one.
  const toModel = (name: string): string | undefined => {
    if (modelHasPrefix && !checkpointHasPrefix) {
      return expectedSet.has(prefix + name) ? prefix + name : name;
    }
    if (!modelHasPrefix && checkpointHasPrefix) return name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
    return name;
  };
  // Alias partners in the model's namespace (aliases are given as full, prefixed names).
  const fullToModel = (full: string): string | undefined => (modelHasPrefix ? full : full.startsWith(prefix) ? full.slice(prefix.length) : undefined);
  const partners = new Map<string, string[]>();
  for (const [a, b] of aliases) {
    const ma = fullToModel(a);
    const mb = fullToModel(b);
    if (ma === undefined || mb === undefined) continue;
    partners.set(ma, [...(partners.get(ma) ?? []), mb]);
    partners.set(mb, [...(partners.get(mb) ?? []), ma]);
  }

  const mapping = new Map<string, string>();
  const missing: string[] = [];
  for (const name of expected) {
    const direct = toCheckpoint(name);
    const key = direct !== undefined ? byName.get(direct) : undefined;
    if (key !== undefined) {
      mapping.set(name, key);
      continue;
    }
    const tied = (partners.get(name) ?? []).map((p) => toCheckpoint(p)).find((c) => c !== undefined && byName.has(c));
    if (tied !== undefined) mapping.set(name, byName.get(tied)!);
    else missing.push(name);
  }

  const used = new Set(mapping.values());
  const modules = new Set(expected.map((n) => n.split('.')[0]));
  const unexpected: string[] = [];
  const ignored: string[] = [];
  for (const key of keys) {
    if (used.has(key)) continue;
    const name = normalize(key);
    const modelName = byName.get(name) === key ? toModel(name) : undefined;
    const isTiedCopy = modelName !== undefined && modules.has(modelName.split('.')[0]) && (partners.get(modelName) ?? []).some((p) => expectedSet.has(p) && mapping.has(p));
    if (isTiedCopy || ignoredPatterns.some((re) => re.test(name))) ignored.push(key);
    else unexpected.push(key);
  }
  return { mapping, missing, unexpected, ignored };
}
