/**
 * Where the assistant keeps conversations: sessions (with their context), messages (with the
 * intent, confidence, source and action of each reply) and feedback. Implementations redact
 * personal data (see redact.ts) from every text before it is stored.
 */

/** A conversation. */
export interface SessionRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The intent of the last message answered directly. */
  readonly lastIntent: string | null;
  /** The two intents of a pending clarification question, if the last reply asked one. */
  readonly pendingChoice: readonly [string, string] | null;
  /** Slot values filled so far (redacted). */
  readonly slots: Readonly<Record<string, string>>;
  /** The intent waiting for a slot the last reply asked for. */
  readonly pendingIntent: string | null;
}

/** What {@link AssistantStore.updateSession} sets (fields left out keep their values). */
export interface SessionContext {
  readonly lastIntent?: string | null;
  readonly pendingChoice?: readonly [string, string] | null;
  /** Replaces the slot values (stored redacted). */
  readonly slots?: Readonly<Record<string, string>>;
  readonly pendingIntent?: string | null;
}

/** Who wrote a message. */
export type Role = 'user' | 'assistant';

/** What a message is stored with. */
export interface NewMessage {
  readonly sessionId: string;
  readonly role: Role;
  readonly text: string;
  readonly intent?: string | null;
  readonly confidence?: number | null;
  /** The FAQ entry a reply comes from (its id). */
  readonly source?: string | null;
  readonly action?: string | null;
  /** The model version that produced the reply. */
  readonly modelVersion?: string | null;
}

/** A stored message. */
export interface MessageRecord {
  readonly id: number;
  readonly sessionId: string;
  readonly role: Role;
  /** Redacted. */
  readonly text: string;
  readonly intent: string | null;
  readonly confidence: number | null;
  readonly source: string | null;
  readonly action: string | null;
  readonly modelVersion: string | null;
  readonly createdAt: string;
}

/** Feedback on one reply. */
export interface NewFeedback {
  readonly messageId: number;
  readonly helpful: boolean;
  /** The intent the message should have had (a correction, or a new intent's name). */
  readonly intent?: string | null;
  readonly comment?: string | null;
}

/** Stored feedback, with the user message the reply answered (what retraining learns from). */
export interface FeedbackRecord {
  readonly id: number;
  readonly messageId: number;
  readonly helpful: boolean;
  readonly intent: string | null;
  readonly comment: string | null;
  readonly createdAt: string;
  /** The (redacted) user message the reply answered, when there is one. */
  readonly userText: string | null;
  /** The intent the reply was given for. */
  readonly predictedIntent: string | null;
}

/** A conversation store (SQLite today; the interface is what a PostgreSQL store implements too). */
export interface AssistantStore {
  /** The session, created when it does not exist yet. */
  session(id: string): Promise<SessionRecord>;
  /** Sets a session's context. */
  updateSession(id: string, context: SessionContext): Promise<void>;
  /** Stores a message (its text redacted) and returns it. */
  addMessage(message: NewMessage): Promise<MessageRecord>;
  /** A message by id, or undefined. */
  message(id: number): Promise<MessageRecord | undefined>;
  /** The last `limit` messages of a session (default all), oldest first. */
  messages(sessionId: string, limit?: number): Promise<MessageRecord[]>;
  /** Stores feedback on an assistant message. */
  addFeedback(feedback: NewFeedback): Promise<FeedbackRecord>;
  /** All feedback, oldest first. */
  feedback(): Promise<FeedbackRecord[]>;
  close(): Promise<void>;
}
