/**
 * Post-processing templates: where special tokens go around one sequence or a pair, and which
 * token type id each part gets (tokenizer.json `TemplateProcessing` / `BertProcessing`).
 */

/** One element of a template: a special token, or sequence A (0) / B (1). */
export type TemplatePiece =
  | { readonly kind: 'special'; readonly id: string; readonly typeId: number }
  | { readonly kind: 'sequence'; readonly sequence: 0 | 1; readonly typeId: number };

/** The ids and token strings a template's special-token name expands to. */
export interface TemplateSpecialToken {
  readonly id: string;
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
}

/** A post-processing template for single sequences and pairs. */
export interface PostProcessorTemplate {
  readonly single: readonly TemplatePiece[];
  readonly pair: readonly TemplatePiece[];
  readonly specialTokens: Readonly<Record<string, TemplateSpecialToken>>;
}

/** BERT's template: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`, type ids 0 for A and 1 for B. */
export function bertTemplate(cls: string, clsId: number, sep: string, sepId: number): PostProcessorTemplate {
  return {
    single: [
      { kind: 'special', id: cls, typeId: 0 },
      { kind: 'sequence', sequence: 0, typeId: 0 },
      { kind: 'special', id: sep, typeId: 0 },
    ],
    pair: [
      { kind: 'special', id: cls, typeId: 0 },
      { kind: 'sequence', sequence: 0, typeId: 0 },
      { kind: 'special', id: sep, typeId: 0 },
      { kind: 'sequence', sequence: 1, typeId: 1 },
      { kind: 'special', id: sep, typeId: 1 },
    ],
    specialTokens: {
      [cls]: { id: cls, ids: [clsId], tokens: [cls] },
      [sep]: { id: sep, ids: [sepId], tokens: [sep] },
    },
  };
}

/** A template that adds nothing (tokenizer.json `post_processor: null`). */
export const PLAIN_TEMPLATE: PostProcessorTemplate = {
  single: [{ kind: 'sequence', sequence: 0, typeId: 0 }],
  pair: [
    { kind: 'sequence', sequence: 0, typeId: 0 },
    { kind: 'sequence', sequence: 1, typeId: 1 },
  ],
  specialTokens: {},
};

/** How many tokens the template adds to a single sequence or a pair. */
export function addedTokenCount(template: PostProcessorTemplate, pair: boolean): number {
  let n = 0;
  for (const p of pair ? template.pair : template.single) if (p.kind === 'special') n += template.specialTokens[p.id]?.ids.length ?? 0;
  return n;
}

/** The template in tokenizer.json form (`TemplateProcessing`). */
export function templateToJson(template: PostProcessorTemplate): Record<string, unknown> {
  const piece = (p: TemplatePiece) =>
    p.kind === 'special' ? { SpecialToken: { id: p.id, type_id: p.typeId } } : { Sequence: { id: p.sequence === 0 ? 'A' : 'B', type_id: p.typeId } };
  return {
    type: 'TemplateProcessing',
    single: template.single.map(piece),
    pair: template.pair.map(piece),
    special_tokens: Object.fromEntries(Object.entries(template.specialTokens).map(([k, v]) => [k, { id: v.id, ids: [...v.ids], tokens: [...v.tokens] }])),
  };
}
