/** Every parameter of each ELECTRA head, declared from the config (names, shapes, initialisation, decay). */
import type { HeadKind, ParameterSpec } from '../heads.js';
import { ParameterSpecs } from '../spec-builder.js';
import { numLabels } from '../heads.js';
import { BERT_LAYER_NAMES } from '../bert/names.js';
import type { ElectraConfig } from './config.js';
import { ELECTRA_NAMES, electraBodyPrefix } from './names.js';

/** Whether the embeddings are projected to the hidden size (`embeddings_project`). */
export function hasEmbeddingsProjection(config: ElectraConfig): boolean {
  return config.embedding_size !== config.hidden_size;
}

/**
 * The parameters of `head` on an ELECTRA encoder of `config`, in the order the graph uses them:
 * normal(0, initializer_range) weights with decay, zero biases and unit LayerNorm weights without.
 * ELECTRA has no pooler.
 */
export function electraParameters(config: ElectraConfig, head: HeadKind): ParameterSpec[] {
  const s = new ParameterSpecs(config.initializer_range);
  const { weight, bias, linear, norm } = s.bound();
  const H = config.hidden_size;
  const E = config.embedding_size;
  const p = electraBodyPrefix(head);
  weight(`${p}embeddings.word_embeddings.weight`, [config.vocab_size, E]);
  weight(`${p}embeddings.position_embeddings.weight`, [config.max_position_embeddings, E]);
  weight(`${p}embeddings.token_type_embeddings.weight`, [config.type_vocab_size, E]);
  norm(`${p}embeddings.LayerNorm`, E);
  if (hasEmbeddingsProjection(config)) linear(`${p}${ELECTRA_NAMES.embeddingsProject}`, E, H);
  const n = BERT_LAYER_NAMES;
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const layer = `${p}encoder.layer.${i}`;
    s.encoderLayer(layer, n, H, config.intermediate_size);
  }
  switch (head) {
    case 'sequence-classification':
      linear(ELECTRA_NAMES.sequenceDense, H, H);
      linear(ELECTRA_NAMES.sequenceOut, H, numLabels(config));
      break;
    case 'token-classification':
      linear(ELECTRA_NAMES.tokenClassifier, H, numLabels(config));
      break;
    case 'masked-lm':
      linear(ELECTRA_NAMES.generatorDense, H, E);
      norm(ELECTRA_NAMES.generatorNorm, E);
      bias(`${ELECTRA_NAMES.generatorHead}.bias`, config.vocab_size);
      break;
    case 'replaced-token-detection':
      linear(ELECTRA_NAMES.discriminatorDense, H, H);
      linear(ELECTRA_NAMES.discriminatorPrediction, H, 1);
      break;
    default:
      break;
  }
  return s.specs;
}
