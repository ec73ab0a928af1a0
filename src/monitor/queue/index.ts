/** The monitor's scale-out queue: documents on a Redis stream, read by workers in a consumer group. */
export {
  DEFAULT_GROUP,
  DEFAULT_STREAM,
  type DeadLetter,
  type DocumentBatchHandler,
  documentProblem,
  parseEntryDocument,
  type QueueConsumerInfo,
  type QueueInfo,
  RedisDocumentQueue,
  type RedisQueueOptions,
  RedisWorker,
  type RedisWorkerCounters,
  type RedisWorkerOptions,
  redactRedisUrl,
} from './redis.js';
