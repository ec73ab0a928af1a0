// Does pre-training help? Fine-tunes on 200 labelled examples twice with the same recipe: from the
// bundled model, and from the same architecture and vocabulary with random weights; reports held-out
// accuracy and macro F1 for several seeds. Used for the figures in docs/bundled-models.md.
//
//   node --import tsx tools/pretraining-gain.ts en ../shared/datasets/sst2/train_full.tsv sentence
//   node --import tsx tools/pretraining-gain.ts zh ../shared/datasets/waimai10k/waimai_10k.csv review
//
// Options: --seeds 1,2,3  --lrs 3e-4 (several rates give one comparison per rate)  --model DIR (default: the bundled one)
//          --test FILE: score this file (same columns) instead of the 1,000 held-out rows, e.g. SST-2's dev.tsv
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LabelMap, loadTextExamples, shuffle, stratifiedSplit, textFeatures } from '../src/data/index.js';
import { AutoModelForSequenceClassification, AutoTokenizer } from '../src/models/auto.js';
import { type BundledLanguage, bundledModelDir } from '../src/models/bundled.js';
import { metricsFor, taskReport } from '../src/tasks/reports.js';
import { predictDataset } from '../src/train/evaluate.js';
import { Trainer } from '../src/train/trainer.js';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { seeds: { type: 'string', default: '1,2,3' }, lrs: { type: 'string', default: '3e-4' }, model: { type: 'string' }, test: { type: 'string' } },
});
const [lang, file, textColumn = 'text', labelColumn = 'label'] = positionals as [BundledLanguage, string, string?, string?];
const seeds = opts.seeds.split(',').map(Number);
const rates = opts.lrs.split(',').map(Number);
const all = shuffle(await loadTextExamples(file, { columns: { text: textColumn, label: labelColumn } }), 7);
const test = opts.test ? await loadTextExamples(opts.test, { columns: { text: textColumn, label: labelColumn } }) : all.slice(0, 1000);
const pool = all.slice(1000);
const bundled = opts.model ?? bundledModelDir(lang);
const work = mkdtempSync(join(tmpdir(), 'tuna-gain-'));
// The same architecture and vocabulary without the weights: weights start random.
const scratch = join(work, 'scratch');
cpSync(bundled, scratch, { recursive: true });
rmSync(join(scratch, 'model.safetensors'));
const tokenizer = await AutoTokenizer.fromPretrained(bundled);

const rows: string[] = [];
for (const seed of seeds) {
  const train = stratifiedSplit(shuffle(pool, seed).slice(0, 2000), (e) => String(e.label), 0.9, seed).train.slice(0, 200);
  const labels = LabelMap.fromExamples(train.map((e) => e.label as string));
  const trainF = textFeatures(tokenizer, train, labels, { maxLength: 128 });
  const testF = textFeatures(
    tokenizer,
    test.filter((e) => labels.has(e.label as string)),
    labels,
    { maxLength: 128 },
  );
  for (const lr of rates)
    for (const [name, dir] of [
      ['pre-trained', bundled],
      ['random init', scratch],
    ] as const) {
      // The scratch copy has no weights: every parameter starts from the seed.
      const model = await AutoModelForSequenceClassification.fromPretrained(dir, { id2label: labels.toConfig().id2label, seed, initMissingWeights: dir === scratch });
      const trainer = new Trainer({
        model,
        args: {
          outputDir: join(work, `${name}-${seed}`),
          numTrainEpochs: 10,
          perDeviceTrainBatchSize: 16,
          learningRate: lr,
          warmupRatio: 0.1,
          weightDecay: 0.01,
          seed,
          evalStrategy: 'no',
          saveStrategy: 'no',
          progress: 'none',
        },
        trainDataset: trainF,
        computeMetrics: metricsFor('single_label', labels),
      });
      await trainer.train();
      const { prediction } = await predictDataset(model, testF, { batchSize: 64 });
      const m = taskReport('single_label', prediction, labels).metrics;
      rows.push(`${lang}\t${name}\tlr ${lr}\tseed ${seed}\taccuracy ${m.accuracy!.toFixed(4)}\tmacro F1 ${m.f1!.toFixed(4)}`);
      console.log(rows.at(-1));
      await model.dispose();
    }
}
rmSync(work, { recursive: true, force: true });
