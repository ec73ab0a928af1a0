// A monitor queue worker as its own process, for the durability test: reads the Redis stream as
// one consumer and writes each batch to a SQLite store file shared with the other workers.
// Argument: JSON { url, stream, file, consumer, claimIdleMs, batchSize, holdMs? }. With holdMs,
// the first batch is half written, then held for holdMs before the rest is written (so that a
// kill in between leaves a batch partly stored and unacknowledged). Writes one JSON line per
// event to stdout: {event:'ready'}, {event:'batch', size, held}, and {event:'done', counters} after
// SIGTERM's graceful stop.
//
// Documents are labelled by a keyword in their text (`good` → positive), not by a model: the test
// checks delivery and counting, not classification.
import { RedisDocumentQueue, RedisWorker } from '../../src/monitor/queue/index.js';
import { SqliteMonitorStore } from '../../src/monitor/store/index.js';
import type { ClassifiedDocument, IncomingDocument } from '../../src/monitor/types.js';

interface WorkerArgs {
  readonly url: string;
  readonly stream: string;
  readonly file: string;
  readonly consumer: string;
  readonly claimIdleMs: number;
  readonly batchSize: number;
  readonly holdMs?: number;
}

/** The windows the durability test's store counts in. */
const WORKER_WINDOWS_MS = [60_000, 3_600_000];

/** The label a document gets in the durability test. */
function keywordLabel(doc: IncomingDocument): ClassifiedDocument {
  const positive = doc.text.includes('good');
  return {
    ...doc,
    label: positive ? 'positive' : 'negative',
    score: 1,
    scores: positive ? { positive: 1, negative: 0 } : { positive: 0, negative: 1 },
    sentiment: positive ? 1 : -1,
    entities: [],
  };
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main(args: WorkerArgs): Promise<void> {
  const queue = await RedisDocumentQueue.connect(args.url, { stream: args.stream });
  const store = new SqliteMonitorStore(args.file, { windowsMs: WORKER_WINDOWS_MS });
  let held = false;
  const worker = new RedisWorker(queue, { consumer: args.consumer, batchSize: args.batchSize, blockMs: 100, claimIdleMs: args.claimIdleMs }, async (docs) => {
    const labelled = docs.map(keywordLabel);
    if (args.holdMs !== undefined && !held) {
      held = true;
      const half = Math.floor(labelled.length / 2);
      await store.write(labelled.slice(0, half));
      emit({ event: 'batch', size: docs.length, held: true });
      await new Promise((r) => setTimeout(r, args.holdMs));
      await store.write(labelled.slice(half));
      return;
    }
    await store.write(labelled);
    emit({ event: 'batch', size: docs.length, held: false });
  });
  process.once('SIGTERM', () => void worker.stop());
  emit({ event: 'ready' });
  await worker.run();
  emit({ event: 'done', counters: worker.counters });
  await store.close();
  await queue.close();
}

if (process.argv[2]) {
  main(JSON.parse(process.argv[2]) as WorkerArgs).catch((e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
