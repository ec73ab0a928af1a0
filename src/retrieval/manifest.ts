/**
 * The manifest of a search index directory (`manifest.json`): what the index was built with and
 * which generation directory holds its files, with their sizes and SHA-256 digests.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RetrievalError } from './errors.js';

/** `format` of every manifest. */
export const INDEX_FORMAT = 'tuna-search-index';
/** The manifest version this tuna writes and reads. */
export const INDEX_FORMAT_VERSION = 1;
/** The manifest's file name in an index directory. */
export const MANIFEST_FILE = 'manifest.json';

/** How dense vectors are compared: `cos` (unit-length vectors, dot product) or `ip` (raw dot product). */
export type DenseMetric = 'cos' | 'ip';

/** Settings of the HNSW graph (usearch). */
export interface AnnParameters {
  /** Neighbours per node (HNSW's M; default 16). */
  readonly connectivity: number;
  /** Candidates kept while inserting (efConstruction; default 128). */
  readonly expansionAdd: number;
  /** Candidates kept while searching (ef; default 128; raised to the k asked when smaller). */
  readonly expansionSearch: number;
}

/** Settings of BM25 (MiniSearch, plain BM25 when `d` is 0). */
export interface Bm25Parameters {
  readonly k1: number;
  readonly b: number;
  /** BM25+'s lower bound of a term's weight; 0 is plain BM25. */
  readonly d: number;
  /** `Intl.Segmenter` locale of the tokenizer. */
  readonly locale: string;
}

/** A file of a generation, as the manifest records it. */
export interface ManifestFile {
  readonly bytes: number;
  readonly sha256: string;
}

/** The parsed `manifest.json`. */
export interface IndexManifest {
  readonly format: typeof INDEX_FORMAT;
  readonly version: number;
  /** Increases with every save; the files are in {@link directory}. */
  readonly generation: number;
  /** The generation's subdirectory, e.g. `gen-000003`. */
  readonly directory: string;
  readonly created: string;
  readonly updated: string;
  readonly tuna: string;
  readonly model: {
    /** The model as it was given when the index was built (directory or Hub id). */
    readonly source: string;
    /** The directory it was read from. */
    readonly path: string;
    /** SHA-256 of its configuration files and the names and sizes of its weight files. */
    readonly fingerprint: string;
  };
  readonly dimension: number;
  readonly metric: DenseMetric;
  /** Whether the stored vectors have unit length. */
  readonly normalized: boolean;
  /** The model's prompt names used for documents and queries (null: none). */
  readonly prompts: { readonly document: string | null; readonly query: string | null };
  readonly documents: number;
  /** The next vector key to hand out. */
  readonly nextKey: number;
  readonly ann: (AnnParameters & { readonly library: string }) | null;
  readonly bm25: (Bm25Parameters & { readonly library: string; readonly tokenizer: string }) | null;
  readonly files: Readonly<Record<string, ManifestFile>>;
}

/** The small configuration files that go into a model's fingerprint, where present. */
const CONFIG_FILES = [
  'config.json',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
  'tokenizer_config.json',
  '1_Pooling/config.json',
  '2_Normalize/config.json',
];

/**
 * A fingerprint of a model directory: SHA-256 over its configuration files (config.json, the
 * sentence-transformers module configs, tokenizer_config.json) and the relative paths and sizes
 * of its weight files (`*.safetensors`, one level of module subdirectories included). Cheap for
 * any model size, and different for another model or a retrained one.
 */
export async function modelFingerprint(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const name of CONFIG_FILES) {
    try {
      const bytes = await readFile(join(dir, name));
      h.update(`${name}\0${bytes.length}\0`).update(bytes);
    } catch {
      h.update(`${name}\0absent\0`);
    }
  }
  const weights: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.safetensors')) weights.push(entry.name);
    if (entry.isDirectory() && /^\d+_/.test(entry.name)) {
      for (const sub of await readdir(join(dir, entry.name), { withFileTypes: true }))
        if (sub.isFile() && sub.name.endsWith('.safetensors')) weights.push(`${entry.name}/${sub.name}`);
    }
  }
  for (const w of weights.sort()) h.update(`${w}\0${(await stat(join(dir, w))).size}\0`);
  return `sha256:${h.digest('hex')}`;
}

/** SHA-256 of bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const rebuild = 'rebuild the index';

/**
 * Reads and checks `DIR/manifest.json`.
 *
 * @throws RetrievalError `file_not_found` when the directory or its manifest is missing,
 *   `file_unreadable` for a manifest that does not parse or lacks fields, or of another version.
 */
export async function readManifest(dir: string): Promise<IndexManifest> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new RetrievalError('file_not_found', `${dir} is no search index: it has no ${MANIFEST_FILE}. Build an index there first`, { file, cause: e });
    }
    throw new RetrievalError('file_unreadable', `cannot read ${file}: ${(e as Error).message}`, { file, cause: e });
  }
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new RetrievalError('file_unreadable', `${file} is corrupt (not valid JSON: ${(e as Error).message}); ${rebuild}`, { file, cause: e });
  }
  if (m === null || typeof m !== 'object' || m.format !== INDEX_FORMAT) {
    throw new RetrievalError('file_unreadable', `${file} is not the manifest of a tuna search index (no "format": "${INDEX_FORMAT}"); ${rebuild}`, { file });
  }
  if (m.version !== INDEX_FORMAT_VERSION) {
    throw new RetrievalError(
      'file_unreadable',
      `${file} has index format version ${String(m.version)}; this tuna reads version ${INDEX_FORMAT_VERSION}. ${rebuild} with this tuna`,
      {
        file,
        field: 'version',
      },
    );
  }
  const need: [string, string][] = [
    ['generation', 'number'],
    ['directory', 'string'],
    ['model', 'object'],
    ['dimension', 'number'],
    ['metric', 'string'],
    ['normalized', 'boolean'],
    ['prompts', 'object'],
    ['documents', 'number'],
    ['nextKey', 'number'],
    ['files', 'object'],
  ];
  for (const [field, type] of need) {
    if (typeof m[field] !== type || m[field] === null)
      throw new RetrievalError('file_unreadable', `${file} is corrupt: "${field}" is missing or not a ${type}; ${rebuild}`, { file, field });
  }
  if (!/^gen-\d+$/.test(m.directory as string))
    throw new RetrievalError('file_unreadable', `${file} is corrupt: "directory" is not a generation name; ${rebuild}`, { file, field: 'directory' });
  if (m.metric !== 'cos' && m.metric !== 'ip') throw new RetrievalError('file_unreadable', `${file} is corrupt: "metric" must be cos or ip; ${rebuild}`, { file, field: 'metric' });
  return m as unknown as IndexManifest;
}
