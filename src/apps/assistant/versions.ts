/**
 * The assistant's model directory: numbered versions (`versions/N/`, each complete: the intent
 * classifier, the FAQ index and `assistant.json`) and a `current` file naming the one in use,
 * replaced atomically so that a reader sees the old version or the new one, never a mix.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../index.js';
import { AssistantError } from './errors.js';

/** The manifest of one version. */
export const MANIFEST = 'assistant.json';
/** The pointer file of a model directory. */
export const CURRENT = 'current';
/** The folder of the versions. */
export const VERSIONS = 'versions';
/** The intent classifier's folder inside a version. */
export const CLASSIFIER_DIR = 'classifier';
/** The FAQ index's folder inside a version. */
export const FAQ_DIR = 'faq';

/** The version numbers present in a model directory, ascending. */
export async function listVersions(dir: string): Promise<number[]> {
  const root = join(dir, VERSIONS);
  if (!existsSync(root)) return [];
  return (await readdir(root))
    .filter((n) => /^\d+$/.test(n) && existsSync(join(root, n, MANIFEST)))
    .map(Number)
    .sort((a, b) => a - b);
}

/** The number the next version gets. */
export async function nextVersion(dir: string): Promise<number> {
  const root = join(dir, VERSIONS);
  const taken = existsSync(root) ? (await readdir(root)).filter((n) => /^\d+/.test(n)).map((n) => Number.parseInt(n, 10)) : [];
  return Math.max(0, ...taken) + 1;
}

/** Points `current` at version `n` (an atomic replace). */
export async function setCurrentVersion(dir: string, n: number): Promise<void> {
  if (!existsSync(join(dir, VERSIONS, String(n), MANIFEST)))
    throw new AssistantError('file_not_found', `${dir}: version ${n} does not exist (no ${VERSIONS}/${n}/${MANIFEST})`, { file: dir });
  await writeFileAtomic(join(dir, CURRENT), new TextEncoder().encode(`${n}\n`));
}

/**
 * The version directory to load from `dir`: the one `current` names in a model directory, or `dir`
 * itself when it is a version directory (has assistant.json).
 *
 * @throws AssistantError `file_not_found` / `invalid_model` naming the directory.
 */
export async function resolveVersionDir(dir: string): Promise<{ dir: string; version: number | undefined }> {
  const abs = resolve(dir);
  if (existsSync(join(abs, CURRENT))) {
    const text = (await readFile(join(abs, CURRENT), 'utf8')).trim();
    if (!/^\d+$/.test(text)) throw new AssistantError('invalid_model', `${join(dir, CURRENT)}: holds "${text.slice(0, 40)}", not a version number`, { file: join(dir, CURRENT) });
    const v = join(abs, VERSIONS, text);
    if (!existsSync(join(v, MANIFEST))) throw new AssistantError('invalid_model', `${dir}: current names version ${text}, which has no ${MANIFEST}`, { file: v });
    return { dir: v, version: Number(text) };
  }
  if (existsSync(join(abs, MANIFEST))) return { dir: abs, version: undefined };
  if (!existsSync(abs)) throw new AssistantError('file_not_found', `${dir}: no such directory; train an assistant into it with tuna assistant train`, { file: dir });
  throw new AssistantError('invalid_model', `${dir}: not an assistant model directory (no ${CURRENT} file and no ${MANIFEST})`, { file: dir });
}
