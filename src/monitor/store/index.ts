/** The monitor's stores: SQLite (one file, embedded) and PostgreSQL (several workers). */
export { type SqliteStoreOptions, SqliteMonitorStore } from './sqlite.js';
