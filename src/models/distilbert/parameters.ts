/** Every parameter of each DistilBERT head, declared from the config (names, shapes, initialisation, decay). */
import type { HeadKind, ParameterSpec } from '../heads.js';
import { numLabels } from '../heads.js';
import { ParameterSpecs } from '../spec-builder.js';
import type { DistilBertConfig } from './config.js';
import { DISTILBERT_LAYER_NAMES, DISTILBERT_NAMES, distilBertBodyPrefix } from './names.js';

/** The parameters of `head` on a DistilBERT encoder of `config`, in the order the graph uses them. */
export function distilBertParameters(config: DistilBertConfig, head: HeadKind): ParameterSpec[] {
  const s = new ParameterSpecs(config.initializer_range);
  const D = config.dim;
  const p = distilBertBodyPrefix(head);
  s.weight(`${p}${DISTILBERT_NAMES.wordEmbeddings}.weight`, [config.vocab_size, D]);
  s.weight(`${p}${DISTILBERT_NAMES.positionEmbeddings}.weight`, [config.max_position_embeddings, D]);
  s.norm(`${p}${DISTILBERT_NAMES.embeddingsNorm}`, D);
  for (let i = 0; i < config.n_layers; i++) s.encoderLayer(`${p}${DISTILBERT_NAMES.layers}.${i}`, DISTILBERT_LAYER_NAMES, D, config.hidden_dim);
  switch (head) {
    case 'sequence-classification':
      s.linear(DISTILBERT_NAMES.preClassifier, D, D);
      s.linear(DISTILBERT_NAMES.classifier, D, numLabels(config));
      break;
    case 'token-classification':
      s.linear(DISTILBERT_NAMES.classifier, D, numLabels(config));
      break;
    case 'masked-lm':
      s.linear(DISTILBERT_NAMES.vocabTransform, D, D);
      s.norm(DISTILBERT_NAMES.vocabNorm, D);
      s.bias(`${DISTILBERT_NAMES.vocabProjector}.bias`, config.vocab_size);
      break;
    default:
      break;
  }
  return s.specs;
}
