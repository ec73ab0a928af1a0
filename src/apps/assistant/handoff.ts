/** Handing a conversation over to a person: a POST of the session's transcript to a webhook, retried. */
import type { MessageRecord } from './store.js';

/** The JSON body the webhook receives. */
export interface HandoffPayload {
  readonly event: 'handoff';
  readonly session_id: string;
  readonly reason: 'out_of_scope';
  /** The (redacted) conversation so far, oldest first. */
  readonly transcript: readonly {
    readonly id: number;
    readonly role: string;
    readonly text: string;
    readonly intent: string | null;
    readonly confidence: number | null;
    readonly created_at: string;
  }[];
  readonly model_version: number;
}

/** How one handoff went. */
export interface HandoffResult {
  readonly delivered: boolean;
  readonly attempts: number;
  /** The last HTTP status, or the last network error's message. */
  readonly status?: number;
  readonly error?: string;
}

/** The payload for a session's messages. */
export function handoffPayload(sessionId: string, messages: readonly MessageRecord[], modelVersion: number): HandoffPayload {
  return {
    event: 'handoff',
    session_id: sessionId,
    reason: 'out_of_scope',
    transcript: messages.map((m) => ({ id: m.id, role: m.role, text: m.text, intent: m.intent, confidence: m.confidence, created_at: m.createdAt })),
    model_version: modelVersion,
  };
}

/**
 * POSTs `payload` as JSON to `url`; a network error, a timeout or a 5xx/429 answer is retried up to
 * `retries` times with exponential backoff (`backoffMs`, doubled each time). A 2xx answer delivers;
 * another 4xx stops at once (retrying would not help).
 */
export async function postHandoff(url: string, payload: HandoffPayload, opts: { retries: number; timeoutMs: number; backoffMs?: number }): Promise<HandoffResult> {
  const body = JSON.stringify(payload);
  let backoff = opts.backoffMs ?? 200;
  let last: { status?: number; error?: string } = {};
  for (let attempt = 1; attempt <= opts.retries + 1; attempt++) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(opts.timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { delivered: true, attempts: attempt, status: res.status };
      last = { status: res.status };
      if (res.status < 500 && res.status !== 429) return { delivered: false, attempts: attempt, status: res.status };
    } catch (e) {
      last = { error: (e as Error).message };
    }
    if (attempt <= opts.retries) {
      await new Promise((r) => setTimeout(r, backoff));
      backoff *= 2;
    }
  }
  return { delivered: false, attempts: opts.retries + 1, ...last };
}
