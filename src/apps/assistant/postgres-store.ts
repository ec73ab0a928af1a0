/** The PostgreSQL conversation store (node-postgres pool), and the factory that picks a store for a `database` setting. */
import pg from 'pg';
import { AssistantError } from './errors.js';
import { redact, redactSlots } from './redact.js';
import { SqliteStore } from './sqlite-store.js';
import type { AssistantStore, FeedbackRecord, MessageRecord, NewFeedback, NewMessage, SessionContext, SessionRecord } from './store.js';

/** Whether a `database` setting is a PostgreSQL connection URL (`postgres://` or `postgresql://`) rather than a SQLite file. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(database);
}

/**
 * The store for a `database` setting: {@link PostgresStore} for a `postgres://`/`postgresql://` URL,
 * else {@link SqliteStore} on the file.
 */
export function openAssistantStore(database: string): AssistantStore {
  return isPostgresUrl(database) ? new PostgresStore(database) : new SqliteStore(database);
}

// Two processes creating the tables at once would collide in the catalogue; the lock orders them.
const SCHEMA_LOCK = 727_274_001;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS assistant_sessions (
  id TEXT PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  last_intent TEXT,
  pending_choice JSONB
);
ALTER TABLE assistant_sessions ADD COLUMN IF NOT EXISTS slots JSONB, ADD COLUMN IF NOT EXISTS pending_intent TEXT;
CREATE TABLE IF NOT EXISTS assistant_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES assistant_sessions(id),
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  text TEXT NOT NULL,
  intent TEXT,
  confidence DOUBLE PRECISION,
  source TEXT,
  action TEXT,
  model_version TEXT,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS assistant_messages_session ON assistant_messages(session_id, id);
CREATE TABLE IF NOT EXISTS assistant_feedback (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id BIGINT NOT NULL REFERENCES assistant_messages(id),
  helpful BOOLEAN NOT NULL,
  intent TEXT,
  comment TEXT,
  created_at TIMESTAMPTZ NOT NULL
);
`;

interface MessageRow {
  id: string;
  session_id: string;
  role: 'user' | 'assistant';
  text: string;
  intent: string | null;
  confidence: number | null;
  source: string | null;
  action: string | null;
  model_version: string | null;
  created_at: Date;
}

const toMessage = (r: MessageRow): MessageRecord => ({
  id: Number(r.id),
  sessionId: r.session_id,
  role: r.role,
  text: r.text,
  intent: r.intent,
  confidence: r.confidence,
  source: r.source,
  action: r.action,
  modelVersion: r.model_version,
  createdAt: r.created_at.toISOString(),
});

/** The node-postgres error codes of a server that cannot be reached or refuses the connection. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', '28P01', '28000', '3D000', '57P01', '57P03']);

/**
 * Conversations in PostgreSQL (tables `assistant_sessions`, `assistant_messages`,
 * `assistant_feedback`, created when missing); every text is redacted before it is written.
 */
export class PostgresStore implements AssistantStore {
  private readonly pool: pg.Pool;
  /** `host:port` of the server (no user, no password), for messages. */
  readonly where: string;
  private ready: Promise<void> | undefined;

  /**
   * Connects lazily: the first operation opens a connection and creates the tables.
   *
   * @param url `postgres://user[:password]@host[:port]/database`; a password can also come from `PGPASSWORD`.
   * @throws AssistantError `invalid_config` for a URL that does not parse.
   */
  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (e) {
      throw new AssistantError('invalid_config', `database: "${url.replace(/:[^:@/]*@/, ':***@')}" is not a valid PostgreSQL URL (postgres://user@host:port/database)`, {
        field: 'database',
        cause: e,
      });
    }
    this.where = `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
    this.pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
  }

  private fail(e: unknown, what: string): AssistantError {
    if (e instanceof AssistantError) return e;
    const err = e as { code?: string; message?: string };
    const cause = err.code && CONNECTION_CODES.has(err.code) ? 'cannot connect to' : 'refused an operation of';
    const message = (err.message ?? String(e)).replace(/postgres(?:ql)?:\/\/[^\s]*/gi, '(url)');
    return new AssistantError('store_error', `PostgreSQL at ${this.where} ${cause} the assistant store (${what}: ${message}); check that the server runs and the database URL`, {
      cause: e,
    });
  }

  private async query<R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[] = []): Promise<R[]> {
    this.ready ??= this.createTables();
    try {
      await this.ready;
    } catch (e) {
      this.ready = undefined;
      throw this.fail(e, 'creating the tables');
    }
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw this.fail(e, what);
    }
  }

  private async createTables(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(SCHEMA);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async session(id: string): Promise<SessionRecord> {
    const [r] = await this.query<{
      id: string;
      created_at: Date;
      updated_at: Date;
      last_intent: string | null;
      pending_choice: [string, string] | null;
      slots: Record<string, string> | null;
      pending_intent: string | null;
    }>(
      'reading a session',
      `WITH ins AS (INSERT INTO assistant_sessions (id, created_at, updated_at) VALUES ($1, now(), now()) ON CONFLICT (id) DO NOTHING RETURNING *)
       SELECT * FROM ins UNION ALL SELECT * FROM assistant_sessions WHERE id = $1 LIMIT 1`,
      [id],
    );
    // A session created at the same moment by another request is committed but not in this statement's snapshot.
    const row = r ?? (await this.query<NonNullable<typeof r>>('reading a session', 'SELECT * FROM assistant_sessions WHERE id = $1', [id]))[0];
    if (!row) throw new AssistantError('store_error', `PostgreSQL at ${this.where}: session ${id} could not be created`);
    return {
      id: row.id,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
      lastIntent: row.last_intent,
      pendingChoice: row.pending_choice,
      slots: row.slots ?? {},
      pendingIntent: row.pending_intent,
    };
  }

  async updateSession(id: string, context: SessionContext): Promise<void> {
    if (context.lastIntent !== undefined)
      await this.query('updating a session', 'UPDATE assistant_sessions SET last_intent = $1, updated_at = now() WHERE id = $2', [context.lastIntent, id]);
    if (context.pendingChoice !== undefined) {
      await this.query('updating a session', 'UPDATE assistant_sessions SET pending_choice = $1::jsonb, updated_at = now() WHERE id = $2', [
        context.pendingChoice ? JSON.stringify(context.pendingChoice) : null,
        id,
      ]);
    }
    if (context.slots !== undefined)
      await this.query('updating a session', 'UPDATE assistant_sessions SET slots = $1::jsonb, updated_at = now() WHERE id = $2', [JSON.stringify(redactSlots(context.slots)), id]);
    if (context.pendingIntent !== undefined)
      await this.query('updating a session', 'UPDATE assistant_sessions SET pending_intent = $1, updated_at = now() WHERE id = $2', [context.pendingIntent, id]);
  }

  async addMessage(m: NewMessage): Promise<MessageRecord> {
    const [r] = await this.query<MessageRow>(
      'storing a message',
      `INSERT INTO assistant_messages (session_id, role, text, intent, confidence, source, action, model_version, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp()) RETURNING *`,
      [m.sessionId, m.role, redact(m.text), m.intent ?? null, m.confidence ?? null, m.source ?? null, m.action ?? null, m.modelVersion ?? null],
    );
    return toMessage(r!);
  }

  async message(id: number): Promise<MessageRecord | undefined> {
    const [r] = await this.query<MessageRow>('reading a message', 'SELECT * FROM assistant_messages WHERE id = $1', [id]);
    return r && toMessage(r);
  }

  async messages(sessionId: string, limit?: number): Promise<MessageRecord[]> {
    const rows =
      limit === undefined
        ? await this.query<MessageRow>('reading messages', 'SELECT * FROM assistant_messages WHERE session_id = $1 ORDER BY id', [sessionId])
        : await this.query<MessageRow>('reading messages', 'SELECT * FROM (SELECT * FROM assistant_messages WHERE session_id = $1 ORDER BY id DESC LIMIT $2) last ORDER BY id', [
            sessionId,
            limit,
          ]);
    return rows.map(toMessage);
  }

  async addFeedback(f: NewFeedback): Promise<FeedbackRecord> {
    const [r] = await this.query<{ id: string }>(
      'storing feedback',
      'INSERT INTO assistant_feedback (message_id, helpful, intent, comment, created_at) VALUES ($1, $2, $3, $4, clock_timestamp()) RETURNING id',
      [f.messageId, f.helpful, f.intent ?? null, f.comment == null ? null : redact(f.comment)],
    );
    return (await this.feedback(Number(r!.id)))[0]!;
  }

  async feedback(id?: number): Promise<FeedbackRecord[]> {
    // The user message a reply answered: the latest user message of the session before it.
    const rows = await this.query<{
      id: string;
      message_id: string;
      helpful: boolean;
      intent: string | null;
      comment: string | null;
      created_at: Date;
      user_text: string | null;
      predicted_intent: string | null;
    }>(
      'reading feedback',
      `SELECT f.*, m.intent AS predicted_intent,
         (SELECT u.text FROM assistant_messages u WHERE u.session_id = m.session_id AND u.role = 'user' AND u.id < m.id ORDER BY u.id DESC LIMIT 1) AS user_text
       FROM assistant_feedback f JOIN assistant_messages m ON m.id = f.message_id ${id === undefined ? '' : 'WHERE f.id = $1'} ORDER BY f.id`,
      id === undefined ? [] : [id],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      messageId: Number(r.message_id),
      helpful: r.helpful,
      intent: r.intent,
      comment: r.comment,
      createdAt: r.created_at.toISOString(),
      userText: r.user_text,
      predictedIntent: r.predicted_intent,
    }));
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
