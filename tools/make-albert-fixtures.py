"""Tiny ALBERT checkpoints written by Hugging Face transformers, with their outputs and training losses.

As tools/make-electra-fixtures.py does for ELECTRA (whose helpers this script reuses), for
AlbertForSequenceClassification, AlbertForTokenClassification and AlbertForMaskedLM: random-init
models (hidden 32, 4 heads, embedding_size 16) whose layer weights are shared in three ways:

- sequence classification: 2 layers, one group of one layer (the same weights used twice), the
  vocabulary of test/fixtures/hf-tokenizers/albert-unigram (297 ids) so that the CLI test can use
  that tokenizer; its expected.json also holds AlbertModel's last_hidden_state and pooler_output;
- token classification: 4 layers, 2 groups (each used by two consecutive layers), exact GELU;
- masked LM: 2 layers, one group of 2 inner layers (4 layer applications of 2 weight sets).

Each is saved with `save_pretrained` (safetensors, float16), reloaded in float32, run on fixed
inputs with labels, and trained for 20 AdamW steps in a plain PyTorch loop (dropout off) from the
same weights. Written to test/fixtures/albert/<architecture>/.

    /tmp/refvenv/bin/python tools/make-albert-fixtures.py
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


def main():
    from transformers import AlbertConfig, AlbertForMaskedLM, AlbertForSequenceClassification, AlbertForTokenClassification, AlbertModel

    out = os.path.join(ref.ROOT, 'albert')
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    P = 24
    base = dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_hidden_groups=1, inner_group_num=1, num_attention_heads=4,
                intermediate_size=37, hidden_act='gelu_new', hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                classifier_dropout_prob=0.1, max_position_embeddings=P, type_vocab_size=2, initializer_range=0.2, layer_norm_eps=1e-12,
                pad_token_id=0, bos_token_id=2, eos_token_id=3)
    labels3 = {'0': 'negative', '1': 'neutral', '2': 'positive'}
    tags = {str(i): t for i, t in enumerate(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'])}
    cases = [
        ('AlbertForSequenceClassification', AlbertForSequenceClassification, 'sequence',
         dict(vocab_size=297, id2label=labels3, label2id={v: int(k) for k, v in labels3.items()}), 3),
        ('AlbertForTokenClassification', AlbertForTokenClassification, 'token',
         dict(vocab_size=99, num_hidden_layers=4, num_hidden_groups=2, hidden_act='gelu', id2label=tags,
              label2id={v: int(k) for k, v in tags.items()}), 5),
        ('AlbertForMaskedLM', AlbertForMaskedLM, 'masked-lm', dict(vocab_size=99, inner_group_num=2), 2),
    ]
    for i, (name, cls, kind, extra, n) in enumerate(cases):
        config = AlbertConfig(**{**base, **extra})
        ref.write_case(out, name, lambda: cls(config), kind, cls, n, config.vocab_size, P, 10 * (i + 1), ['logits'])

    # AlbertModel (with its pooler) on the sequence classifier's weights.
    d = os.path.join(out, 'AlbertForSequenceClassification')
    model = AlbertModel.from_pretrained(d, dtype=torch.float32, attn_implementation='eager').eval()
    path = os.path.join(d, 'expected.json')
    doc = json.load(open(path))
    for batch in doc['batches']:
        B, S = batch['shape']
        feeds = {k: torch.tensor(v).view(B, S) for k, v in batch['inputs'].items()}
        with torch.no_grad():
            o = model(**feeds)
        batch['last_hidden_state'] = ref.flat(o.last_hidden_state)
        batch['pooler_output'] = ref.flat(o.pooler_output)
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print('added AlbertModel outputs to', os.path.relpath(path))


if __name__ == '__main__':
    main()
