/**
 * One turn of a conversation: understand the message, choose the reply (the intent's response or
 * action, a clarification question, an FAQ answer, or "I don't know" with a handoff), keep the
 * session's context and store both messages.
 */
import { type HandoffResult, handoffPayload, postHandoff } from './handoff.js';
import type { FaqMatch, Nlu, Understanding } from './nlu.js';
import { redactSlots } from './redact.js';
import { type SlotValues, fillPlaceholders, missingSlots, slotPrompt } from './slots.js';
import type { AssistantStore } from './store.js';

/** How a reply was chosen. */
export type ReplyKind = 'intent' | 'slot' | 'clarify' | 'faq' | 'fallback';

/** The FAQ entry a reply comes from. */
export interface ReplySource {
  readonly type: 'faq';
  readonly id: string;
  readonly question: string;
  readonly score: number;
}

/** The assistant's answer to one message (what `POST /v1/chat` returns). */
export interface Reply {
  /** The stored assistant message (feedback refers to it). */
  readonly message_id: number;
  readonly session_id: string;
  readonly reply: string;
  /** The intent answered (or waiting for a slot); null for FAQ answers and the fallback. */
  readonly intent: string | null;
  /** The intent's calibrated probability; for an FAQ answer, the match score; for the fallback, the top intent's probability. */
  readonly confidence: number;
  readonly source: ReplySource | null;
  /** The intent's action, `ask_slot` for a slot question, `clarify` for a clarification question, `handoff` for the fallback; else null. */
  readonly action: string | null;
  /** The session's slot values after this message (redacted). */
  readonly slots: SlotValues;
  /** The slot a slot question asks for. */
  readonly slot?: string;
  /** The two intents a clarification question offers. */
  readonly options?: readonly [string, string];
  readonly kind: ReplyKind;
  readonly model_version: number;
}

/** Hooks a server uses (metrics). */
export interface DialogueObserver {
  onReply?(reply: Reply, seconds: number): void;
  onHandoff?(result: HandoffResult): void;
}

/** Options of {@link Dialogue}. */
export interface DialogueOptions {
  readonly observer?: DialogueObserver;
  /** Backoff before the first retry of a webhook call (ms, default 200). */
  readonly handoffBackoffMs?: number;
}

/** An intent name as people read it: `reset_password` -> `reset password`. */
export function intentTitle(name: string): string {
  return name.replace(/[_.:-]+/g, ' ').trim();
}

const FIRST = /^(?:the\s+)?(?:first|first one|1|a|former|option 1)[.!]?$/i;
const SECOND = /^(?:the\s+)?(?:second|second one|2|b|latter|option 2)[.!]?$/i;

/** The conversation logic over a loaded version and a store. */
export class Dialogue {
  private pending = new Set<Promise<unknown>>();

  constructor(
    private nluModel: Nlu,
    readonly store: AssistantStore,
    private readonly opts: DialogueOptions = {},
  ) {}

  /** The loaded version. */
  get nlu(): Nlu {
    return this.nluModel;
  }

  /** Answers later messages with another version (the caller disposes of the old one when its turns are done). */
  setNlu(nlu: Nlu): void {
    this.nluModel = nlu;
  }

  /** Answers one message of a session. */
  async handle(sessionId: string, text: string): Promise<Reply> {
    const started = performance.now();
    const nlu = this.nluModel;
    const m = nlu.manifest;
    const session = await this.store.session(sessionId);
    const [u, found] = await Promise.all([nlu.understand(text), nlu.slots ? nlu.slots.extract(text) : ({} as SlotValues)]);
    const filled = Object.keys(found).length > 0;
    const slots = filled ? redactSlots({ ...session.slots, ...found }) : session.slots;
    const chosen = this.resolveChoice(session.pendingChoice, text, u);
    // A reply to a slot question: the message gives a slot the waiting intent lacks.
    const waiting = session.pendingIntent;
    const resumed =
      !chosen && waiting !== null && m.responses[waiting] && missingSlots(m.responses[waiting].requires, session.slots).some((s) => found[s] !== undefined) ? waiting : undefined;
    await this.store.addMessage({ sessionId, role: 'user', text, intent: u.top.intent, confidence: u.top.confidence, modelVersion: String(m.version) });

    let reply: Omit<Reply, 'message_id' | 'session_id' | 'model_version'>;
    let faq: FaqMatch | undefined;
    const decision = chosen || resumed ? 'intent' : u.decision;
    const context = filled ? { slots } : {};
    if (decision === 'intent') {
      const intent = chosen ?? resumed ?? u.top.intent;
      const r = m.responses[intent] ?? {};
      const confidence =
        intent === u.top.intent ? u.top.confidence : u.second?.intent === intent ? u.second.confidence : (await nlu.probabilities([text]))[0]![m.intents.indexOf(intent)]!;
      const missing = missingSlots(r.requires, slots);
      if (missing.length > 0) {
        const slot = missing[0]!;
        reply = { reply: fillPlaceholders(slotPrompt(m.slots, slot), slots), intent, confidence, source: null, action: 'ask_slot', slots, slot, kind: 'slot' };
        await this.store.updateSession(sessionId, { ...context, pendingIntent: intent, pendingChoice: null });
      } else {
        reply = { reply: fillPlaceholders(r.response ?? '', slots), intent, confidence, source: null, action: r.action ?? null, slots, kind: 'intent' };
        await this.store.updateSession(sessionId, { ...context, lastIntent: intent, pendingChoice: null, ...(waiting !== null ? { pendingIntent: null } : {}) });
      }
    } else if (decision === 'clarify' && u.second) {
      const options: [string, string] = [u.top.intent, u.second.intent];
      const text = m.messages.clarify.replaceAll('{a}', intentTitle(options[0])).replaceAll('{b}', intentTitle(options[1]));
      reply = { reply: text, intent: null, confidence: u.top.confidence, source: null, action: 'clarify', options, slots, kind: 'clarify' };
      await this.store.updateSession(sessionId, { ...context, pendingChoice: options, ...(waiting !== null ? { pendingIntent: null } : {}) });
    } else {
      faq = nlu.hasFaq ? (await nlu.searchFaq([text], 1))[0]!.best : undefined;
      if (faq?.accepted) {
        reply = {
          reply: faq.answer,
          intent: null,
          confidence: faq.score,
          source: { type: 'faq', id: faq.id, question: faq.question, score: faq.score },
          action: null,
          slots,
          kind: 'faq',
        };
      } else {
        const message = m.handoff.webhook ? m.messages.handoff : m.messages.fallback;
        reply = { reply: message, intent: null, confidence: u.top.confidence, source: null, action: 'handoff', slots, kind: 'fallback' };
      }
      await this.store.updateSession(sessionId, { ...context, pendingChoice: null, ...(waiting !== null ? { pendingIntent: null } : {}) });
    }
    const stored = await this.store.addMessage({
      sessionId,
      role: 'assistant',
      text: reply.reply,
      intent: reply.intent,
      confidence: reply.confidence,
      source: reply.source?.id ?? null,
      action: reply.action,
      modelVersion: String(m.version),
    });
    const out: Reply = { message_id: stored.id, session_id: sessionId, ...reply, model_version: m.version };
    if (reply.kind === 'fallback' && m.handoff.webhook) this.track(this.handOff(sessionId, m.handoff.webhook, m));
    this.opts.observer?.onReply?.(out, (performance.now() - started) / 1000);
    return out;
  }

  /** The intent a reply to a clarification question picks ("the first", "2", or a message classified as one of the two). */
  private resolveChoice(pending: readonly [string, string] | null, text: string, u: Understanding): string | undefined {
    if (!pending) return undefined;
    const t = text.trim();
    if (FIRST.test(t)) return pending[0];
    if (SECOND.test(t)) return pending[1];
    if (u.decision !== 'out_of_scope' && pending.includes(u.top.intent)) return u.top.intent;
    return undefined;
  }

  private async handOff(sessionId: string, url: string, m: Nlu['manifest']): Promise<void> {
    const messages = await this.store.messages(sessionId, 50);
    const result = await postHandoff(url, handoffPayload(sessionId, messages, m.version), {
      retries: m.handoff.retries,
      timeoutMs: m.handoff.timeout_ms,
      ...(this.opts.handoffBackoffMs !== undefined ? { backoffMs: this.opts.handoffBackoffMs } : {}),
    });
    this.opts.observer?.onHandoff?.(result);
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  /** Resolves when every handoff under way has been delivered or has given up. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
