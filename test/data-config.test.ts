// tuna_data_config.json: the data settings a model was trained with, kept in its checkpoint.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isTunaError } from '../src/errors.js';
import { DATA_CONFIG_FILE, readDataConfig, writeDataConfig } from '../src/tasks/data-config.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-data-config-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('written and read back: columns, multi-label separator, pair column and label list', async () => {
  const settings = {
    task: 'text-classification' as const,
    textColumn: 'question',
    textPairColumn: 'passage',
    labelColumn: 'intents',
    multiLabel: true,
    labelSeparator: '|',
    labelList: ['billing', 'card', 'refund'],
  };
  await writeDataConfig(work, settings);
  assert.deepEqual(readdirSync(work), [DATA_CONFIG_FILE], 'no temporary file left beside it');
  assert.deepEqual(JSON.parse(readFileSync(join(work, DATA_CONFIG_FILE), 'utf8')), {
    format: 'tuna-data-config',
    version: 1,
    task: 'text-classification',
    text_column: 'question',
    text_pair_column: 'passage',
    label_column: 'intents',
    multi_label: true,
    label_separator: '|',
    label_list: ['billing', 'card', 'refund'],
  });
  assert.deepEqual(await readDataConfig(work), settings);

  // Token data; a separator without multi-label is not a setting of the data.
  const tok = join(work, 'ner');
  mkdirSync(tok);
  await writeDataConfig(tok, { task: 'token-classification', tokensColumn: 'words', tagsColumn: 'ner_tags', multiLabel: false, labelSeparator: ',' });
  assert.deepEqual(await readDataConfig(tok), { task: 'token-classification', tokensColumn: 'words', tagsColumn: 'ner_tags' });
});

test('absent: undefined; malformed: an error naming the file and the field', async () => {
  const empty = mkdtempSync(join(work, 'empty-'));
  assert.equal(await readDataConfig(empty), undefined);
  writeFileSync(join(empty, DATA_CONFIG_FILE), '{"text_column": "review",');
  await assert.rejects(
    readDataConfig(empty),
    (e: unknown) => isTunaError(e) && e.code === 'invalid_config' && e.file === join(empty, DATA_CONFIG_FILE) && /not valid JSON/.test(e.message),
  );
  writeFileSync(join(empty, DATA_CONFIG_FILE), JSON.stringify({ multi_label: 'yes' }));
  await assert.rejects(readDataConfig(empty), (e: unknown) => isTunaError(e) && e.field === 'multi_label' && /"multi_label" must be true or false, got "yes"/.test(e.message));
  writeFileSync(join(empty, DATA_CONFIG_FILE), JSON.stringify({ label_list: ['a', 2] }));
  await assert.rejects(readDataConfig(empty), /"label_list" must be a list of strings/);
});
