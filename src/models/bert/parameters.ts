/** Every parameter of each BERT head, declared from the config (names, shapes, initialisation, decay). */
import type { HeadKind, ParameterSpec } from '../heads.js';
import { ParameterSpecs } from '../spec-builder.js';
import { numLabels } from '../heads.js';
import type { BertConfig } from './config.js';
import { BERT_HEAD_NAMES, BERT_LAYER_NAMES, bodyPrefix } from './names.js';

/** Whether a head has the pooler (masked LM and token classification do not, as in transformers). */
export function hasPooler(head: HeadKind): boolean {
  return head !== 'masked-lm' && head !== 'token-classification' && head !== 'encoder';
}

/**
 * The parameters of `head` on a BERT encoder of `config`, in the order the graph uses them:
 * normal(0, initializer_range) weights with decay, zero biases and unit LayerNorm weights without.
 */
export function bertParameters(config: BertConfig, head: HeadKind): ParameterSpec[] {
  const s = new ParameterSpecs(config.initializer_range);
  const { weight, bias, linear, norm } = s.bound();
  const H = config.hidden_size;
  const p = bodyPrefix(head);
  weight(`${p}embeddings.word_embeddings.weight`, [config.vocab_size, H]);
  weight(`${p}embeddings.position_embeddings.weight`, [config.max_position_embeddings, H]);
  weight(`${p}embeddings.token_type_embeddings.weight`, [config.type_vocab_size, H]);
  norm(`${p}embeddings.LayerNorm`, H);
  const n = BERT_LAYER_NAMES;
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const layer = `${p}encoder.layer.${i}`;
    s.encoderLayer(layer, n, H, config.intermediate_size);
  }
  if (hasPooler(head)) linear(`${p}${BERT_HEAD_NAMES.pooler}`, H, H);
  const mlm = () => {
    linear(BERT_HEAD_NAMES.mlmTransform, H, H);
    norm(BERT_HEAD_NAMES.mlmNorm, H);
    bias(BERT_HEAD_NAMES.mlmBias, config.vocab_size);
  };
  switch (head) {
    case 'sequence-classification':
    case 'token-classification':
      linear(BERT_HEAD_NAMES.classifier, H, numLabels(config));
      break;
    case 'masked-lm':
      mlm();
      break;
    case 'next-sentence':
      linear(BERT_HEAD_NAMES.nsp, H, 2);
      break;
    case 'pretraining':
      mlm();
      linear(BERT_HEAD_NAMES.nsp, H, 2);
      break;
    case 'base':
    case 'encoder':
      break;
  }
  return s.specs;
}
