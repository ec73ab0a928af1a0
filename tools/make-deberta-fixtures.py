"""Tiny DeBERTa-v2/v3 checkpoints written by Hugging Face transformers, with their outputs and training losses.

As tools/make-electra-fixtures.py does for ELECTRA (whose helpers this script reuses), for
DebertaV2ForSequenceClassification, DebertaV2ForTokenClassification and DebertaV2ForMaskedLM:
random-init models (hidden 32, 2 layers, 4 heads) covering the disentangled attention's variants:

- sequence classification, DeBERTa-v3 style: relative attention with log-bucketed positions
  (position_buckets 8, max_relative_positions 24, so that distances beyond 4 are bucketed),
  c2p and p2c sharing the content key and query projections, LayerNorm on the relative
  embeddings, no absolute positions and no token types; the vocabulary of
  test/fixtures/hf-tokenizers/deberta-unigram (500 ids) so that the CLI test can use that
  tokenizer; its expected.json also holds DebertaV2Model's last_hidden_state, and the logits of a
  60-token batch (beyond max_position_embeddings);
- token classification, DeBERTa-v2 style: unbucketed relative positions clamped at 6, separate
  pos_key_proj / pos_query_proj, pos_att_type given as "c2p|p2c", absolute positions, two token
  types and embedding_size 16 (so that embed_proj is used);
- masked LM (legacy false: lm_predictions.lm_head), c2p only, bucketed;
- masked LM (legacy true: cls.predictions), p2c only, bucketed, a ConvLayer of width 1 (GELU)
  (directory DebertaV2ForMaskedLM-legacy).

Each is saved with `save_pretrained` (safetensors, float16), reloaded in float32, run on fixed
inputs with labels, and trained for 20 AdamW steps in a plain PyTorch loop (dropout off) from the
same weights. Written to test/fixtures/deberta-v2/<architecture>/.

    /tmp/refvenv/bin/python tools/make-deberta-fixtures.py
"""
import importlib.util
import json
import os
import shutil

import torch

HERE = os.path.dirname(__file__)
spec = importlib.util.spec_from_file_location('electra_fixtures', os.path.join(HERE, 'make-electra-fixtures.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def non_legacy_masked_lm():
    """DebertaV2ForMaskedLM with legacy false, reloaded without from_pretrained (whose tied-weights
    bookkeeping fails on this head in transformers 5.x: it looks for `lm_predictions.lm_head.weight`)."""
    from safetensors.torch import load_file
    from transformers import DebertaV2Config, DebertaV2ForMaskedLM as Base

    class DebertaV2ForMaskedLM(Base):
        @classmethod
        def from_pretrained(cls, d, **_):
            model = Base(DebertaV2Config.from_pretrained(d))
            state = {k: v.float() for k, v in load_file(os.path.join(d, 'model.safetensors')).items()}
            missing, unexpected = model.load_state_dict(state, strict=False)
            # The tie leaves an alias of the word embeddings in the state dict, which is not saved.
            assert set(missing) <= {'lm_predictions.lm_head.weight'} and not unexpected, (missing, unexpected)
            return model.float()

    return DebertaV2ForMaskedLM


def main():
    from transformers import DebertaV2Config, DebertaV2ForMaskedLM, DebertaV2ForSequenceClassification, DebertaV2ForTokenClassification, DebertaV2Model

    out = os.path.join(ref.ROOT, 'deberta-v2')
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    P = 24
    v3 = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, hidden_act='gelu',
              hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=P, type_vocab_size=0,
              initializer_range=0.2, layer_norm_eps=1e-7, relative_attention=True, max_relative_positions=P,
              position_buckets=8, norm_rel_ebd='layer_norm', share_att_key=True, pos_att_type=['p2c', 'c2p'],
              position_biased_input=False, pad_token_id=0, pooler_hidden_size=32, pooler_dropout=0, pooler_hidden_act='gelu')
    labels3 = {'0': 'negative', '1': 'neutral', '2': 'positive'}
    tags = {str(i): t for i, t in enumerate(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'])}
    cases = [
        ('DebertaV2ForSequenceClassification', DebertaV2ForSequenceClassification, 'sequence',
         dict(vocab_size=500, id2label=labels3, label2id={v: int(k) for k, v in labels3.items()}), 3),
        ('DebertaV2ForTokenClassification', DebertaV2ForTokenClassification, 'token',
         dict(vocab_size=99, position_buckets=-1, max_relative_positions=6, share_att_key=False, pos_att_type='c2p|p2c',
              norm_rel_ebd='none', position_biased_input=True, type_vocab_size=2, embedding_size=16, hidden_act='gelu_new', conv_kernel_size=3,
              id2label=tags, label2id={v: int(k) for k, v in tags.items()}), 5),
        ('DebertaV2ForMaskedLM', non_legacy_masked_lm(), 'masked-lm', dict(vocab_size=30, legacy=False, pos_att_type=['c2p']), 2),
        ('DebertaV2ForMaskedLM-legacy', DebertaV2ForMaskedLM, 'masked-lm', dict(vocab_size=30, legacy=True, pos_att_type=['p2c'], max_relative_positions=12, conv_kernel_size=1, conv_act='gelu'), 2),
    ]
    for i, (name, cls, kind, extra, n) in enumerate(cases):
        config = DebertaV2Config(**{**v3, **extra})
        ref.write_case(out, name, lambda: (DebertaV2ForMaskedLM if name.startswith('DebertaV2ForMaskedLM') else cls)(config), kind, cls, n, config.vocab_size, P, 10 * (i + 1), ['logits'])

    # DebertaV2Model on the sequence classifier's weights.
    d = os.path.join(out, 'DebertaV2ForSequenceClassification')
    model = DebertaV2Model.from_pretrained(d, dtype=torch.float32).eval()
    path = os.path.join(d, 'expected.json')
    doc = json.load(open(path))
    for batch in doc['batches']:
        B, S = batch['shape']
        feeds = {k: torch.tensor(v).view(B, S) for k, v in batch['inputs'].items()}
        with torch.no_grad():
            o = model(**feeds)
        batch['last_hidden_state'] = ref.flat(o.last_hidden_state)
    # A sequence of 60 tokens, beyond max_position_embeddings (24): DeBERTa-v3 has no absolute
    # positions, and its relative ones are clamped.
    classifier = DebertaV2ForSequenceClassification.from_pretrained(d, dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(5, 500, (2, 60), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 50:] = 0
    ids[1, 50:] = 0
    with torch.no_grad():
        logits = classifier(input_ids=ids, attention_mask=mask).logits
    doc['beyond_max_positions'] = {'inputs': {'input_ids': ids.reshape(-1).tolist(), 'attention_mask': mask.reshape(-1).tolist()},
                                   'shape': [2, 60], 'logits': ref.flat(logits)}
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print('added DebertaV2Model outputs and a 60-token batch to', os.path.relpath(path))


if __name__ == '__main__':
    main()
