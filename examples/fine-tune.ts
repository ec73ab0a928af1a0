// Fine-tuning with the library API: a small BERT learns four banking intents, then prints the
// classification report. Run with: node --import tsx examples/fine-tune.ts
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, LabelMap, Trainer, loadTextExamples, predictDataset, taskReport, textFeatures } from '../src/index.js';

const data = (name: string) => new URL(`../test/fixtures/${name}`, import.meta.url).pathname;
const train = await loadTextExamples(data('banking77-4class-train.jsonl'));
const test = await loadTextExamples(data('banking77-4class-test.jsonl'));

// A starting checkpoint directory. With a real one (e.g. a Hugging Face BERT) skip this: here a
// config.json and a vocabulary of the training words stand in, and the weights start random.
const modelDir = mkdtempSync(join(tmpdir(), 'tuna-example-'));
const words = new Set(train.flatMap((e) => e.text.toLowerCase().match(/\p{L}+|\p{N}+|[^\s\p{L}\p{N}]/gu) ?? []));
writeFileSync(join(modelDir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...[...words].sort()].join('\n') + '\n');
writeFileSync(
  join(modelDir, 'config.json'),
  JSON.stringify({
    model_type: 'bert',
    vocab_size: words.size + 5,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 256,
    max_position_embeddings: 64,
  }),
);

const labels = LabelMap.fromExamples(train.map((e) => e.label as string));
const tokenizer = await AutoTokenizer.fromPretrained(modelDir);
const model = await AutoModelForSequenceClassification.fromPretrained(modelDir, { id2label: labels.toConfig().id2label, initMissingWeights: true });

const trainer = new Trainer({
  model,
  tokenizer,
  args: { outputDir: join(modelDir, 'out'), numTrainEpochs: 6, perDeviceTrainBatchSize: 16, learningRate: 1e-3, metricForBestModel: 'accuracy', progress: 'none' },
  trainDataset: textFeatures(tokenizer, train, labels, { maxLength: 32 }),
  evalDataset: textFeatures(tokenizer, test, labels, { maxLength: 32 }),
  computeMetrics: (p) => taskReport('single_label', p, labels).metrics,
});
const result = await trainer.train();
console.log(`${result.globalStep} steps, ${result.metrics.train_samples_per_second} samples/s, best checkpoint ${result.bestModelCheckpoint}`);

const { prediction } = await predictDataset(model, textFeatures(tokenizer, test, labels, { maxLength: 32 }), { batchSize: 64 });
console.log(taskReport('single_label', prediction, labels, 2).text);
await model.dispose();
