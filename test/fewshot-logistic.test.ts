// The SetFit head against scikit-learn's LogisticRegression (lbfgs, L2) on the same fixed
// embeddings (tools/make-fewshot-fixtures.py): probabilities within 1e-4.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fitLogistic, logisticProbabilities } from '../src/fewshot/logistic.js';

const E = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'fewshot', 'logistic.json'), 'utf8'));

for (const name of ['multinomial', 'multinomial_c', 'binary']) {
  test(`logistic head equals scikit-learn (${name})`, async (t) => {
    const c = E[name];
    const classes = Math.max(...c.y) + 1;
    const head = await fitLogistic(c.X, c.y, classes, { C: c.C });
    let worst = 0;
    c.X.forEach((x: number[], i: number) => {
      logisticProbabilities(head, x).forEach((p, k) => {
        worst = Math.max(worst, Math.abs(p - c.probabilities[i][k]));
      });
    });
    assert.ok(worst < 1e-4, `largest probability difference ${worst}`);
    t.diagnostic(`largest probability difference ${worst.toExponential(2)}`);
    head.coef.flat().forEach((w, q) => assert.ok(Math.abs(w - c.coef.flat()[q]) < 1e-3, `coef ${q}: ${w} vs ${c.coef.flat()[q]}`));
  });
}
