import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { delimiter, join, resolve } from 'node:path';
import { bundledModelDir, hasBundledModel } from '../../models/bundled.js';
import { pipeline } from '../../pipelines/pipeline.js';
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
const repoFile = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** A word for a POSIX shell: as it is when safe, else in single quotes. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * How to run tuna from any directory: `tuna` when the `tuna` on PATH is this installation's
 * bin/tuna.js (a global or linked install), else `node` with the absolute path of bin/tuna.js.
 */
export function tunaInvocation(env: NodeJS.ProcessEnv = process.env): string {
  const bin = repoFile('bin/tuna.js');
  let real = bin;
  try {
    real = realpathSync(bin);
  } catch {
    // keep the path as it is
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      if (realpathSync(join(dir, 'tuna')) === real) return 'tuna';
    } catch {
      // not there
    }
  }
  return `node ${shellWord(bin)}`;
}

/** Whether `dir` holds an earlier run of the demo (a spam/ham classifier), which a new demo run replaces. */
function holdsEarlierDemo(dir: string): boolean {
  try {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { id2label?: Record<string, string> };
    return JSON.stringify(Object.values(config.id2label ?? {}).sort()) === JSON.stringify(['ham', 'spam']);
  } catch {
    return false;
  }
}

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
    // Running the demo again replaces its earlier model; any other run in --output is refused.
    overwriteOutputDir: holdsEarlierDemo(o.output),
  };
  await trainCommand(train, out);

  const classifier = await pipeline('text-classification', o.output);
  try {
    out.stdout('\nunseen messages\n');
    const results = await classifier.runBatch(UNSEEN);
    results.forEach((r, i) => out.stdout(`  ${r[0]!.label.padEnd(5)} ${r[0]!.score.toFixed(3)}  ${UNSEEN[i]}\n`));
  } finally {
    await classifier.dispose();
  }
  const tuna = tunaInvocation();
  const model = shellWord(resolve(o.output));
  const zh = repoFile('test/fixtures/e2e');
  const chinese = existsSync(join(zh, 'waimai-train.csv'))
    ? '  # Chinese: fine-tune the bundled Chinese model on food-delivery reviews (waimai_10k sample)\n' +
      `  ${tuna} train --train ${shellWord(join(zh, 'waimai-train.csv'))} --test ${shellWord(join(zh, 'waimai-test.csv'))} --text-column review --output ${shellWord(resolve('tuna-demo', 'waimai'))}\n`
    : '';
  out.stdout(
    '\nnext (from any directory):\n' +
      `  ${tuna} serve --model ${model} --port 8080    # then open http://127.0.0.1:8080/ or POST /v1/classify\n` +
      `  ${tuna} predict --model ${model} --text "Cheap meds, no prescription needed!"\n` +
      `  ${tuna} eval --model ${model} --data ${shellWord(data('spam-test.csv'))}\n` +
      chinese,
  );
}
