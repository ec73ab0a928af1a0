/** The monitor's stores: SQLite (one file, embedded) and PostgreSQL (several workers). */
export { isPostgresUrl, type OpenStoreOptions, openMonitorStore } from './open.js';
export { PostgresMonitorStore, type PostgresStoreOptions } from './postgres.js';
export { type SqliteStoreOptions, SqliteMonitorStore } from './sqlite.js';
