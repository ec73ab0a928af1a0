/** Every parameter of each ERNIE head, declared from the config (names, shapes, initialisation, decay). */
import type { HeadKind, ParameterSpec } from '../heads.js';
import { numLabels } from '../heads.js';
import { ParameterSpecs } from '../spec-builder.js';
import type { ErnieConfig } from './config.js';
import { ERNIE_LAYER_NAMES, ERNIE_NAMES, ernieBodyPrefix, ernieHasPooler } from './names.js';

/** The parameters of `head` on an ERNIE encoder of `config`, in the order the graph uses them. */
export function ernieParameters(config: ErnieConfig, head: HeadKind): ParameterSpec[] {
  const s = new ParameterSpecs(config.initializer_range);
  const H = config.hidden_size;
  const p = ernieBodyPrefix(head);
  s.weight(`${p}${ERNIE_NAMES.wordEmbeddings}.weight`, [config.vocab_size, H]);
  s.weight(`${p}${ERNIE_NAMES.positionEmbeddings}.weight`, [config.max_position_embeddings, H]);
  s.weight(`${p}${ERNIE_NAMES.tokenTypeEmbeddings}.weight`, [config.type_vocab_size, H]);
  if (config.use_task_id) s.weight(`${p}${ERNIE_NAMES.taskTypeEmbeddings}.weight`, [config.task_type_vocab_size, H]);
  s.norm(`${p}${ERNIE_NAMES.embeddingsNorm}`, H);
  for (let i = 0; i < config.num_hidden_layers; i++) s.encoderLayer(`${p}encoder.layer.${i}`, ERNIE_LAYER_NAMES, H, config.intermediate_size);
  if (ernieHasPooler(head)) s.linear(`${p}${ERNIE_NAMES.pooler}`, H, H);
  const mlm = () => {
    s.linear(ERNIE_NAMES.mlmTransform, H, H);
    s.norm(ERNIE_NAMES.mlmNorm, H);
    s.bias(ERNIE_NAMES.mlmBias, config.vocab_size);
  };
  switch (head) {
    case 'sequence-classification':
    case 'token-classification':
      s.linear(ERNIE_NAMES.classifier, H, numLabels(config));
      break;
    case 'masked-lm':
      mlm();
      break;
    case 'next-sentence':
      s.linear(ERNIE_NAMES.nsp, H, 2);
      break;
    case 'pretraining':
      mlm();
      s.linear(ERNIE_NAMES.nsp, H, 2);
      break;
    default:
      break;
  }
  return s.specs;
}
