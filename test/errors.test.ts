// Every error class tuna exports is a TunaError whose instances carry a code of the catalogue, so
// that the command line and the HTTP service can report any of them by its code alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tuna from '../src/index.js';
import { CliError } from '../src/cli/errors.js';
import { ERROR_CODES, TunaError, isTunaError } from '../src/errors.js';
import { TokenizerFileError, TruncationError } from '../src/tokenizers/errors.js';

type ErrorClass = new (...args: any[]) => Error;

/** Constructor arguments of one instance of each error class, by class name. */
const SAMPLES: Record<string, readonly unknown[]> = {
  TunaError: ['internal', 'a defect'],
  ShapeError: [
    'MatMul',
    'inner dims differ',
    [
      [2, 3],
      [4, 5],
    ],
  ],
  OnnxFormatError: ['model.onnx: the ONNX model has no graph', { file: 'model.onnx' }],
  UnsupportedGradientError: ['Foo', '', 'foo_0'],
  RuntimeError: ['ONNX Runtime run failed: out of memory'],
  UnsupportedModelError: ['gpt2 is not a model type tuna builds'],
  BertConfigError: ['config.json: hidden_size must be a positive integer', { file: 'config.json' }],
  TrainingStateError: ['optimizer.safetensors: state for unknown parameter w'],
  SafetensorsError: ['model.safetensors: the header is not a JSON object'],
  HubError: ['owner/name: no such model on the Hub'],
  CheckpointError: ['ckpt: no model.safetensors', { file: 'ckpt' }],
  TokenizerError: ['the vocabulary has no unknown token [UNK]'],
  TokenizerFileError: ['vocab.txt', 'is empty'],
  TruncationError: ['truncation needs a length'],
  TrainingArgumentsError: ['learning_rate', 'learning_rate must be positive'],
  OutputDirError: ['out', 'out holds an earlier run'],
  ResumeError: ['out/checkpoint-3 holds no trainer state'],
  DataError: ['train.csv', 12, 'the label is empty'],
  MetricsError: ['3 true labels but 2 predictions'],
  PipelineError: ['invalid_option', 'topK must be an integer', { field: 'topK' }],
  ServeError: ['unknown_model', 'no model named "x"', { field: 'model' }],
  ServeConfigError: ['port must be an integer from 0 to 65535', { option: 'port' }],
  RequestCancelledError: ['the client went away'],
  QueueFullError: ['8 inputs are already waiting for model m'],
  ExportError: ['checkpoint_not_found', 'ckpt: no such checkpoint directory', { file: 'ckpt' }],
  CliError: ['usage', '--port must be an integer'],
  PeftError: ['invalid_model', 'adapter_config.json: r must be a positive integer', { file: 'adapter_config.json', field: 'r' }],
  DetectorError: ['invalid_config', 'ewma.alpha must be a number in (0, 1), got 2', 'ewma.alpha'],
  RetrievalError: ['invalid_input', 'corpus.jsonl:4: the id "a" was already used on line 1', { file: 'corpus.jsonl' }],
};

/** The error classes of tuna's public API (src/index.ts), and those of the tokenizer and CLI modules. */
const classes = new Map<string, ErrorClass>();
for (const [name, value] of Object.entries(tuna)) {
  if (typeof value === 'function' && value.prototype instanceof Error) classes.set(name, value as ErrorClass);
}
for (const c of [TokenizerFileError, TruncationError, CliError] as ErrorClass[]) classes.set(c.name, c);

test('src/index.ts exports error classes, and each has a sample here', () => {
  assert.ok(classes.size >= 20, `found ${[...classes.keys()].join(', ')}`);
  const missing = [...classes.keys()].filter((name) => !Object.hasOwn(SAMPLES, name));
  assert.deepEqual(missing, [], 'add a sample for each new error class');
});

for (const [name, ErrorClass] of classes) {
  test(`${name} is a TunaError with a code of the catalogue`, () => {
    const e = Reflect.construct(ErrorClass, SAMPLES[name] ?? []) as Error & { code?: unknown };
    assert.ok(e instanceof TunaError, `${name} extends TunaError`);
    assert.ok(isTunaError(e));
    assert.equal(e.name, name);
    assert.equal(typeof e.code, 'string');
    assert.ok(Object.hasOwn(ERROR_CODES, e.code as string), `${name}'s code ${String(e.code)} is in ERROR_CODES`);
    assert.equal(e.httpStatus, ERROR_CODES[e.code as keyof typeof ERROR_CODES].http);
    assert.ok(e.message.length > 0);
  });
}

test('the catalogue: every code has an HTTP status and a meaning', () => {
  for (const [code, { http, meaning }] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[a-z]+(_[a-z]+)*$/, code);
    assert.ok(Number.isInteger(http) && http >= 400 && http < 600, `${code}: ${http}`);
    assert.ok(meaning.length > 0, code);
  }
});

test('errors keep their file, field and cause', () => {
  const cause = new Error('EACCES');
  const e = new TunaError('file_unreadable', 'vocab.txt: permission denied', { file: 'vocab.txt', field: 'tokenizer', cause });
  assert.equal(e.file, 'vocab.txt');
  assert.equal(e.field, 'tokenizer');
  assert.equal(e.cause, cause);
  const tokenizerFile = new TokenizerFileError('tok/vocab.txt', 'cannot be read', { code: 'file_unreadable' });
  assert.equal(tokenizerFile.file, 'tok/vocab.txt');
  assert.equal(tokenizerFile.code, 'file_unreadable');
  assert.equal(tokenizerFile.message, 'tok/vocab.txt: cannot be read');
  const exported = new tuna.ExportError('output_not_writable', 'out: cannot write', { file: 'out' });
  assert.equal(exported.code, 'export_failed');
  assert.equal(exported.kind, 'output_not_writable');
  assert.equal(exported.file, 'out');
  assert.equal(new tuna.ServeError('overloaded', 'queue full').status, 503);
});
