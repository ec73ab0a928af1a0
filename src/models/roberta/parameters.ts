/** Every parameter of each RoBERTa head, declared from the config (names, shapes, initialisation, decay). */
import type { HeadKind, ParameterSpec } from '../heads.js';
import { numLabels } from '../heads.js';
import { ParameterSpecs } from '../spec-builder.js';
import type { RobertaConfig } from './config.js';
import { ROBERTA_LAYER_NAMES, ROBERTA_NAMES, robertaBodyPrefix, robertaHasPooler } from './names.js';

/** The parameters of `head` on a RoBERTa encoder of `config`, in the order the graph uses them. */
export function robertaParameters(config: RobertaConfig, head: HeadKind): ParameterSpec[] {
  const s = new ParameterSpecs(config.initializer_range);
  const H = config.hidden_size;
  const p = robertaBodyPrefix(head);
  s.weight(`${p}${ROBERTA_NAMES.wordEmbeddings}.weight`, [config.vocab_size, H]);
  s.weight(`${p}${ROBERTA_NAMES.positionEmbeddings}.weight`, [config.max_position_embeddings, H]);
  s.weight(`${p}${ROBERTA_NAMES.tokenTypeEmbeddings}.weight`, [config.type_vocab_size, H]);
  s.norm(`${p}${ROBERTA_NAMES.embeddingsNorm}`, H);
  for (let i = 0; i < config.num_hidden_layers; i++) s.encoderLayer(`${p}encoder.layer.${i}`, ROBERTA_LAYER_NAMES, H, config.intermediate_size);
  if (robertaHasPooler(head)) s.linear(`${p}${ROBERTA_NAMES.pooler}`, H, H);
  switch (head) {
    case 'sequence-classification':
      s.linear(ROBERTA_NAMES.classifierDense, H, H);
      s.linear(ROBERTA_NAMES.classifierOut, H, numLabels(config));
      break;
    case 'token-classification':
      s.linear(ROBERTA_NAMES.tokenClassifier, H, numLabels(config));
      break;
    case 'masked-lm':
      s.linear(ROBERTA_NAMES.lmDense, H, H);
      s.norm(ROBERTA_NAMES.lmNorm, H);
      s.bias(ROBERTA_NAMES.lmBias, config.vocab_size);
      break;
    default:
      break;
  }
  return s.specs;
}
