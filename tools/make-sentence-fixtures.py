"""Tiny sentence-transformers models written by sentence-transformers, their embeddings and loss values.

One random-init BERT body (hidden 32, 2 layers, 4 heads, a WordPiece vocabulary of its own) is
wrapped by sentence-transformers in several module stacks and saved with `save`:

- test/fixtures/sentence/base/: the full model directory (Transformer, Pooling mean, Normalize),
  with prompts ("query: ", "passage: ") and default_prompt_name "query";
- test/fixtures/sentence/<variant>/: the files sentence-transformers writes for other stacks on the
  same body (modules.json, sentence_bert_config.json, config_sentence_transformers.json,
  1_Pooling/config.json, 2_Dense/...), without the body's weights and tokenizer, which are
  the same as base/'s: tests copy those in. Pooling variants: cls, max, mean_sqrt_len_tokens,
  weightedmean, lasttoken, several modes at once, include_prompt false, no Normalize, a Dense
  projection (32 -> 16, tanh) before Normalize, and one with the legacy pooling_mode_* keys.
- expected.json: for every variant, the embeddings `encode` gives for TEXTS (batch 4, so padding
  matters), with and without the "query" prompt; and, on base's body with mean pooling and
  normalisation, the loss values of MultipleNegativesRanking (pairs, triplets, symmetric),
  CoSENT, CosineSimilarity, Contrastive, Triplet and Matryoshka(MNRL) on fixed batches, plus five
  AdamW steps of MultipleNegativesRanking (dropout off) with the loss of each step and the
  embeddings after them.

    /tmp/refvenv/bin/python tools/make-sentence-fixtures.py

With --check, loads a model directory tuna wrote (e.g. by `tuna train --task sentence-embedding`)
with sentence-transformers and compares its embeddings with those `tuna embed --json` printed:

    tuna embed --model DIR --input texts.txt --prompt-name query --json > tuna.jsonl
    /tmp/refvenv/bin/python tools/make-sentence-fixtures.py --check DIR tuna.jsonl [PROMPT_NAME]
"""
import json
import os
import shutil
import tempfile

import torch

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'sentence')
WORDS = (
    'a the cat dog sat on mat rug lay man woman plays guitar piano music is are was sleeping '
    'running park food eats bread apple how do i reset my password account card lost where '
    'what time open close store bank money send transfer weather today rain sunny cold hot '
    'question answer query passage search find'
).split()
TEXTS = [
    'the cat sat on the mat',
    'a dog lay on the rug',
    'how do i reset my password',
    'where is the bank',
    'a man plays guitar',
    'the weather is sunny today',
    'my card was lost',
    'what time does the store open',
    'quizzical',
]


def vocabulary():
    letters = [chr(c) for c in range(ord('a'), ord('z') + 1)]
    return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', '?', ':', *WORDS, *[c for c in letters if c not in WORDS], *[f'##{c}' for c in letters]]


def make_body(tmp):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = vocabulary()
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                     max_position_embeddings=48, type_vocab_size=2, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    torch.manual_seed(0)
    model = BertModel(cfg, add_pooling_layer=False)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'LayerNorm.weight' in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.2)
    body = os.path.join(tmp, 'body')
    os.makedirs(body)
    with open(os.path.join(body, 'vocab.txt'), 'w') as f:
        f.write('\n'.join(vocab) + '\n')
    tok = BertTokenizerFast(os.path.join(body, 'vocab.txt'), do_lower_case=True, model_max_length=48)
    model.save_pretrained(body)
    tok.save_pretrained(body)
    return body


def build(body, pooling, normalize=True, dense=None, include_prompt=True):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense, Normalize, Pooling, Transformer

    torch.manual_seed(0)  # the same (unused) pooler in every saved copy of the body
    modules = [Transformer(body, max_seq_length=40)]
    modules.append(Pooling(32, pooling_mode=pooling, include_prompt=include_prompt))
    if dense is not None:
        torch.manual_seed(1)
        d = Dense(32, dense, activation_function=torch.nn.Tanh())
        with torch.no_grad():
            d.linear.weight.normal_(0, 0.3)
            d.linear.bias.normal_(0, 0.1)
        modules.append(d)
    if normalize:
        modules.append(Normalize())
    return SentenceTransformer(modules=modules, prompts={'query': 'query: ', 'document': 'passage: '}, default_prompt_name=None, device='cpu')


VARIANTS = {
    'base': dict(pooling='mean'),
    'cls': dict(pooling='cls'),
    'max': dict(pooling='max', normalize=False),
    'mean-sqrt': dict(pooling='mean_sqrt_len_tokens', normalize=False),
    'weightedmean': dict(pooling='weightedmean'),
    'lasttoken': dict(pooling='lasttoken', normalize=False),
    'multi': dict(pooling=('cls', 'mean', 'max')),
    'no-prompt-pooling': dict(pooling='mean', include_prompt=False),
    'no-prompt-cls': dict(pooling='cls', include_prompt=False, normalize=False),
    'dense': dict(pooling='mean', dense=16),
}

BODY_FILES = ('model.safetensors', 'config.json', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json')


def to_list(t):
    return [[round(float(x), 6) for x in row] for row in t]


def embed(model, texts, **kw):
    return to_list(model.encode(texts, batch_size=4, convert_to_tensor=True, **kw))


def losses(model):
    """Loss values on fixed batches (mean pooling, normalised, dropout off)."""
    from sentence_transformers import losses as L

    model.eval()
    anchors = TEXTS[:4]
    positives = ['a cat lay on the rug', 'the dog sat on a mat', 'reset password account', 'bank open time']
    negatives = ['the weather is cold', 'send money transfer', 'a woman plays piano', 'apple bread food']
    scores = [0.9, 0.1, 0.6, 0.3]
    labels01 = [1.0, 0.0, 1.0, 0.0]

    def feats(texts):
        return model.preprocess(texts)

    def value(loss, columns, labels=None):
        with torch.no_grad():
            return float(loss([feats(c) for c in columns], torch.tensor(labels) if labels is not None else None))

    out = {
        'anchors': anchors, 'positives': positives, 'negatives': negatives, 'scores': scores, 'binary_labels': labels01,
        'mnrl_pairs': value(L.MultipleNegativesRankingLoss(model), [anchors, positives]),
        'mnrl_triplets': value(L.MultipleNegativesRankingLoss(model), [anchors, positives, negatives]),
        'mnrl_scale_10': value(L.MultipleNegativesRankingLoss(model, scale=10), [anchors, positives, negatives]),
        'mnrl_symmetric': value(L.MultipleNegativesRankingLoss(model, directions=('query_to_doc', 'doc_to_query'), partition_mode='per_direction'), [anchors, positives]),
        'cosent': value(L.CoSENTLoss(model), [anchors, positives], scores),
        'cosine_mse': value(L.CosineSimilarityLoss(model), [anchors, positives], scores),
        'contrastive': value(L.ContrastiveLoss(model), [anchors, positives], labels01),
        'triplet': value(L.TripletLoss(model), [anchors, positives, negatives]),
        'matryoshka_mnrl': value(L.MatryoshkaLoss(model, L.MultipleNegativesRankingLoss(model), [32, 16, 8]), [anchors, positives, negatives]),
        'matryoshka_triplet': value(L.MatryoshkaLoss(model, L.TripletLoss(model), [32, 8], matryoshka_weights=[1, 0.5]), [anchors, positives, negatives]),
    }
    # Five AdamW steps of MultipleNegativesRanking on the triplet batch, dropout off (eval mode).
    loss = L.MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0)
    steps = []
    for _ in range(5):
        opt.zero_grad()
        value_t = loss([feats(c) for c in [anchors, positives, negatives]], None)
        value_t.backward()
        opt.step()
        steps.append(float(value_t))
    out['train'] = {'loss': 'mnrl', 'lr': 1e-3, 'eps': 1e-6, 'betas': [0.9, 0.999], 'weight_decay': 0.0, 'step_losses': steps}
    out['train']['embeddings_after'] = embed(model, TEXTS)
    return out


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    expected = {'texts': TEXTS, 'variants': {}}
    with tempfile.TemporaryDirectory() as tmp:
        body = make_body(tmp)
        for name, spec in VARIANTS.items():
            model = build(body, **spec)
            model.eval()
            target = os.path.join(ROOT, name)
            model.save(target)
            expected['variants'][name] = {
                'spec': {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.items()},
                'plain': embed(model, TEXTS),
                'query': embed(model, TEXTS, prompt_name='query'),
                'custom_prompt': embed(model, TEXTS[:3], prompt='search: '),
            }
            if name == 'base':
                expected['variants'][name]['document'] = embed(model, TEXTS, prompt_name='document')
                expected['variants'][name]['tokens'] = [model.tokenizer(t)['input_ids'] for t in TEXTS]
            if name != 'base':
                for f in BODY_FILES:
                    p = os.path.join(target, f)
                    if os.path.exists(p):
                        os.remove(p)
            readme = os.path.join(target, 'README.md')
            if os.path.exists(readme):
                os.remove(readme)
        # A legacy pooling config (the pooling_mode_* keys of sentence-transformers before 6), loaded
        # by sentence-transformers 6 with the same meaning.
        legacy = os.path.join(ROOT, 'legacy-pooling')
        shutil.copytree(os.path.join(ROOT, 'weightedmean'), legacy)
        with open(os.path.join(legacy, '1_Pooling', 'config.json'), 'w') as f:
            json.dump({'word_embedding_dimension': 32, 'pooling_mode_cls_token': False, 'pooling_mode_mean_tokens': False,
                       'pooling_mode_max_tokens': False, 'pooling_mode_mean_sqrt_len_tokens': False,
                       'pooling_mode_weightedmean_tokens': True, 'pooling_mode_lasttoken': False, 'include_prompt': True}, f, indent=4)
        from sentence_transformers import SentenceTransformer
        check = os.path.join(tmp, 'legacy')
        shutil.copytree(legacy, check)
        for f in BODY_FILES:
            if os.path.exists(os.path.join(ROOT, 'base', f)):
                shutil.copy(os.path.join(ROOT, 'base', f), os.path.join(check, f))
        legacy_model = SentenceTransformer(check, device='cpu')
        expected['variants']['legacy-pooling'] = {'spec': {'pooling': 'weightedmean', 'legacy': True}, 'plain': embed(legacy_model, TEXTS)}
        base = SentenceTransformer(os.path.join(ROOT, 'base'), device='cpu')
        expected['losses'] = losses(base)
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(expected, f)
    print('written', ROOT)


def check(directory, embeddings_file, prompt_name=None):
    import sys
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(directory, device='cpu')
    rows = [json.loads(line) for line in open(embeddings_file, encoding='utf-8')]
    reference = model.encode([r['text'] for r in rows], prompt_name=prompt_name, convert_to_tensor=True)
    tuna = torch.tensor([r['embedding'] for r in rows])
    cosine = torch.nn.functional.cosine_similarity(reference, tuna, dim=1)
    print(f'modules {[type(m).__name__ for m in model]}, prompts {model.prompts}')
    print(f'{len(rows)} texts: min cosine {float(cosine.min()):.8f}, max |diff| {float((reference - tuna).abs().max()):.3e}')
    sys.exit(0 if float(cosine.min()) >= 0.99999 else 1)


if __name__ == '__main__':
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == '--check':
        check(*sys.argv[2:5])
    else:
        main()
