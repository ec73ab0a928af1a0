/** Every parameter of each DeBERTa-v2 head, declared from the config (names, shapes, initialisation, decay). */
import { BertConfigError } from '../bert/config.js';
import type { HeadKind, ParameterSpec } from '../heads.js';
import { numLabels } from '../heads.js';
import { type DebertaV2Config, attentionSpan, normalisesRelEmbeddings } from './config.js';
import { DEBERTA_LAYER_NAMES, DEBERTA_NAMES, debertaBodyPrefix, debertaLayerPrefix, debertaMlmNames } from './names.js';

/** Whether a layer has its own position projections (relative attention without share_att_key). */
export function positionProjections(config: DebertaV2Config): { key: boolean; query: boolean } {
  const own = config.relative_attention && !config.share_att_key;
  return { key: own && config.pos_att_type.includes('c2p'), query: own && config.pos_att_type.includes('p2c') };
}

/**
 * The parameters of `head` on a DeBERTa-v2 encoder of `config`: word embeddings (of
 * embedding_size), absolute positions when `position_biased_input`, token types when
 * `type_vocab_size` > 0, `embed_proj` when embedding_size differs from hidden_size, the layers
 * (with pos_key_proj / pos_query_proj unless share_att_key), the ConvLayer when conv_kernel_size
 * > 0, the relative embeddings and their LayerNorm, and the head. Weights normal(0, initializer_range) with decay; zero biases and unit
 * LayerNorm weights without.
 */
export function debertaV2Parameters(config: DebertaV2Config, head: HeadKind): ParameterSpec[] {
  const specs: ParameterSpec[] = [];
  const std = config.initializer_range;
  const weight = (name: string, shape: number[]) => specs.push({ name, shape, init: { kind: 'normal', std }, decay: true });
  const bias = (name: string, size: number) => specs.push({ name, shape: [size], init: { kind: 'zeros' }, decay: false });
  const linear = (name: string, inF: number, outF: number) => {
    weight(`${name}.weight`, [outF, inF]);
    bias(`${name}.bias`, outF);
  };
  const norm = (name: string, size: number) => {
    specs.push({ name: `${name}.weight`, shape: [size], init: { kind: 'ones' }, decay: false });
    bias(`${name}.bias`, size);
  };
  const H = config.hidden_size;
  const E = config.embedding_size;
  const p = debertaBodyPrefix(head);
  weight(`${p}${DEBERTA_NAMES.wordEmbeddings}.weight`, [config.vocab_size, E]);
  if (config.position_biased_input) weight(`${p}${DEBERTA_NAMES.positionEmbeddings}.weight`, [config.max_position_embeddings, E]);
  if (config.type_vocab_size > 0) weight(`${p}${DEBERTA_NAMES.tokenTypeEmbeddings}.weight`, [config.type_vocab_size, E]);
  if (E !== H) weight(`${p}${DEBERTA_NAMES.embedProj}.weight`, [H, E]);
  norm(`${p}${DEBERTA_NAMES.embeddingsNorm}`, H);
  const n = DEBERTA_LAYER_NAMES;
  const own = positionProjections(config);
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const layer = `${p}${debertaLayerPrefix(i)}`;
    for (const q of [n.query, n.key, n.value]) linear(`${layer}.${q}`, H, H);
    if (own.key) linear(`${layer}.${n.positionKey}`, H, H);
    if (own.query) linear(`${layer}.${n.positionQuery}`, H, H);
    linear(`${layer}.${n.attentionOutput}`, H, H);
    norm(`${layer}.${n.attentionNorm}`, H);
    linear(`${layer}.${n.intermediate}`, H, config.intermediate_size);
    linear(`${layer}.${n.output}`, config.intermediate_size, H);
    norm(`${layer}.${n.outputNorm}`, H);
  }
  if (config.relative_attention) weight(`${p}${DEBERTA_NAMES.relEmbeddings}.weight`, [2 * attentionSpan(config), H]);
  if (config.conv_kernel_size > 0) {
    weight(`${p}${DEBERTA_NAMES.conv}.weight`, [H, H, config.conv_kernel_size]);
    bias(`${p}${DEBERTA_NAMES.conv}.bias`, H);
    norm(`${p}${DEBERTA_NAMES.convNorm}`, H);
  }
  if (config.relative_attention && normalisesRelEmbeddings(config)) norm(`${p}${DEBERTA_NAMES.relNorm}`, H);
  switch (head) {
    case 'sequence-classification':
      linear(DEBERTA_NAMES.pooler, H, H);
      linear(DEBERTA_NAMES.classifier, H, numLabels(config));
      break;
    case 'token-classification':
      linear(DEBERTA_NAMES.classifier, H, numLabels(config));
      break;
    case 'masked-lm': {
      const mlm = debertaMlmNames(config);
      if (!config.legacy && E !== H) {
        throw new BertConfigError(
          `config.json: field "embedding_size" (${E}) must equal hidden_size (${H}) for the masked-LM head with legacy false, whose decoder multiplies hidden states by the word embeddings`,
          {
            field: 'embedding_size',
          },
        );
      }
      const width = config.legacy ? E : H;
      linear(mlm.dense, H, width);
      norm(mlm.norm, width);
      bias(mlm.bias, config.vocab_size);
      break;
    }
    default:
      break;
  }
  return specs;
}
