/** Opening the store a configuration names. */
import type { MonitorStore } from '../types.js';
import { PostgresMonitorStore } from './postgres.js';
import { SqliteMonitorStore } from './sqlite.js';

/** Options of {@link openMonitorStore}. */
export interface OpenStoreOptions {
  /**
   * The window lengths (milliseconds) every document is counted in. A length the database did not
   * count yet is counted for the documents stored before (at opening); the lengths it counted
   * already stay counted, also when not given here.
   */
  readonly windowsMs: readonly number[];
  /** PostgreSQL pool size (default 4). */
  readonly poolSize?: number;
}

/** Whether `database` is a PostgreSQL URL rather than an SQLite file path. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

/**
 * The store `database` names: a `postgres://` or `postgresql://` URL connects to PostgreSQL,
 * anything else is an SQLite file path (`:memory:` for one that lives in memory).
 */
export async function openMonitorStore(database: string, options: OpenStoreOptions): Promise<MonitorStore> {
  if (isPostgresUrl(database)) return PostgresMonitorStore.connect(database, options);
  return new SqliteMonitorStore(database, options);
}
