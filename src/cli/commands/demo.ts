import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bundledModelDir, hasBundledModel } from '../../models/bundled.js';
import { BertPredictor } from '../../models/bert/predictor.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { integer } from './options.js';
import { type TrainOptions, trainCommand } from './train.js';

/** Options of `tuna demo`. */
export interface DemoOptions {
  readonly output: string;
  readonly epochs: string;
  readonly maxSteps?: string;
  readonly progress: string;
}

const data = (name: string) => fileURLToPath(new URL(`../../../examples/data/${name}`, import.meta.url));

/** Messages the model has not seen, to show predictions on. */
const UNSEEN = [
  'Re: meeting notes | Thanks, I pushed the fix to the branch. Can you review it before Friday?',
  'WINNER!! | You have been selected to receive a FREE $500 gift card. Click here now to claim your prize!!!',
  'Lowest mortgage rates in 40 years | Refinance today, no obligation, 100% free quote. Act now!',
  'Re: kernel build fails on ARM | The patch from yesterday fixes it for me; the config option was missing.',
];

/**
 * `tuna demo`: fine-tunes the bundled English model to tell spam from ham (a SpamAssassin sample
 * shipped in examples/data), prints the classification report on held-out messages, predicts a
 * few unseen ones and shows what to run next.
 */
export async function demoCommand(o: DemoOptions, out: Output): Promise<void> {
  if (!hasBundledModel('en')) {
    throw new CliError('usage', `the bundled English model is missing (${bundledModelDir('en')}); the demo needs a full checkout of tuna`);
  }
  const epochs = String(integer('--epochs', o.epochs, 1));
  out.stdout(
    'tuna demo: fine-tuning the bundled English model (tuna-small-en, pre-trained by tuna on the Brown corpus)\n' +
      'to tell spam from ham on 1,200 SpamAssassin messages, then testing it on 300 others.\n\n',
  );
  const train: TrainOptions = {
    task: 'text-classification',
    train: data('spam-train.csv'),
    test: data('spam-test.csv'),
    output: o.output,
    validationSplit: '0.1',
    epochs,
    maxSteps: o.maxSteps,
    batchSize: '32',
    lr: '3e-4',
    maxLength: '128',
    warmupRatio: '0.1',
    weightDecay: '0.01',
    maxGradNorm: '1',
    lrSchedulerType: 'linear',
    gradientAccumulationSteps: '1',
    saveTotalLimit: '1',
    seed: '42',
    progress: o.progress,
    metricForBestModel: 'f1',
  };
  await trainCommand(train, out);

  const predictor = await BertPredictor.fromPretrained(o.output);
  try {
    out.stdout('\nunseen messages\n');
    for (const p of await predictor.classify(UNSEEN)) out.stdout(`  ${p.label.padEnd(5)} ${p.score.toFixed(3)}  ${p.text}\n`);
  } finally {
    await predictor.release();
  }
  const zh = join('test', 'fixtures', 'e2e');
  out.stdout(
    '\nnext:\n' +
      `  npx tuna serve --model ${o.output} --port 8080    # then open http://127.0.0.1:8080/ or POST /v1/classify\n` +
      `  npx tuna predict --model ${o.output} --text "Cheap meds, no prescription needed!"\n` +
      `  npx tuna eval --model ${o.output} --data examples/data/spam-test.csv\n` +
      '  # Chinese: fine-tune the bundled Chinese model on food-delivery reviews (waimai_10k sample)\n' +
      `  npx tuna train --train ${zh}/waimai-train.csv --test ${zh}/waimai-test.csv --text-column review --output tuna-demo/waimai\n`,
  );
}
