// MicroBatcher on its own: grouping by key, batch-size limits, the wait, failures routed to the
// request at fault, cancellation of queued requests, and drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroBatcher, QueueFullError, RequestCancelledError } from '../src/index.js';

/** A runner that records its batches and answers each input with `f(input)` after `ms`. */
function recorder(ms = 5, f: (x: unknown) => unknown = (x) => `r:${String(x)}`) {
  const batches: unknown[][] = [];
  let running = 0;
  let overlapped = false;
  const run = async (inputs: readonly unknown[]) => {
    batches.push([...inputs]);
    if (++running > 1) overlapped = true;
    await new Promise((r) => setTimeout(r, ms));
    running--;
    return inputs.map(f);
  };
  return { run, batches, overlapped: () => overlapped };
}

test('requests of one group arriving together share a batch; each gets its own results', async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 20 });
  const r = recorder();
  const answers = await Promise.all([['a'], ['b', 'c'], ['d']].map((xs) => b.submit('m', 't', 'k', r.run, xs)));
  assert.deepEqual(answers, [['r:a'], ['r:b', 'r:c'], ['r:d']]);
  assert.deepEqual(r.batches, [['a', 'b', 'c', 'd']]);
});

// A wait longer than any test run: requests answered at all were not kept waiting for it (the
// timeout only stops a hang). bench/batcher.ts measures how soon they are answered.
const FOREVER_MS = 2 ** 31 - 1;

test('a full batch runs at once; batches never exceed the limit; one model runs one batch at a time', { timeout: 60_000 }, async () => {
  const b = new MicroBatcher({ maxBatchSize: 3, maxWaitMs: FOREVER_MS });
  const r = recorder();
  // Full batches do not wait.
  const answers = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((x) => b.submit('m', 't', 'k', r.run, [x])));
  assert.deepEqual(answers.flat(), ['r:a', 'r:b', 'r:c', 'r:d', 'r:e', 'r:f']);
  assert.deepEqual(r.batches, [
    ['a', 'b', 'c'],
    ['d', 'e', 'f'],
  ]);
  assert.equal(r.overlapped(), false);
  // A single request larger than the limit runs alone.
  const big = await b.submit('m', 't', 'k', r.run, ['1', '2', '3', '4', '5']);
  assert.equal(big.length, 5);
});

test('different options (keys) and tasks never share a batch', async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 10 });
  const r = recorder();
  await Promise.all([
    b.submit('m', 't', 'k1', r.run, ['a']),
    b.submit('m', 't', 'k2', r.run, ['b']),
    b.submit('m', 'u', 'k1', r.run, ['c']),
    b.submit('m', 't', 'k1', r.run, ['d']),
  ]);
  assert.deepEqual(r.batches.map((x) => x.join('')).sort(), ['ad', 'b', 'c']);
});

test('maxWaitMs 0: an idle model runs a request at once; requests arriving meanwhile form the next batch', async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 0 });
  const r = recorder(30);
  const first = b.submit('m', 't', 'k', r.run, ['a']);
  await new Promise((res) => setTimeout(res, 5));
  const rest = ['b', 'c', 'd'].map((x) => b.submit('m', 't', 'k', r.run, [x]));
  await Promise.all([first, ...rest]);
  assert.deepEqual(r.batches, [['a'], ['b', 'c', 'd']]);
});

test('maxBatchSize 1: every input runs alone', async () => {
  const b = new MicroBatcher({ maxBatchSize: 1, maxWaitMs: 50 });
  const r = recorder(1);
  await Promise.all(['a', 'b', 'c'].map((x) => b.submit('m', 't', 'k', r.run, [x])));
  assert.deepEqual(r.batches, [['a'], ['b'], ['c']]);
});

test('a failing batch is rerun request by request: only the request at fault fails', async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 20 });
  const r = recorder(1, (x) => {
    if (x === 'bad') throw new Error('bad input');
    return x;
  });
  const settled = await Promise.allSettled([['a'], ['bad'], ['c', 'd']].map((xs) => b.submit('m', 't', 'k', r.run, xs)));
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal((settled[1] as PromiseRejectedResult).reason.message, 'bad input');
  assert.deepEqual((settled[2] as PromiseFulfilledResult<unknown[]>).value, ['c', 'd']);
});

test('an aborted request leaves the queue; drain runs what is queued without waiting', { timeout: 60_000 }, async () => {
  const cancelled: string[] = [];
  const depths: number[] = [];
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: FOREVER_MS, observer: { cancelled: (m, t) => cancelled.push(`${m}/${t}`), queueDepth: (_m, d) => depths.push(d) } });
  const r = recorder(1);
  const gone = new AbortController();
  const dropped = b.submit('m', 't', 'k', r.run, ['x'], gone.signal);
  const kept = b.submit('m', 't', 'k', r.run, ['y']);
  assert.equal(b.queueDepth('m'), 2);
  gone.abort();
  await assert.rejects(dropped, RequestCancelledError);
  assert.equal(b.queueDepth('m'), 1);
  assert.deepEqual(cancelled, ['m/t']);
  await b.drain();
  assert.deepEqual(await kept, ['r:y']);
  assert.deepEqual(r.batches, [['y']]);
  assert.deepEqual(depths, [1, 2, 1, 0]);
  await assert.rejects(b.submit('m', 't', 'k', r.run, ['z'], AbortSignal.abort()), RequestCancelledError);
});

test('maxQueuedInputs: a request that would overfill the queue is refused at once; a large one is taken when nothing waits', async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 60000, maxQueuedInputs: 3 });
  const r = recorder(1);
  const first = b.submit('m', 't', 'k', r.run, ['a']);
  const second = b.submit('m', 't', 'k', r.run, ['b']);
  await assert.rejects(b.submit('m', 't', 'k', r.run, ['c', 'd']), QueueFullError);
  const third = b.submit('m', 't', 'k', r.run, ['c']);
  assert.equal(b.queueDepth('m'), 3);
  await assert.rejects(b.submit('m', 't', 'other-options', r.run, ['e']), QueueFullError, 'the limit is per model, across option groups');
  const large = b.submit('n', 't', 'k', r.run, ['w', 'x', 'y', 'z']);
  assert.equal(b.queueDepth('n'), 4);
  await b.drain();
  assert.deepEqual(await Promise.all([first, second, third, large]), [['r:a'], ['r:b'], ['r:c'], ['r:w', 'r:x', 'r:y', 'r:z']]);
  assert.throws(() => new MicroBatcher({ maxBatchSize: 2, maxWaitMs: 0, maxQueuedInputs: 0 }), RangeError);
});
