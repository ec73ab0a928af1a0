/** Prometheus metrics of a server (prom-client), in a registry of its own. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatcherObserver } from './batcher.js';

/** The metrics one server records. */
export class ServeMetrics {
  /** The registry `GET /metrics` exposes: these metrics plus Node.js process metrics. */
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly duration: Histogram<'route' | 'method' | 'status'>;
  readonly inFlight: Gauge<'route'>;
  readonly batchSize: Histogram<'model' | 'task'>;
  readonly batchRequests: Histogram<'model' | 'task'>;
  readonly batchDuration: Histogram<'model' | 'task'>;
  readonly queueDepth: Gauge<'model'>;
  readonly cancelled: Counter<'model' | 'task'>;

  constructor(opts: { maxBatchSize: number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'tuna_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'tuna_http_request_duration_seconds',
      help: 'Time from request received to response sent, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.inFlight = new Gauge({ name: 'tuna_http_requests_in_flight', help: 'Inference requests received and not yet answered, by route', labelNames: ['route'], registers });
    const sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256].filter((b) => b < opts.maxBatchSize);
    this.batchSize = new Histogram({ name: 'tuna_batch_size', help: 'Inputs per model run', labelNames: ['model', 'task'], buckets: [...sizes, opts.maxBatchSize], registers });
    this.batchRequests = new Histogram({
      name: 'tuna_batch_requests',
      help: 'Requests grouped into one model run',
      labelNames: ['model', 'task'],
      buckets: [...sizes, opts.maxBatchSize],
      registers,
    });
    this.batchDuration = new Histogram({
      name: 'tuna_batch_duration_seconds',
      help: 'Time of one model run (tokenization, ONNX Runtime, post-processing)',
      labelNames: ['model', 'task'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'tuna_queue_depth', help: 'Inputs waiting for a model run, by model', labelNames: ['model'], registers });
    this.cancelled = new Counter({
      name: 'tuna_requests_cancelled_total',
      help: 'Queued requests dropped because the client disconnected',
      labelNames: ['model', 'task'],
      registers,
    });
  }

  /** Hooks for the batcher. */
  observer(): BatcherObserver {
    return {
      batch: (model, task, size, requests, seconds) => {
        this.batchSize.observe({ model, task }, size);
        this.batchRequests.observe({ model, task }, requests);
        this.batchDuration.observe({ model, task }, seconds);
      },
      queueDepth: (model, depth) => this.queueDepth.set({ model }, depth),
      cancelled: (model, task) => this.cancelled.inc({ model, task }),
    };
  }
}
