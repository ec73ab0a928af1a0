"""Tiny BERT checkpoints and their expected outputs, computed with a plain PyTorch BERT.

The model below follows the Hugging Face BERT definition (parameter names, post-LayerNorm
encoder, erf GELU, additive attention mask with the float32 minimum, pooler on [CLS], heads) but
is written independently of tuna. For every head it writes test/fixtures/bert/<case>/ with
config.json and model.safetensors (Hugging Face names; some cases in F16/BF16 or with legacy
gamma/beta names) and expected.json with inputs, outputs and losses.

With `gradients` (also part of a full run), it writes test/fixtures/bert-gradients/<head>/ for a
sequence-classification and a token-classification head: config.json and model.safetensors (F32),
batch.json (a fixed padded batch with labels, and the loss) and gradients.safetensors, the
gradient of the loss with respect to every parameter, under the parameter's name. Dropout is off
(the model below has none) and the reference runs in float64 from the float32 weights, so its
gradients are exact to float32 and the comparison measures tuna's error alone.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install --no-index --find-links WHEELS "torch==2.13.0+cpu" numpy
    /tmp/venv/bin/python tools/make-bert-fixtures.py            # everything
    /tmp/venv/bin/python tools/make-bert-fixtures.py gradients  # only test/fixtures/bert-gradients

(or Debian's `apt-get install python3-torch` and the system python3).
"""
import json
import math
import os
import shutil
import struct
import sys

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'bert')
OUT_GRADIENTS = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'bert-gradients')
CFG = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
           hidden_act='gelu', hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=40,
           type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
           position_embedding_type='absolute', model_type='bert')


def body(prefix, std=0.2, pooler=True):
    H, I, V = CFG['hidden_size'], CFG['intermediate_size'], CFG['vocab_size']
    p = {}

    def add(name, *shape, kind='normal'):
        if kind == 'ones':
            t = 1 + 0.1 * torch.randn(*shape)
        elif kind == 'bias':
            t = 0.05 * torch.randn(*shape)
        else:
            t = std * torch.randn(*shape)
        p[prefix + name] = t

    add('embeddings.word_embeddings.weight', V, H)
    add('embeddings.position_embeddings.weight', CFG['max_position_embeddings'], H)
    add('embeddings.token_type_embeddings.weight', CFG['type_vocab_size'], H)
    add('embeddings.LayerNorm.weight', H, kind='ones')
    add('embeddings.LayerNorm.bias', H, kind='bias')
    for l in range(CFG['num_hidden_layers']):
        n = f'encoder.layer.{l}.'
        for part in ('query', 'key', 'value'):
            add(n + f'attention.self.{part}.weight', H, H)
            add(n + f'attention.self.{part}.bias', H, kind='bias')
        add(n + 'attention.output.dense.weight', H, H)
        add(n + 'attention.output.dense.bias', H, kind='bias')
        add(n + 'attention.output.LayerNorm.weight', H, kind='ones')
        add(n + 'attention.output.LayerNorm.bias', H, kind='bias')
        add(n + 'intermediate.dense.weight', I, H)
        add(n + 'intermediate.dense.bias', I, kind='bias')
        add(n + 'output.dense.weight', H, I)
        add(n + 'output.dense.bias', H, kind='bias')
        add(n + 'output.LayerNorm.weight', H, kind='ones')
        add(n + 'output.LayerNorm.bias', H, kind='bias')
    if pooler:
        add('pooler.dense.weight', H, H)
        add('pooler.dense.bias', H, kind='bias')
    return p


def encode(p, prefix, ids, types, mask):
    H, heads = CFG['hidden_size'], CFG['num_attention_heads']
    dh = H // heads
    B, S = ids.shape
    w = lambda n: p[prefix + n]
    x = w('embeddings.word_embeddings.weight')[ids] + w('embeddings.token_type_embeddings.weight')[types] \
        + w('embeddings.position_embeddings.weight')[torch.arange(S)]
    x = F.layer_norm(x, (H,), w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), CFG['layer_norm_eps'])
    ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    hidden_states = [x]
    for l in range(CFG['num_hidden_layers']):
        n = f'encoder.layer.{l}.'
        lin = lambda t, k: t @ w(n + k + '.weight').T + w(n + k + '.bias')
        heads_of = lambda t: t.view(B, S, heads, dh).permute(0, 2, 1, 3)
        q, k, v = (heads_of(lin(x, f'attention.self.{part}')) for part in ('query', 'key', 'value'))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + ext
        ctx = (torch.softmax(scores, -1) @ v).permute(0, 2, 1, 3).reshape(B, S, H)
        h = F.layer_norm(lin(ctx, 'attention.output.dense') + x, (H,), w(n + 'attention.output.LayerNorm.weight'),
                         w(n + 'attention.output.LayerNorm.bias'), CFG['layer_norm_eps'])
        ff = F.gelu(lin(h, 'intermediate.dense'))
        x = F.layer_norm(lin(ff, 'output.dense') + h, (H,), w(n + 'output.LayerNorm.weight'),
                         w(n + 'output.LayerNorm.bias'), CFG['layer_norm_eps'])
        hidden_states.append(x)
    pooled = None
    if prefix + 'pooler.dense.weight' in p:
        pooled = torch.tanh(x[:, 0] @ w('pooler.dense.weight').T + w('pooler.dense.bias'))
    return x, pooled, hidden_states


def mlm_params(p):
    H, V = CFG['hidden_size'], CFG['vocab_size']
    p['cls.predictions.transform.dense.weight'] = 0.2 * torch.randn(H, H)
    p['cls.predictions.transform.dense.bias'] = 0.05 * torch.randn(H)
    p['cls.predictions.transform.LayerNorm.weight'] = 1 + 0.1 * torch.randn(H)
    p['cls.predictions.transform.LayerNorm.bias'] = 0.05 * torch.randn(H)
    p['cls.predictions.bias'] = 0.05 * torch.randn(V)


def mlm_logits(p, x):
    H = CFG['hidden_size']
    t = F.gelu(x @ p['cls.predictions.transform.dense.weight'].T + p['cls.predictions.transform.dense.bias'])
    t = F.layer_norm(t, (H,), p['cls.predictions.transform.LayerNorm.weight'], p['cls.predictions.transform.LayerNorm.bias'],
                     CFG['layer_norm_eps'])
    return t @ p['bert.embeddings.word_embeddings.weight'].T + p['cls.predictions.bias']


def to_half(t):
    return t.half().float()


def to_bf16(t):
    return t.bfloat16().float()


def write_safetensors(path, tensors, dtype):
    header = {'__metadata__': {'format': 'pt'}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if dtype == 'F16':
            raw = t.half().numpy().tobytes()
        elif dtype == 'BF16':
            raw = (t.bfloat16().view(torch.int16).numpy().tobytes())
        else:
            raw = t.float().numpy().tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def inputs():
    """Three padded sequences (one a sentence pair) and a full-length sequence."""
    V, S = CFG['vocab_size'], 12
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(5, V, (3, S), generator=g)
    ids[:, 0] = 2  # [CLS]
    types = torch.zeros(3, S, dtype=torch.int64)
    mask = torch.ones(3, S, dtype=torch.int64)
    ids[0, 7] = 3  # [SEP]
    mask[0, 8:] = 0
    ids[0, 8:] = 0
    ids[1, 4], ids[1, 11] = 3, 3  # pair: [CLS] a [SEP] b [SEP]
    types[1, 5:] = 1
    ids[2, 11] = 3
    long_ids = torch.randint(5, V, (1, CFG['max_position_embeddings']), generator=g)
    long_ids[0, 0] = 2
    long_ids[0, -1] = 3
    return [
        {'input_ids': ids, 'token_type_ids': types, 'attention_mask': mask},
        {'input_ids': long_ids, 'token_type_ids': torch.zeros_like(long_ids), 'attention_mask': torch.ones_like(long_ids)},
    ]


def main():
    torch.manual_seed(1234)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    batches = inputs()
    cases = [
        ('BertModel', 'F32', {}),
        ('BertForSequenceClassification', 'F32', {'id2label': {'0': 'negative', '1': 'neutral', '2': 'positive'}}),
        ('BertForSequenceClassification-multilabel', 'F32', {'id2label': {'0': 'a', '1': 'b', '2': 'c', '3': 'd'},
                                                             'problem_type': 'multi_label_classification'}),
        ('BertForTokenClassification', 'F32', {'id2label': {str(i): t for i, t in enumerate(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'])}}),
        ('BertForMaskedLM', 'F16', {}),
        ('BertForNextSentencePrediction', 'BF16', {}),
        ('BertForPreTraining', 'F32-legacy', {}),
    ]
    for case, dtype, extra in cases:
        arch = case.split('-')[0]
        prefix = '' if arch == 'BertModel' else 'bert.'
        pooler = arch not in ('BertForMaskedLM', 'BertForTokenClassification')
        p = body(prefix, pooler=pooler)
        n_labels = len(extra.get('id2label', {'0': 'LABEL_0', '1': 'LABEL_1'}))
        H = CFG['hidden_size']
        if arch in ('BertForSequenceClassification', 'BertForTokenClassification'):
            p['classifier.weight'] = 0.2 * torch.randn(n_labels, H)
            p['classifier.bias'] = 0.05 * torch.randn(n_labels)
        if arch in ('BertForMaskedLM', 'BertForPreTraining'):
            mlm_params(p)
        if arch in ('BertForNextSentencePrediction', 'BertForPreTraining'):
            p['cls.seq_relationship.weight'] = 0.2 * torch.randn(2, H)
            p['cls.seq_relationship.bias'] = 0.05 * torch.randn(2)
        store = dtype.split('-')[0]
        if store == 'F16':
            p = {k: to_half(v) for k, v in p.items()}
        elif store == 'BF16':
            p = {k: to_bf16(v) for k, v in p.items()}
        saved = dict(p)
        if dtype.endswith('legacy'):
            saved = {k.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'): v for k, v in saved.items()}
        d = os.path.join(OUT, case)
        os.makedirs(d)
        config = dict(CFG, architectures=[arch], **extra)
        with open(os.path.join(d, 'config.json'), 'w') as f:
            json.dump(config, f, indent=2)
        write_safetensors(os.path.join(d, 'model.safetensors'), saved, store)

        results = []
        for bi, batch in enumerate(batches):
            ids, types, mask = batch['input_ids'], batch['token_type_ids'], batch['attention_mask']
            x, pooled, hs = encode(p, prefix, ids, types, mask)
            B, S = ids.shape
            g = torch.Generator().manual_seed(100 + bi)
            out = {'inputs': {k: v.reshape(-1).tolist() for k, v in batch.items()}, 'shape': [B, S], 'outputs': {}}
            if arch == 'BertModel':
                out['outputs'] = {'last_hidden_state': flat(x), 'pooler_output': flat(pooled)}
                out['hidden_states'] = [flat(h) for h in hs]
            elif arch == 'BertForSequenceClassification':
                logits = pooled @ p['classifier.weight'].T + p['classifier.bias']
                out['outputs'] = {'logits': flat(logits)}
                if extra.get('problem_type') == 'multi_label_classification':
                    labels = (torch.rand(B, n_labels, generator=g) > 0.5).float()
                    out['labels'] = {'labels': flat(labels)}
                    out['loss'] = float(F.binary_cross_entropy_with_logits(logits, labels))
                else:
                    labels = torch.randint(0, n_labels, (B,), generator=g)
                    out['labels'] = {'labels': labels.tolist()}
                    out['loss'] = float(F.cross_entropy(logits, labels))
            elif arch == 'BertForTokenClassification':
                logits = x @ p['classifier.weight'].T + p['classifier.bias']
                labels = torch.randint(0, n_labels, (B, S), generator=g)
                labels[mask == 0] = -100
                labels[:, 0] = -100
                out['outputs'] = {'logits': flat(logits)}
                out['labels'] = {'labels': labels.reshape(-1).tolist()}
                out['loss'] = float(F.cross_entropy(logits.reshape(-1, n_labels), labels.reshape(-1), ignore_index=-100))
            elif arch == 'BertForMaskedLM':
                logits = mlm_logits(p, x)
                labels = torch.full((B, S), -100, dtype=torch.int64)
                pick = torch.rand(B, S, generator=g) < 0.3
                labels[pick & (mask == 1)] = ids[pick & (mask == 1)]
                out['outputs'] = {'logits': flat(logits)}
                out['labels'] = {'labels': labels.reshape(-1).tolist()}
                out['loss'] = float(F.cross_entropy(logits.reshape(-1, CFG['vocab_size']), labels.reshape(-1), ignore_index=-100))
            elif arch == 'BertForNextSentencePrediction':
                logits = pooled @ p['cls.seq_relationship.weight'].T + p['cls.seq_relationship.bias']
                labels = torch.randint(0, 2, (B,), generator=g)
                out['outputs'] = {'logits': flat(logits)}
                out['labels'] = {'labels': labels.tolist()}
                out['loss'] = float(F.cross_entropy(logits, labels))
            elif arch == 'BertForPreTraining':
                pred = mlm_logits(p, x)
                rel = pooled @ p['cls.seq_relationship.weight'].T + p['cls.seq_relationship.bias']
                labels = torch.full((B, S), -100, dtype=torch.int64)
                pick = torch.rand(B, S, generator=g) < 0.3
                labels[pick & (mask == 1)] = ids[pick & (mask == 1)]
                nsl = torch.randint(0, 2, (B,), generator=g)
                out['outputs'] = {'prediction_logits': flat(pred), 'seq_relationship_logits': flat(rel)}
                out['labels'] = {'labels': labels.reshape(-1).tolist(), 'next_sentence_label': nsl.tolist()}
                out['loss'] = float(F.cross_entropy(pred.reshape(-1, CFG['vocab_size']), labels.reshape(-1), ignore_index=-100)
                                    + F.cross_entropy(rel, nsl))
            results.append(out)
        with open(os.path.join(d, 'expected.json'), 'w') as f:
            json.dump({'architecture': arch, 'dtype': dtype, 'batches': results}, f)
        print('wrote', case)


def text_case():
    """A classifier over the uncased tokenizer fixture's vocabulary, run on the texts whose ids
    transformers.js produced (test/fixtures/tokenizer/uncased/expected.json): tokenizer and model
    checked together. Sequences longer than max_position_embeddings keep their first tokens and
    end with [SEP], as Hugging Face truncation does."""
    torch.manual_seed(99)
    tok_dir = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'tokenizer', 'uncased')
    vocab = open(os.path.join(tok_dir, 'vocab.txt'), encoding='utf-8').read().split('\n')[:-1]
    # Texts that are not valid Unicode (lone surrogates) cannot be written as UTF-8 JSON; the
    # tokenizer tests cover them.
    cases = [c for c in json.load(open(os.path.join(tok_dir, 'expected.json'), encoding='utf-8'))['cases']
             if 'pair' not in c and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in c['text'])]
    saved_vocab = CFG['vocab_size']
    CFG['vocab_size'] = len(vocab)
    p = body('bert.')
    p['classifier.weight'] = 0.2 * torch.randn(2, CFG['hidden_size'])
    p['classifier.bias'] = 0.05 * torch.randn(2)
    d = os.path.join(OUT, 'BertForSequenceClassification-text')
    os.makedirs(d)
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(dict(CFG, architectures=['BertForSequenceClassification']), f, indent=2)
    write_safetensors(os.path.join(d, 'model.safetensors'), p, 'F32')
    sep = vocab.index('[SEP]')
    results = []
    for c in cases:
        ids = c['input_ids']
        if len(ids) > CFG['max_position_embeddings']:
            ids = ids[:CFG['max_position_embeddings'] - 1] + [sep]
        t = torch.tensor([ids])
        x, pooled, _ = encode(p, 'bert.', t, torch.zeros_like(t), torch.ones_like(t))
        logits = pooled @ p['classifier.weight'].T + p['classifier.bias']
        results.append({'text': c['text'], 'input_ids': ids, 'logits': flat(logits)})
    with open(os.path.join(d, 'texts.json'), 'w', encoding='utf-8') as f:
        json.dump({'tokenizer': 'test/fixtures/tokenizer/uncased', 'cases': results}, f, ensure_ascii=False)
    CFG['vocab_size'] = saved_vocab
    print('wrote BertForSequenceClassification-text')


def gradient_batch():
    """A fixed batch of 3 x 10 tokens: a padded single sentence, a sentence pair, and a full row."""
    V, S = CFG['vocab_size'], 10
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(5, V, (3, S), generator=g)
    ids[:, 0] = 2  # [CLS]
    types = torch.zeros(3, S, dtype=torch.int64)
    mask = torch.ones(3, S, dtype=torch.int64)
    ids[0, 5] = 3  # [SEP], then padding
    ids[0, 6:] = 0
    mask[0, 6:] = 0
    ids[1, 3], ids[1, 9] = 3, 3  # [CLS] a [SEP] b [SEP]
    types[1, 4:] = 1
    ids[2, 9] = 3
    return {'input_ids': ids, 'token_type_ids': types, 'attention_mask': mask}


def gradients():
    """Gradients of the loss with respect to every parameter, for the two fine-tuning heads."""
    torch.manual_seed(4321)
    os.makedirs(OUT_GRADIENTS, exist_ok=True)
    batch = gradient_batch()
    ids, types, mask = batch['input_ids'], batch['token_type_ids'], batch['attention_mask']
    B, S = ids.shape
    H = CFG['hidden_size']
    cases = [
        ('BertForSequenceClassification', ['negative', 'neutral', 'positive']),
        ('BertForTokenClassification', ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']),
    ]
    for arch, labels_names in cases:
        n = len(labels_names)
        sequence = arch == 'BertForSequenceClassification'
        p = body('bert.', pooler=sequence)
        p['classifier.weight'] = 0.2 * torch.randn(n, H)
        p['classifier.bias'] = 0.05 * torch.randn(n)
        g = torch.Generator().manual_seed(11)
        if sequence:
            labels = torch.tensor([2, 0, 1])
        else:
            labels = torch.randint(0, n, (B, S), generator=g)
            labels[mask == 0] = -100
            labels[:, 0] = -100  # [CLS], as the label on a word's first sub-token only leaves it
        # The float32 weights, differentiated in float64.
        leaves = {k: v.float().double().requires_grad_(True) for k, v in p.items()}
        x, pooled, _ = encode(leaves, 'bert.', ids, types, mask)
        if sequence:
            logits = pooled @ leaves['classifier.weight'].T + leaves['classifier.bias']
            loss = F.cross_entropy(logits, labels)
        else:
            logits = x @ leaves['classifier.weight'].T + leaves['classifier.bias']
            loss = F.cross_entropy(logits.reshape(-1, n), labels.reshape(-1), ignore_index=-100)
        loss.backward()
        d = os.path.join(OUT_GRADIENTS, arch)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        config = dict(CFG, architectures=[arch], id2label={str(i): t for i, t in enumerate(labels_names)},
                      label2id={t: i for i, t in enumerate(labels_names)})
        with open(os.path.join(d, 'config.json'), 'w') as f:
            json.dump(config, f, indent=2)
        write_safetensors(os.path.join(d, 'model.safetensors'), p, 'F32')
        write_safetensors(os.path.join(d, 'gradients.safetensors'), {k: v.grad for k, v in leaves.items()}, 'F32')
        with open(os.path.join(d, 'batch.json'), 'w') as f:
            json.dump({'architecture': arch, 'shape': [B, S],
                       'inputs': {k: v.reshape(-1).tolist() for k, v in batch.items()},
                       'labels': labels.reshape(-1).tolist(), 'loss': float(loss.detach()),
                       'logits': flat(logits)}, f)
        print('wrote', os.path.relpath(d))


if __name__ == '__main__':
    if sys.argv[1:] == ['gradients']:
        gradients()
    else:
        main()
        text_case()
        gradients()
