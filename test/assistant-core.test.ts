// The assistant's pieces that need no model: configuration errors, calibration maths, the
// decision rule, redaction and the SQLite store (a real file).
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { createProgram } from '../src/cli/main.js';
import {
  SqliteStore,
  decide,
  expectedCalibrationError,
  fitTemperature,
  isPhone,
  loadConfig,
  luhnValid,
  negativeLogLikelihood,
  redact,
  softmax,
  intentCentroids,
  nearestCentroidCosine,
  topTwoIntents,
  tuneSimilarity,
  tuneThresholds,
} from '../src/apps/assistant/index.js';

const FIXTURE = new URL('./fixtures/assistant/bot.yaml', import.meta.url).pathname;
const tmp = () => tempDirSync('assistant');

test('config: the fixture loads with its defaults and its FAQ', async () => {
  const c = await loadConfig(FIXTURE);
  assert.equal(c.intents.length, 4);
  assert.equal(c.thresholds.confidence, 'auto');
  assert.deepEqual(
    c.faq.entries.map((e) => e.id),
    ['weather', 'music', 'food'],
  );
  assert.equal(c.intents.find((i) => i.name === 'lost_card')?.action, 'block_card');
  assert.match(c.model, /models\/tuna-small-en\/?$/);
});

test('config: errors name the file and the field path', async () => {
  const dir = tmp();
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const intents = (n: number) => Array.from({ length: n }, (_, i) => `  - name: i${i}\n    response: r\n    examples: [a${i}, b${i}]`).join('\n');
  await assert.rejects(
    loadConfig(write('bot.yaml', `intents:\n${intents(3)}\n  - name: i3\n    response: r\n    examples: [only one]\n`)),
    (e: { code: string; message: string }) => {
      assert.equal(e.code, 'invalid_config');
      assert.match(e.message, /^bot\.yaml: intents\[3\]\.examples: must have at least 2 items/);
      return true;
    },
  );
  await assert.rejects(
    loadConfig(write('b2.yaml', `intents:\n${intents(2)}\nthresholds:\n  confidence: 1.5\n`)),
    /b2\.yaml: thresholds\.confidence: must be a number from 0 to 1, or auto/,
  );
  await assert.rejects(loadConfig(write('b3.yaml', `intents:\n${intents(2)}\nhandof:\n  webhook: x\n`)), /b3\.yaml: handof: is not a known field/);
  await assert.rejects(
    loadConfig(
      write(
        'b4.json',
        JSON.stringify({
          intents: [
            { name: 'a', examples: ['x', 'y'] },
            { name: 'b', response: 'r', examples: ['x', 'z'] },
          ],
        }),
      ),
    ),
    /b4\.json: intents\[0\]: needs a response/,
  );
  await assert.rejects(loadConfig(write('b5.yaml', 'intents: [a\n')), /b5\.yaml, line \d+: not valid YAML/);
  await assert.rejects(loadConfig(write('b6.yaml', `intents:\n${intents(2)}\nhandoff:\n  webhook: ftp://x\n`)), /handoff\.webhook: must be an http/);
  await assert.rejects(
    loadConfig(write('b7.yaml', `intents:\n${intents(2)}\n  - name: out_of_scope\n    response: r\n    examples: [c, d]\nout_of_scope:\n  class: true\n  examples: [e, f]\n`)),
    /b7\.yaml: intents\[2\]\.name: "out_of_scope" is the name of the out-of-scope class/,
  );
  await assert.rejects(
    loadConfig(write('b8.yaml', `intents:\n${intents(2)}\nout_of_scope:\n  class: true\n  examples: [e]\n`)),
    /b8\.yaml: out_of_scope: class: true needs at least 2 distinct out-of-scope examples/,
  );
  await assert.rejects(loadConfig(write('b9.yaml', `intents:\n${intents(2)}\nout_of_scope:\n  class: yes please\n`)), /b9\.yaml: out_of_scope\.class: must be boolean/);
  const withClass = await loadConfig(write('b10.yaml', `intents:\n${intents(2)}\nout_of_scope:\n  class: true\n  examples: [e, f]\n`));
  assert.equal(withClass.outOfScopeClass, true);
  assert.equal((await loadConfig(write('b11.yaml', `intents:\n${intents(2)}\n`))).outOfScopeClass, false);
  const similar = await loadConfig(write('b12.yaml', `intents:\n${intents(2)}\nout_of_scope:\n  similarity: true\nthresholds:\n  similarity: 0.4\n`));
  assert.equal(similar.outOfScopeSimilarity, true);
  assert.equal(similar.thresholds.similarity, 0.4);
  assert.equal(withClass.outOfScopeSimilarity, false);
  assert.equal(withClass.thresholds.similarity, 'auto');
  writeFileSync(join(dir, 'held.jsonl'), '{"text": "x y", "label": "i0"}\n{"text": "z", "label": "oos"}\n{"text": "w", "label": "out_of_scope"}\n');
  const held = await loadConfig(write('b14.yaml', `intents:\n${intents(2)}\nvalidation_file: held.jsonl\n`));
  assert.deepEqual(held.validation, { intents: [{ text: 'x y', label: 'i0' }], outOfScope: ['z', 'w'] });
  writeFileSync(join(dir, 'bad-held.jsonl'), '{"text": "x y", "label": "i0"}\n{"text": "q", "label": "nope"}\n');
  await assert.rejects(
    loadConfig(write('b15.yaml', `intents:\n${intents(2)}\nvalidation_file: bad-held.jsonl\n`)),
    /b15\.yaml: validation_file: bad-held\.jsonl, line 2: the label "nope" is not one of the intents \(i0, i1\), nor oos/,
  );
  await assert.rejects(loadConfig(write('b13.yaml', `intents:\n${intents(2)}\nthresholds:\n  similarity: 2\n`)), /b13\.yaml: thresholds\.similarity/);
});

test('calibration: the fitted temperature lowers the NLL of over-confident logits, and ECE with it', () => {
  // Logits 5x too sharp for how often they are right (3 in 4).
  const logits: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < 40; i++) {
    logits.push([10, 0, 0]);
    labels.push(i % 4 === 0 ? 1 : 0);
  }
  const t = fitTemperature(logits, labels);
  assert.ok(t > 1.5, `temperature ${t}`);
  assert.ok(negativeLogLikelihood(logits, labels, t) < negativeLogLikelihood(logits, labels, 1) - 0.5);
  const ece = (temp: number) =>
    expectedCalibrationError(
      logits.map((l) => softmax(l, temp)),
      labels,
    );
  assert.ok(ece(t) < ece(1) / 2, `ECE ${ece(1)} -> ${ece(t)}`);
  // The best temperature: softmax of the top class at 0.75.
  assert.ok(Math.abs(softmax([10, 0, 0], t)[0]! - 0.75) < 0.01);
});

test('decision rule and threshold tuning with and without out-of-scope examples', () => {
  const th = { confidence: 0.6, margin: 0.2 };
  assert.equal(decide(0.9, 0.05, th), 'intent');
  assert.equal(decide(0.45, 0.4, th), 'clarify');
  assert.equal(decide(0.3, 0.2, th), 'out_of_scope');
  const inScope = Array.from({ length: 20 }, (_, i) => ({ p1: 0.7 + i * 0.01, p2: 0.1, correct: true, inScope: true }));
  const oos = Array.from({ length: 10 }, (_, i) => ({ p1: 0.3 + i * 0.02, p2: 0.2, correct: false, inScope: false }));
  const tuned = tuneThresholds([...inScope, ...oos], 0.05);
  assert.equal(tuned.method, 'out-of-scope examples');
  assert.equal(tuned.inScopeAccuracy, 1);
  assert.equal(tuned.outOfScopeRecall, 1);
  assert.ok(tuned.confidence > 0.48 && tuned.confidence <= 0.7);
  // At most 10 points of in-scope accuracy for out-of-scope recall: two in-scope messages go.
  const overlap = [
    ...Array.from({ length: 20 }, (_, i) => ({ p1: 0.5 + i * 0.01, p2: 0.1, correct: true, inScope: true })),
    ...Array.from({ length: 10 }, (_, j) => ({ p1: 0.45 + j * 0.01, p2: 0.1, correct: false, inScope: false })),
  ];
  const capped = tuneThresholds(overlap, 0.05, 0.1);
  // The rule accepts p1 >= 0.52 and refuses 0.51; the threshold lies midway between them.
  assert.ok(Math.abs(capped.confidence - 0.515) < 1e-9, `${capped.confidence}`);
  assert.ok(Math.abs(capped.inScopeAccuracy - 0.9) < 1e-9 && Math.abs(capped.outOfScopeRecall - 0.7) < 1e-9);
  const q = tuneThresholds(inScope, 0.1);
  assert.equal(q.method, 'quantile');
  assert.ok(q.inScopeAccuracy >= 0.85 && q.inScopeAccuracy < 1, `${q.inScopeAccuracy}`);
});

test('explicit out-of-scope class: it wins over the intents, and what it refuses counts for recall and against accuracy', () => {
  // Three intents and the class as the last entry.
  assert.deepEqual(topTwoIntents([0.1, 0.5, 0.15, 0.25], 3), { first: 1, second: 2, p1: 0.5, p2: 0.15, rejected: false });
  assert.equal(topTwoIntents([0.2, 0.1, 0.1, 0.6], 3).rejected, true);
  assert.equal(topTwoIntents([0.2, 0.7, 0.1], 3).rejected, false);
  // Out-of-scope messages the class catches are refused at any threshold; the rest overlap the
  // in-scope scores, so without the class recall would cost accuracy.
  const inScope = Array.from({ length: 10 }, (_, i) => ({ p1: 0.6 + i * 0.03, p2: 0.1, correct: true, inScope: true }));
  const caught = Array.from({ length: 8 }, () => ({ p1: 0.9, p2: 0.05, correct: false, inScope: false, rejected: true }));
  const missed = [{ p1: 0.5, p2: 0.1, correct: false, inScope: false }];
  const tuned = tuneThresholds([...inScope, ...caught, ...missed], 0.05, 0);
  assert.equal(tuned.inScopeAccuracy, 1);
  assert.ok(Math.abs(tuned.outOfScopeRecall - 9 / 9) < 1e-9, `${tuned.outOfScopeRecall}`);
  assert.ok(tuned.confidence > 0.5 && tuned.confidence < 0.6, `${tuned.confidence}`);
  // An in-scope message the class takes is lost whatever the thresholds: the budget allows none.
  const stolen = { p1: 0.95, p2: 0.01, correct: true, inScope: true, rejected: true };
  const strict = tuneThresholds([...inScope, stolen, ...caught, ...missed], 0.05, 0);
  assert.ok(Math.abs(strict.inScopeAccuracy - 10 / 11) < 1e-9, `${strict.inScopeAccuracy}`);
});

test('similarity rule: unit-length intent centroids, the nearest cosine, and the threshold tuned before the others', () => {
  // Two intents in 2-d: vectors of intent 0 along x (lengths do not count), intent 1 along y; label 2 (the class) is left out.
  const c = intentCentroids(
    [
      [2, 0],
      [1, 1],
      [0, 3],
      [5, 5],
    ],
    [0, 0, 1, 2],
    2,
  );
  const s = Math.SQRT1_2;
  const x = 1 + s;
  const n = Math.hypot(x, s);
  assert.deepEqual(
    Array.from(c.data).map((v) => Math.round(v * 1e6) / 1e6),
    [x / n, s / n, 0, 1].map((v) => Math.round(v * 1e6) / 1e6),
  );
  assert.ok(Math.abs(nearestCentroidCosine([0, -2], c) - -s / n) < 1e-6, 'the larger of two negative cosines');
  assert.ok(Math.abs(nearestCentroidCosine([0, 4], c) - 1) < 1e-6);

  // Validation: in-scope messages near their centroid, out-of-scope ones further away, one of each on the wrong side.
  const ex = (similarity: number, inScope: boolean, correct = inScope) => ({ p1: 0.9, p2: 0.05, correct, inScope, similarity });
  const examples = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.3].map((v) => ex(v, true)).concat([0.5, 0.45, 0.4, 0.35, 0.92].map((v) => ex(v, false)));
  // Equal weight: refusing below 0.55 loses one in-scope message (0.3) and catches 4 of 5 (1.7, the
  // best sum); the threshold goes midway to the next lower value, 0.5.
  const t = tuneSimilarity(examples, 0.05);
  assert.ok(Math.abs(t - 0.525) < 1e-9, `${t}`);
  // No accuracy to give: every in-scope message stays, so the threshold sits under the lowest (0.3).
  assert.ok(tuneSimilarity(examples, 0.05, 0) <= 0.3);
  // Without out-of-scope examples: the quantile of the right answers' cosines.
  assert.ok(
    Math.abs(
      tuneSimilarity(
        examples.filter((e) => e.inScope),
        0.5,
      ) - 0.675,
    ) < 0.051,
  );
});

test('redaction: e-mails, Luhn-valid cards and phones go; order numbers, dates, amounts and references stay', () => {
  assert.ok(luhnValid('4111111111111111'));
  assert.ok(!luhnValid('4111111111111112'));
  const cases: [string, string][] = [
    ['write to jane.doe+shop@example.co.uk, thanks', 'write to [EMAIL], thanks'],
    ['my card 4111 1111 1111 1111 expired', 'my card [CARD] expired'],
    ['card number 5500-0055-5555-5559.', 'card number [CARD].'],
    ['call me on +44 20 7946 0958 after 5', 'call me on [PHONE] after 5'],
    ['or (555) 123-4567 or 555.123.4567', 'or [PHONE] or [PHONE]'],
    ['mobile 07700 900123', 'mobile [PHONE]'],
    // Not personal data: a 16-digit order number that fails Luhn, a 13-digit one, a reference in
    // groups of four, a date, an amount, a ten-digit order number without separators.
    ['order 4111111111111112 has not arrived', 'order 4111111111111112 has not arrived'],
    ['my order number is 1234567890123', 'my order number is 1234567890123'],
    ['reference 1234-5678-9012', 'reference 1234-5678-9012'],
    ['on 2024-05-01 I paid 1,234.56 euros for order #A-123456789', 'on 2024-05-01 I paid 1,234.56 euros for order #A-123456789'],
    ['order 5551234567 is late', 'order 5551234567 is late'],
  ];
  for (const [input, expected] of cases) assert.equal(redact(input), expected, input);
  assert.ok(!isPhone('2024-05-01'));
});

test('SQLite store: sessions, redacted messages, feedback joined to the user message, in a real file', async () => {
  const file = join(tmp(), 'sub', 'conv.db');
  const store = new SqliteStore(file);
  const s = await store.session('s1');
  assert.equal(s.lastIntent, null);
  await store.addMessage({ sessionId: 's1', role: 'user', text: 'my card 4111 1111 1111 1111 is lost, mail me at a.b@example.com', intent: 'lost_card', confidence: 0.9 });
  const reply = await store.addMessage({
    sessionId: 's1',
    role: 'assistant',
    text: 'I have blocked your card.',
    intent: 'lost_card',
    confidence: 0.9,
    action: 'block_card',
    modelVersion: '1',
  });
  await store.updateSession('s1', { lastIntent: 'lost_card', pendingChoice: ['a', 'b'] });
  const f = await store.addFeedback({ messageId: reply.id, helpful: false, intent: 'report_fraud', comment: 'call +1 555 123 4567' });
  assert.equal(f.userText, 'my card [CARD] is lost, mail me at [EMAIL]');
  assert.equal(f.predictedIntent, 'lost_card');
  assert.equal(f.comment, 'call [PHONE]');
  assert.deepEqual((await store.session('s1')).pendingChoice, ['a', 'b']);
  assert.equal((await store.messages('s1', 1))[0]!.id, reply.id);
  await store.close();
  // What is on disk, read with another connection.
  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT role, text, intent, action, model_version FROM messages ORDER BY id').all() as Record<string, unknown>[];
  assert.equal(rows.length, 2);
  assert.doesNotMatch(JSON.stringify(rows), /4111|example\.com/);
  assert.deepEqual(rows[1], { role: 'assistant', text: 'I have blocked your card.', intent: 'lost_card', action: 'block_card', model_version: '1' });
  assert.equal((db.prepare('SELECT last_intent FROM sessions').get() as { last_intent: string }).last_intent, 'lost_card');
  db.close();
});

test('tuna assistant init writes an example bot whose configuration loads, and refuses to overwrite it', async () => {
  const dir = tmp();
  let stdout = '';
  const run = (args: string[]) => createProgram({ stdout: (s: string) => void (stdout += s), stderr: () => {} }).parseAsync(['node', 'tuna', 'assistant', ...args]);
  await run(['init', dir]);
  assert.match(stdout, /tuna assistant train --config/);
  const c = await loadConfig(join(dir, 'bot.yaml'));
  assert.equal(c.intents.length, 5);
  assert.equal(c.faq.entries.length, 6);
  assert.ok(c.outOfScope.length >= 10);
  assert.equal(c.database, join(dir, 'conversations.db'));
  await assert.rejects(run(['init', dir]), (e: { code: string }) => e.code === 'output_exists');
});
