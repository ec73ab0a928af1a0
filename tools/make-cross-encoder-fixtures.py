"""Tiny cross-encoders written by sentence-transformers' CrossEncoder, their scores and loss values.

The random-init BERT body of tools/make-sentence-fixtures.py (hidden 32, 2 layers, its own WordPiece
vocabulary) gets a sequence-classification head with one label and is saved by
`CrossEncoder.save_pretrained` (max_length 24, so long pairs are truncated):

- test/fixtures/cross-encoder/base/: the full directory (modules.json, sentence_bert_config.json,
  config_sentence_transformers.json with activation_fn Sigmoid, config.json, weights, tokenizer);
- identity/: the files besides the weights and tokenizer of the same model saved with an Identity
  activation (tests copy model.safetensors and the tokenizer files from base/);
- legacy-v4/: only a config.json with the `sentence_transformers` block {activation_fn, version} of
  sentence-transformers 4 and 5 (no modules.json), activation Identity;
- legacy-v3/: only a config.json with `sbert_ce_default_activation_function` (before 4), Tanh;
- labels3/: a full, smaller model (hidden 16, 1 layer, same vocabulary) with 3 labels (Identity);
- expected.json: `predict` scores of PAIRS (batch 4, so padding matters; one pair beyond the
  maximum length) for every variant, `rank` outputs, the BinaryCrossEntropyLoss (0/1 labels and
  float scores), MSELoss and CrossEntropyLoss (3 labels) values on a fixed batch (dropout off),
  and five AdamW steps of BinaryCrossEntropyLoss with the loss of each step and the scores after.

    /tmp/refvenv/bin/python tools/make-cross-encoder-fixtures.py

With --check, loads a model directory tuna wrote (e.g. by `tuna train --task cross-encoder`) with
CrossEncoder and compares its `predict` scores with those tuna printed (JSON Lines with `query`,
`passage` and `score`, as `tuna rerank --json` prints them):

    /tmp/refvenv/bin/python tools/make-cross-encoder-fixtures.py --check DIR scores.jsonl
"""
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', 'test', 'fixtures', 'cross-encoder')

QUERY = 'how do i reset my password'
DOCUMENTS = [
    'reset my password account',
    'the weather is sunny today',
    'where is the bank',
    'how do i send money transfer',
    'my card was lost',
]
LONG = ' '.join(['the cat sat on the mat and the dog lay on the rug'] * 3)
PAIRS = [
    ['how do i reset my password', 'reset password account'],
    ['where is the bank', 'the bank is open'],
    ['what time does the store open', 'the store is open today'],
    ['a man plays guitar', LONG],
    ['the weather is cold', 'rain today'],
    ['my card was lost', 'lost card'],
    ['quizzical', 'a dog'],
    ['send money', 'transfer money to my account'],
]
LOSS_BATCH = {
    'queries': ['how do i reset my password', 'where is the bank', 'a man plays guitar', 'the weather is sunny today'],
    'passages': ['reset password account', 'send money transfer', 'a woman plays piano', 'rain today cold'],
    'labels': [1.0, 0.0, 1.0, 0.0],
    'scores': [0.9, 0.2, 0.6, 0.1],
    'classes': [0, 2, 1, 0],
}


def sentence_fixtures():
    spec = importlib.util.spec_from_file_location('sentence_fixtures', os.path.join(HERE, 'make-sentence-fixtures.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_small_body(tmp, vocab):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24,
                     max_position_embeddings=48, type_vocab_size=2)
    torch.manual_seed(3)
    model = BertModel(cfg, add_pooling_layer=False)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p)) if 'LayerNorm.weight' in name else p.normal_(0, 0.3)
    body = os.path.join(tmp, 'small')
    os.makedirs(body)
    with open(os.path.join(body, 'vocab.txt'), 'w') as f:
        f.write('\n'.join(vocab) + '\n')
    BertTokenizerFast(os.path.join(body, 'vocab.txt'), do_lower_case=True, model_max_length=48).save_pretrained(body)
    model.save_pretrained(body)
    return body


def cross_encoder(body, num_labels, activation=None, seed=0):
    from sentence_transformers import CrossEncoder

    torch.manual_seed(seed)
    kwargs = {} if activation is None else {'activation_fn': activation}
    model = CrossEncoder(body, num_labels=num_labels, max_length=24, device='cpu', **kwargs)
    with torch.no_grad():
        model.model.classifier.weight.normal_(0, 0.5)
        model.model.classifier.bias.normal_(0, 0.2)
    model.eval()
    return model


def scores(model, pairs, **kw):
    out = model.predict(pairs, batch_size=4, convert_to_tensor=True, **kw)
    return out.tolist()


def save(model, target):
    model.save_pretrained(target)
    readme = os.path.join(target, 'README.md')
    if os.path.exists(readme):
        os.remove(readme)


def losses(model, small):
    from sentence_transformers.cross_encoder import losses as L

    b = LOSS_BATCH
    inputs = [b['queries'], b['passages']]
    with torch.no_grad():
        out = {
            **b,
            'bce': float(L.BinaryCrossEntropyLoss(model)(inputs, torch.tensor(b['labels']))),
            'bce_scores': float(L.BinaryCrossEntropyLoss(model)(inputs, torch.tensor(b['scores']))),
            'mse': float(L.MSELoss(model)(inputs, torch.tensor(b['scores']))),
            'cross_entropy_3': float(L.CrossEntropyLoss(small)(inputs, torch.tensor(b['classes']))),
        }
    # Five AdamW steps of BinaryCrossEntropyLoss on the batch, dropout off (eval mode), no clipping.
    loss = L.BinaryCrossEntropyLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps = []
    for _ in range(5):
        opt.zero_grad()
        value = loss(inputs, torch.tensor(b['labels']))
        value.backward()
        opt.step()
        steps.append(float(value))
    out['train'] = {'loss': 'bce', 'lr': 1e-3, 'eps': 1e-8, 'betas': [0.9, 0.999], 'weight_decay': 0.0, 'step_losses': steps,
                    'scores_after': scores(model, PAIRS)}
    return out


def main():
    from sentence_transformers import CrossEncoder

    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    st = sentence_fixtures()
    expected = {'pairs': PAIRS, 'query': QUERY, 'documents': DOCUMENTS, 'max_length': 24, 'variants': {}}
    with tempfile.TemporaryDirectory() as tmp:
        body = st.make_body(tmp)
        base = cross_encoder(body, 1)
        save(base, os.path.join(ROOT, 'base'))
        identity = cross_encoder(body, 1, torch.nn.Identity())
        save(identity, os.path.join(tmp, 'identity'))
        os.makedirs(os.path.join(ROOT, 'identity'))
        for f in ('config_sentence_transformers.json', 'modules.json', 'sentence_bert_config.json', 'config.json'):
            shutil.copy(os.path.join(tmp, 'identity', f), os.path.join(ROOT, 'identity', f))
        small = cross_encoder(make_small_body(tmp, st.vocabulary()), 3, seed=4)
        save(small, os.path.join(ROOT, 'labels3'))

        # Older layouts: config.json alone carries the activation.
        with open(os.path.join(ROOT, 'base', 'config.json')) as f:
            config = json.load(f)
        for name, extra in (
            ('legacy-v4', {'sentence_transformers': {'activation_fn': 'torch.nn.modules.linear.Identity', 'version': '4.1.0'}}),
            ('legacy-v3', {'sbert_ce_default_activation_function': 'torch.nn.modules.activation.Tanh'}),
        ):
            os.makedirs(os.path.join(ROOT, name))
            with open(os.path.join(ROOT, name, 'config.json'), 'w') as f:
                json.dump({**config, **extra}, f, indent=2)

        def loaded(name):
            """The variant as sentence-transformers loads it from disk, base's weights and tokenizer copied in."""
            if name in ('base', 'labels3'):
                return CrossEncoder(os.path.join(ROOT, name), device='cpu')
            d = os.path.join(tmp, 'check-' + name)
            shutil.copytree(os.path.join(ROOT, name), d)
            for f in ('model.safetensors', 'tokenizer.json', 'tokenizer_config.json'):
                shutil.copy(os.path.join(ROOT, 'base', f), os.path.join(d, f))
            return CrossEncoder(d, device='cpu')

        for name in ('base', 'identity', 'legacy-v4', 'legacy-v3', 'labels3'):
            m = loaded(name)
            entry = {
                'activation': type(m.activation_fn).__name__,
                'num_labels': m.num_labels,
                'scores': scores(m, PAIRS),
                'logits': scores(m, PAIRS, activation_fn=torch.nn.Identity()),
            }
            if m.num_labels == 1:
                entry['rank'] = m.rank(QUERY, DOCUMENTS, batch_size=4)
                entry['rank_top3_docs'] = m.rank(QUERY, DOCUMENTS, top_k=3, return_documents=True, batch_size=4)
            else:
                entry['softmax'] = scores(m, PAIRS, apply_softmax=True)
            expected['variants'][name] = entry
        expected['tokens'] = [loaded('base').tokenizer(q, p, truncation='longest_first', max_length=24)['input_ids'] for q, p in PAIRS]
        expected['losses'] = losses(loaded('base'), loaded('labels3'))
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(expected, f)
    print('written', ROOT)


def check(directory, scores_file):
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(directory, device='cpu')
    rows = [json.loads(line) for line in open(scores_file, encoding='utf-8') if line.strip()]
    reference = model.predict([[r['query'], r['passage']] for r in rows], convert_to_tensor=True).reshape(len(rows), -1)
    tuna = torch.tensor([r['score'] if isinstance(r['score'], list) else [r['score']] for r in rows])
    diff = float((reference - tuna).abs().max())
    print(f'activation {type(model.activation_fn).__name__}, {model.num_labels} label(s), max length {model.max_seq_length}')
    print(f'{len(rows)} pairs: max |diff| {diff:.3e}')
    sys.exit(0 if diff <= 1e-5 else 1)


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--check':
        check(*sys.argv[2:4])
    else:
        main()
