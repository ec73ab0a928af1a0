/** `tuna serve`: the HTTP inference service with micro-batching. */
export { createServer, startServer, resolveServerOptions, type ServerOptions, type ResolvedServerOptions, type TunaServer } from './server.js';
export { ServeError, ServeConfigError, SERVE_ERROR_CODES, type ServeErrorCode, type ErrorBody } from './errors.js';
export { MicroBatcher, QueueFullError, RequestCancelledError, type BatchRunner, type BatcherObserver, type BatcherOptions } from './batcher.js';
export { ServeMetrics } from './metrics.js';
export { loadModels, parseModelSpec, type LoadedModel, type ModelInfo, type ModelSpec } from './models.js';
export { SERVE_TASKS, serveTasksOfArchitectures, type ServeTask } from './tasks.js';
