import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readTextExamples } from '../src/data/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('readTextExamples streams a 200k-line CSV with bounded memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tuna-stream-'));
  const file = join(dir, 'big.csv');
  try {
    const labels = ['card_arrival', 'exchange_rate', 'pin_blocked', 'top_up_failed'];
    const block: string[] = [];
    const parts: string[] = ['text,label\n'];
    for (let i = 0; i < 200_000; i++) {
      block.push(`"example ${i}, with ""quotes""",${labels[i % 4]}\n`);
      if (block.length === 10_000) parts.push(block.splice(0).join(''));
    }
    writeFileSync(file, parts.join(''));
    parts.length = 0;
    const size = statSync(file).size;
    assert.ok(size > 8e6, `${size} bytes`);

    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let retained = 0;
    let n = 0;
    let chars = 0;
    for await (const e of readTextExamples(file)) {
      n++;
      chars += e.text.length;
      if (n % 2000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      if (n % 40_000 === 0) {
        gc();
        retained = Math.max(retained, process.memoryUsage().heapUsed - base);
      }
    }
    assert.equal(n, 200_000);
    assert.ok(chars > 5e6);
    // Garbage comes and goes; what stays must be far less than the file: holding its text would
    // keep 8+ MB, holding the examples read so far 15+ MB.
    assert.ok(retained < 6e6, `${(retained / 1e6).toFixed(1)} MB of the heap stayed in use while reading`);
    assert.ok(peak < 50e6, `heap grew by ${(peak / 1e6).toFixed(1)} MB while reading`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
