/** Every parameter of each ALBERT head, declared from the config (names, shapes, initialisation, decay). */
import type { HeadKind, ParameterSpec } from '../heads.js';
import { ParameterSpecs } from '../spec-builder.js';
import { numLabels } from '../heads.js';
import { type AlbertConfig, albertGroupOf } from './config.js';
import { ALBERT_LAYER_NAMES, ALBERT_NAMES, albertBodyPrefix, albertHasPooler, albertLayerPrefix } from './names.js';

/** The groups of layer weights some layer uses, in order (all of them unless the encoder has no layers). */
export function albertGroupsUsed(config: AlbertConfig): number[] {
  const used = new Set<number>();
  for (let i = 0; i < config.num_hidden_layers; i++) used.add(albertGroupOf(config, i));
  return [...used].sort((a, b) => a - b);
}

/**
 * The parameters of `head` on an ALBERT encoder of `config`: the embeddings (of embedding_size),
 * the mapping to hidden_size, each group's `inner_group_num` layers once (however many layers reuse
 * them), the pooler and the head. Weights normal(0, initializer_range) with decay; zero biases and
 * unit LayerNorm weights without.
 */
export function albertParameters(config: AlbertConfig, head: HeadKind): ParameterSpec[] {
  const s = new ParameterSpecs(config.initializer_range);
  const { weight, bias, linear, norm } = s.bound();
  const H = config.hidden_size;
  const E = config.embedding_size;
  const p = albertBodyPrefix(head);
  weight(`${p}embeddings.word_embeddings.weight`, [config.vocab_size, E]);
  weight(`${p}embeddings.position_embeddings.weight`, [config.max_position_embeddings, E]);
  weight(`${p}embeddings.token_type_embeddings.weight`, [config.type_vocab_size, E]);
  norm(`${p}embeddings.LayerNorm`, E);
  linear(`${p}${ALBERT_NAMES.embeddingMapping}`, E, H);
  const n = ALBERT_LAYER_NAMES;
  for (const group of albertGroupsUsed(config)) {
    for (let j = 0; j < config.inner_group_num; j++) {
      const layer = `${p}${albertLayerPrefix(group, j)}`;
      s.encoderLayer(layer, n, H, config.intermediate_size);
    }
  }
  if (albertHasPooler(head)) linear(`${p}${ALBERT_NAMES.pooler}`, H, H);
  switch (head) {
    case 'sequence-classification':
    case 'token-classification':
      linear(ALBERT_NAMES.classifier, H, numLabels(config));
      break;
    case 'masked-lm':
      linear(ALBERT_NAMES.mlmDense, H, E);
      norm(ALBERT_NAMES.mlmNorm, E);
      bias(ALBERT_NAMES.mlmBias, config.vocab_size);
      break;
    default:
      break;
  }
  return s.specs;
}
