/**
 * The data settings a model was trained with (columns, multi-label separator, label list), kept in
 * its checkpoint as `tuna_data_config.json`, so that evaluating or predicting on more data of the
 * same layout needs no flags repeated.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TunaError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readSmallTextFile } from '../io/files.js';
import type { DataOptions, TaskName } from './prepare.js';

/** The file name in a checkpoint directory. */
export const DATA_CONFIG_FILE = 'tuna_data_config.json';

/** What {@link writeDataConfig} stores and {@link readDataConfig} returns: DataOptions field names, plus the task. */
export interface DataConfig extends DataOptions {
  readonly task?: TaskName;
}

/** JSON keys in the file (snake_case, as Hugging Face's files name things), by DataConfig field. */
const KEYS = {
  task: 'task',
  textColumn: 'text_column',
  textPairColumn: 'text_pair_column',
  labelColumn: 'label_column',
  tokensColumn: 'tokens_column',
  tagsColumn: 'tags_column',
  multiLabel: 'multi_label',
  labelSeparator: 'label_separator',
  labelList: 'label_list',
} as const satisfies Partial<Record<keyof DataConfig, string>>;

type Field = keyof typeof KEYS;

/**
 * Writes the data settings of a training run into checkpoint directory `dir` (atomically), as
 * `tuna_data_config.json`. Only the settings that are set are written; `onBadRow` and other
 * per-run choices are not data layout and are left out.
 *
 * @example
 * await writeDataConfig('out/', { task: 'text-classification', textColumn: 'review', multiLabel: true, labelSeparator: '|' });
 */
export async function writeDataConfig(dir: string, options: DataConfig): Promise<void> {
  const json: Record<string, unknown> = { format: 'tuna-data-config', version: 1 };
  for (const [field, key] of Object.entries(KEYS) as [Field, string][]) {
    const v = options[field];
    if (v !== undefined && !(field === 'multiLabel' && v === false)) json[key] = v;
  }
  if (!options.multiLabel) delete json.label_separator;
  await writeFileAtomic(join(dir, DATA_CONFIG_FILE), new TextEncoder().encode(JSON.stringify(json, null, 2) + '\n'));
}

/**
 * The data settings stored in checkpoint directory `dir`, or undefined when it has no
 * `tuna_data_config.json` (a checkpoint from elsewhere, or from an older tuna).
 *
 * @throws TunaError (`invalid_config`) for a file that is not valid JSON or has a field of the wrong type, naming the file and field;
 *   (`file_unreadable`, `too_large`, `file_system`) for one that cannot be read (a device, too large, no permission).
 */
export async function readDataConfig(dir: string): Promise<DataConfig | undefined> {
  const path = join(dir, DATA_CONFIG_FILE);
  if (!existsSync(path)) return undefined;
  const text = await readSmallTextFile(path, { what: 'the data settings of the checkpoint', seekable: true });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TunaError('invalid_config', `${path}: not valid JSON (${(e as Error).message}); delete the file and pass the data flags (columns, separator) yourself`, {
      file: path,
      cause: e,
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TunaError('invalid_config', `${path}: expected a JSON object of data settings; delete the file and pass the data flags yourself`, { file: path });
  }
  const obj = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(KEYS) as [Field, string][]) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const ok =
      field === 'multiLabel'
        ? typeof v === 'boolean'
        : field === 'labelList'
          ? Array.isArray(v) && v.every((x) => typeof x === 'string')
          : field === 'task'
            ? v === 'text-classification' || v === 'token-classification'
            : typeof v === 'string';
    if (!ok) {
      const want =
        field === 'multiLabel' ? 'true or false' : field === 'labelList' ? 'a list of strings' : field === 'task' ? '"text-classification" or "token-classification"' : 'a string';
      throw new TunaError('invalid_config', `${path}: "${key}" must be ${want}, got ${JSON.stringify(v)}; fix or delete the file`, { file: path, field: key });
    }
    out[field] = v;
  }
  return out as DataConfig;
}
