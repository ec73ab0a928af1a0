/**
 * Fitting the SetFit head (L2 logistic regression, L-BFGS): seconds for a problem of CLINC150's
 * size at K=16 (2,400 embeddings of 256 dimensions, 150 classes) and a binary one (64 x 256), on
 * synthetic clustered embeddings (seeded).
 *
 *   npm run bench:logistic-head [-- --examples 2400 --dimension 256 --classes 150 --threads 1]
 */
import { parseArgs } from 'node:util';
import { fitLogistic } from '../src/fewshot/logistic.js';
import { Rng } from '../src/nn/parameters.js';

const { values: args } = parseArgs({
  options: {
    examples: { type: 'string', default: '2400' },
    dimension: { type: 'string', default: '256' },
    classes: { type: 'string', default: '150' },
    threads: { type: 'string', default: '1' },
  },
});

function problem(N: number, D: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: D }, () => rng.normal()));
  const y = Array.from({ length: N }, (_, i) => i % classes);
  const X = y.map((k) => centres[k]!.map((c) => 0.3 * c + rng.normal()));
  return { X, y };
}

for (const [N, D, classes] of [
  [Number(args.examples), Number(args.dimension), Number(args.classes)],
  [64, Number(args.dimension), 2],
] as const) {
  const { X, y } = problem(N, D, classes, 7);
  const t0 = performance.now();
  const head = await fitLogistic(X, y, classes, { threads: Number(args.threads) });
  const seconds = (performance.now() - t0) / 1000;
  const correct = X.filter((x, i) => {
    const z = head.coef.map((row, k) => row.reduce((s, w, j) => s + w * x[j]!, head.intercept[k]!));
    return (classes === 2 ? (z[0]! > 0 ? 1 : 0) : z.indexOf(Math.max(...z))) === y[i];
  }).length;
  console.log(`${N} x ${D}, ${classes} classes: ${seconds.toFixed(2)} s, training accuracy ${((100 * correct) / N).toFixed(1)}%`);
}
