/** The SQLite conversation store (better-sqlite3; WAL journal, one file). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AssistantError } from './errors.js';
import { redact, redactSlots } from './redact.js';
import type { AssistantStore, FeedbackRecord, MessageRecord, NewFeedback, NewMessage, SessionContext, SessionRecord } from './store.js';

/** The schema version this store writes (`PRAGMA user_version`). */
export const SQLITE_SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_intent TEXT,
  pending_choice TEXT,
  slots TEXT,
  pending_intent TEXT
);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  text TEXT NOT NULL,
  intent TEXT,
  confidence REAL,
  source TEXT,
  action TEXT,
  model_version TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id, id);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
  intent TEXT,
  comment TEXT,
  created_at TEXT NOT NULL
);
`;

interface MessageRow {
  id: number;
  session_id: string;
  role: 'user' | 'assistant';
  text: string;
  intent: string | null;
  confidence: number | null;
  source: string | null;
  action: string | null;
  model_version: string | null;
  created_at: string;
}

const toMessage = (r: MessageRow): MessageRecord => ({
  id: r.id,
  sessionId: r.session_id,
  role: r.role,
  text: r.text,
  intent: r.intent,
  confidence: r.confidence,
  source: r.source,
  action: r.action,
  modelVersion: r.model_version,
  createdAt: r.created_at,
});

/** Conversations in one SQLite file; every text is redacted before it is written. */
export class SqliteStore implements AssistantStore {
  private readonly db: Database.Database;

  /**
   * Opens (or creates, with its directory) the database file; `:memory:` for a store that lives in memory.
   *
   * @throws AssistantError `file_system` when the file cannot be opened, `invalid_data` for a database of a newer schema.
   */
  constructor(readonly file: string) {
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file);
    } catch (e) {
      throw new AssistantError('file_system', `${file}: cannot open the SQLite database (${(e as Error).message})`, { file, cause: e });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      this.db.close();
      throw new AssistantError('invalid_data', `${file}: the database has schema version ${version}, newer than this tuna's ${SQLITE_SCHEMA_VERSION}; upgrade tuna`, { file });
    }
    // Version 1 (before slots): the sessions table gains its two slot columns.
    const hasSessions = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").get() !== undefined;
    if (hasSessions && version < 2) {
      this.db.transaction(() => {
        const columns = (this.db.prepare('PRAGMA table_info(sessions)').all() as { name: string }[]).map((c) => c.name);
        if (!columns.includes('slots')) this.db.exec('ALTER TABLE sessions ADD COLUMN slots TEXT');
        if (!columns.includes('pending_intent')) this.db.exec('ALTER TABLE sessions ADD COLUMN pending_intent TEXT');
      })();
    }
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }

  async session(id: string): Promise<SessionRecord> {
    const now = new Date().toISOString();
    this.db.prepare('INSERT INTO sessions (id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING').run(id, now, now);
    const r = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as {
      id: string;
      created_at: string;
      updated_at: string;
      last_intent: string | null;
      pending_choice: string | null;
      slots: string | null;
      pending_intent: string | null;
    };
    return {
      id: r.id,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      lastIntent: r.last_intent,
      pendingChoice: r.pending_choice ? (JSON.parse(r.pending_choice) as [string, string]) : null,
      slots: r.slots ? (JSON.parse(r.slots) as Record<string, string>) : {},
      pendingIntent: r.pending_intent,
    };
  }

  async updateSession(id: string, context: SessionContext): Promise<void> {
    const now = new Date().toISOString();
    if (context.lastIntent !== undefined) this.db.prepare('UPDATE sessions SET last_intent = ?, updated_at = ? WHERE id = ?').run(context.lastIntent, now, id);
    if (context.pendingChoice !== undefined) {
      this.db.prepare('UPDATE sessions SET pending_choice = ?, updated_at = ? WHERE id = ?').run(context.pendingChoice ? JSON.stringify(context.pendingChoice) : null, now, id);
    }
    if (context.slots !== undefined) this.db.prepare('UPDATE sessions SET slots = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(redactSlots(context.slots)), now, id);
    if (context.pendingIntent !== undefined) this.db.prepare('UPDATE sessions SET pending_intent = ?, updated_at = ? WHERE id = ?').run(context.pendingIntent, now, id);
  }

  async addMessage(m: NewMessage): Promise<MessageRecord> {
    const now = new Date().toISOString();
    const info = this.db
      .prepare('INSERT INTO messages (session_id, role, text, intent, confidence, source, action, model_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.sessionId, m.role, redact(m.text), m.intent ?? null, m.confidence ?? null, m.source ?? null, m.action ?? null, m.modelVersion ?? null, now);
    return (await this.message(Number(info.lastInsertRowid)))!;
  }

  async message(id: number): Promise<MessageRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
    return r && toMessage(r);
  }

  async messages(sessionId: string, limit?: number): Promise<MessageRecord[]> {
    const rows =
      limit === undefined
        ? (this.db.prepare('SELECT * FROM messages WHERE session_id = ? ORDER BY id').all(sessionId) as MessageRow[])
        : (this.db.prepare('SELECT * FROM (SELECT * FROM messages WHERE session_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id').all(sessionId, limit) as MessageRow[]);
    return rows.map(toMessage);
  }

  async addFeedback(f: NewFeedback): Promise<FeedbackRecord> {
    const info = this.db
      .prepare('INSERT INTO feedback (message_id, helpful, intent, comment, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(f.messageId, f.helpful ? 1 : 0, f.intent ?? null, f.comment == null ? null : redact(f.comment), new Date().toISOString());
    return (await this.feedback(Number(info.lastInsertRowid)))[0]!;
  }

  async feedback(id?: number): Promise<FeedbackRecord[]> {
    // The user message a reply answered: the latest user message of the session before it.
    const rows = this.db
      .prepare(
        `SELECT f.*, m.intent AS predicted_intent,
           (SELECT u.text FROM messages u WHERE u.session_id = m.session_id AND u.role = 'user' AND u.id < m.id ORDER BY u.id DESC LIMIT 1) AS user_text
         FROM feedback f JOIN messages m ON m.id = f.message_id ${id === undefined ? '' : 'WHERE f.id = ?'} ORDER BY f.id`,
      )
      .all(...(id === undefined ? [] : [id])) as {
      id: number;
      message_id: number;
      helpful: number;
      intent: string | null;
      comment: string | null;
      created_at: string;
      user_text: string | null;
      predicted_intent: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      messageId: r.message_id,
      helpful: r.helpful === 1,
      intent: r.intent,
      comment: r.comment,
      createdAt: r.created_at,
      userText: r.user_text,
      predictedIntent: r.predicted_intent,
    }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
