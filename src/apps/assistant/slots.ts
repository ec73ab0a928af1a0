/**
 * Slots: values an intent needs (a city, a person), filled from the text of the messages by a
 * token-classification model (an entity group per slot), kept with the session, asked for when an
 * intent needs one the conversation has not given, and put into responses for `{slot}`
 * placeholders.
 */
import { type EntityGroup, type TokenClassificationPipeline, pipeline } from '../../index.js';

/** The slot settings of a trained version (`slots` in the manifest). */
export interface SlotsManifest {
  /** The token-classification checkpoint (an absolute path). */
  readonly model: string;
  /** Slot name -> the entity group (`LOC`, `PER`, …) that fills it. */
  readonly fill: Readonly<Record<string, string>>;
  /** Slot name -> the question that asks for it. */
  readonly prompts: Readonly<Record<string, string>>;
}

/** Slot values by slot name. */
export type SlotValues = Readonly<Record<string, string>>;

/** The question for a slot: its configured prompt, else `What is the <slot>?`. */
export function slotPrompt(slots: SlotsManifest | undefined, name: string): string {
  return slots?.prompts[name] ?? `What is the ${name.replace(/[_.:-]+/g, ' ')}?`;
}

/** The slots of `requires` that `values` lacks, in the order `requires` names them. */
export function missingSlots(requires: readonly string[] | undefined, values: SlotValues): string[] {
  return (requires ?? []).filter((s) => values[s] === undefined);
}

/** `text` with every `{slot}` whose slot has a value replaced by it; other braces stay as written. */
export function fillPlaceholders(text: string, values: SlotValues): string {
  return text.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string) => values[name] ?? m);
}

/** The slot values entity groups give: for each slot, the text of the first entity of its group in the message. */
export function slotsFromEntities(fill: SlotsManifest['fill'], text: string, entities: readonly EntityGroup[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [slot, group] of Object.entries(fill)) {
    const e = entities.find((g) => g.entity_group === group);
    if (e) out[slot] = text.slice(e.start, e.end).trim() || e.word;
  }
  return out;
}

/** A loaded slot model. */
export class SlotFiller {
  private constructor(
    readonly slots: SlotsManifest,
    private readonly tagger: TokenClassificationPipeline,
  ) {}

  /** Loads the token-classification checkpoint of `slots.model`. */
  static async load(slots: SlotsManifest, opts: { threads?: number } = {}): Promise<SlotFiller> {
    const tagger = await pipeline('token-classification', slots.model, opts.threads === undefined ? {} : { threads: opts.threads });
    return new SlotFiller(slots, tagger);
  }

  /** The slot values in one message (words grouped with the `first` strategy). */
  async extract(text: string): Promise<Record<string, string>> {
    const [entities] = await this.tagger.runBatch([text], { aggregationStrategy: 'first' });
    return slotsFromEntities(this.slots.fill, text, entities ?? []);
  }

  async dispose(): Promise<void> {
    await this.tagger.dispose();
  }
}
