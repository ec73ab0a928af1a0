"""Tiny RoBERTa, XLM-RoBERTa, ERNIE and DistilBERT checkpoints and their outputs, from transformers.

For each family and head, a random-init checkpoint (hidden 32, 2 layers, 4 heads, a vocabulary of
64) is built with the transformers class, its weights drawn at a larger scale than the default
initialisation (so that outputs are far from zero), and written with `save_pretrained`
(safetensors) under test/fixtures/<family>/<Architecture>/, with expected.json: the inputs of two
padded batches and the model's outputs on them (eval mode, no dropout), and for the sequence classifier also the last hidden state of its encoder (the bare model without
a pooler). Heads are spread over RoBERTa and XLM-RoBERTa (one architecture) to keep the fixtures
small: XLM-RoBERTa has the bare model with its pooler.

ERNIE also gets its next-sentence and pre-training heads (outputs only; the pre-training head's
are prediction_logits and seq_relationship_logits). Every fine-tuning head also gets a training
reference, train.json: 20 AdamW steps of transformers'
own model on fixed examples (dropout off; weight decay except on biases and LayerNorm weights;
linear warmup and decay; gradient clipping), with the loss and gradient norm of every step.

    /tmp/refvenv/bin/python tools/make-family-fixtures-a.py [family ...]
"""
import json
import os
import shutil
import sys

import torch
import transformers as tf

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
V, H, L, HEADS, I, P = 64, 32, 2, 4, 32, 24
SEQ_LABELS = {'0': 'negative', '1': 'neutral', '2': 'positive'}
TOK_LABELS = {str(i): t for i, t in enumerate(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'])}

BERT_LIKE = dict(vocab_size=V, hidden_size=H, num_hidden_layers=L, num_attention_heads=HEADS, intermediate_size=I,
                 max_position_embeddings=P)

FAMILIES = {
    'roberta': dict(config=tf.RobertaConfig, kw=dict(BERT_LIKE, type_vocab_size=1, layer_norm_eps=1e-5),
                    stem='Roberta', heads=['ForSequenceClassification', 'ForTokenClassification', 'ForMaskedLM'],
                    special=dict(bos=0, pad=1, eos=2), inputs=['input_ids', 'attention_mask']),
    'xlm-roberta': dict(config=tf.XLMRobertaConfig, kw=dict(BERT_LIKE, type_vocab_size=1, layer_norm_eps=1e-5),
                        stem='XLMRoberta', heads=['Model', 'ForMaskedLM'],
                        special=dict(bos=0, pad=1, eos=2), inputs=['input_ids', 'attention_mask']),
    'ernie': dict(config=tf.ErnieConfig, kw=dict(BERT_LIKE, type_vocab_size=2, use_task_id=True, task_type_vocab_size=3),
                  stem='Ernie', heads=['ForSequenceClassification', 'ForTokenClassification', 'ForMaskedLM',
                                       'ForNextSentencePrediction', 'ForPreTraining'],
                  special=dict(bos=2, pad=0, eos=3), inputs=['input_ids', 'attention_mask', 'token_type_ids']),
    'distilbert': dict(config=tf.DistilBertConfig,
                       kw=dict(vocab_size=V, dim=H, n_layers=L, n_heads=HEADS, hidden_dim=I, max_position_embeddings=P),
                       stem='DistilBert', heads=['ForSequenceClassification', 'ForTokenClassification', 'ForMaskedLM'],
                       special=dict(bos=2, pad=0, eos=3), inputs=['input_ids', 'attention_mask']),
}


def randomise(model, seed):
    """Every parameter redrawn: weights N(0, 0.2), norm weights 1 + N(0, 0.1), biases N(0, 0.05)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('bias'):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif 'norm' in name.lower() and name.endswith('weight'):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def batches(special, with_types):
    """A padded batch of three (one a pair) and a single row running to the last usable position."""
    g = torch.Generator().manual_seed(3)
    bos, pad, eos = special['bos'], special['pad'], special['eos']
    S = 12
    ids = torch.randint(5, V, (3, S), generator=g)
    ids[:, 0] = bos
    mask = torch.ones(3, S, dtype=torch.int64)
    types = torch.zeros(3, S, dtype=torch.int64)
    ids[0, 7] = eos
    ids[0, 8:] = pad
    mask[0, 8:] = 0
    ids[1, 4], ids[1, 5], ids[1, 11] = eos, eos, eos
    if with_types:
        types[1, 5:] = 1
    ids[2, 10] = eos
    ids[2, 11] = pad
    mask[2, 11] = 0
    # RoBERTa positions run from pad + 1, so the longest row is P - pad - 1 tokens.
    n = P - pad - 1 if pad > 0 else P
    long_ids = torch.randint(5, V, (1, n), generator=g)
    long_ids[0, 0], long_ids[0, -1] = bos, eos
    return [dict(input_ids=ids, attention_mask=mask, token_type_ids=types),
            dict(input_ids=long_ids, attention_mask=torch.ones_like(long_ids), token_type_ids=torch.zeros_like(long_ids))]


def rounded(t):
    return [float(f'{v:.6g}') for v in t.detach().reshape(-1).tolist()]


def build(spec, head, seed):
    labels = SEQ_LABELS if head == 'ForSequenceClassification' else TOK_LABELS if head == 'ForTokenClassification' else None
    kw = dict(spec['kw'])
    if labels:
        kw.update(id2label={int(k): v for k, v in labels.items()}, label2id={v: int(k) for k, v in labels.items()})
    config = spec['config'](**kw)
    torch.manual_seed(seed)
    model = getattr(tf, spec['stem'] + head)(config)
    randomise(model, seed)
    model.eval()
    return model


def run(model, batch, inputs):
    with torch.no_grad():
        return model(**{k: batch[k] for k in inputs})


def write_head(family, spec, head, seed):
    arch = spec['stem'] + head
    d = os.path.join(ROOT, family, arch)
    model = build(spec, head, seed)
    model.save_pretrained(d)
    out = []
    for batch in batches(spec['special'], 'token_type_ids' in spec['inputs']):
        r = run(model, batch, spec['inputs'])
        B, S = batch['input_ids'].shape
        entry = {'shape': [B, S], 'inputs': {k: batch[k].reshape(-1).tolist() for k in spec['inputs']}, 'outputs': {}}
        if head == 'Model':
            entry['outputs']['last_hidden_state'] = rounded(r.last_hidden_state)
            if getattr(r, 'pooler_output', None) is not None:
                entry['outputs']['pooler_output'] = rounded(r.pooler_output)
        elif head == 'ForPreTraining':
            entry['outputs']['prediction_logits'] = rounded(r.prediction_logits)
            entry['outputs']['seq_relationship_logits'] = rounded(r.seq_relationship_logits)
        else:
            entry['outputs']['logits'] = rounded(r.logits)
            if head == 'ForSequenceClassification' and S <= 12:
                # The encoder under the head (the bare model without a pooler), on the padded batch.
                with torch.no_grad():
                    body = model.base_model(**{k: batch[k] for k in spec['inputs']})
                entry['encoder_outputs'] = {'last_hidden_state': rounded(body.last_hidden_state)}
        out.append(entry)
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump({'architecture': arch, 'batches': out}, f)
    print('wrote', os.path.relpath(d))
    return model


def examples(g, n, special, kind, num_labels):
    """Examples of `kind`: a class each (sequence), a label per token with -100 on the special tokens
    and some continuations (token), or already-masked inputs labelled at about a third of their
    positions (masked-lm: the original token, replaced by the mask id 4 four times in five)."""
    out = []
    for _ in range(n):
        length = int(torch.randint(4, 14, (1,), generator=g))
        ids = [special['bos']] + torch.randint(5, V, (length - 2,), generator=g).tolist() + [special['eos']]
        if kind == 'sequence':
            labels = int(torch.randint(0, num_labels, (1,), generator=g))
        elif kind == 'token':
            labels = [-100] + torch.randint(0, num_labels, (length - 2,), generator=g).tolist() + [-100]
            for t in range(2, length - 1):
                if torch.rand(1, generator=g).item() < 0.2:
                    labels[t] = -100
        else:
            labels = [-100] * length
            for t in range(1, length - 1):
                if torch.rand(1, generator=g).item() < 0.35:
                    labels[t] = ids[t]
                    if torch.rand(1, generator=g).item() < 0.8:
                        ids[t] = 4
            if all(l == -100 for l in labels):
                labels[1] = ids[1]
        out.append({'input_ids': ids, 'labels': labels})
    return out


def collate(batch, pad, kind):
    S = max(len(e['input_ids']) for e in batch)
    ids = torch.full((len(batch), S), pad, dtype=torch.int64)
    mask = torch.zeros(len(batch), S, dtype=torch.int64)
    labels = torch.full((len(batch), S), -100, dtype=torch.int64)
    for i, e in enumerate(batch):
        n = len(e['input_ids'])
        ids[i, :n] = torch.tensor(e['input_ids'])
        mask[i, :n] = 1
        if kind != 'sequence':
            labels[i, :n] = torch.tensor(e['labels'])
    if kind == 'sequence':
        labels = torch.tensor([e['labels'] for e in batch])
    return ids, mask, labels


def no_decay(name):
    return name.endswith('.bias') or ('norm' in name.lower() and name.endswith('.weight'))


TRAIN_KIND = {'ForSequenceClassification': 'sequence', 'ForTokenClassification': 'token', 'ForMaskedLM': 'masked-lm'}


def write_training(family, spec, head, model):
    """20 AdamW steps of transformers' own model, dropout off (eval mode)."""
    kind = TRAIN_KIND[head]
    n = {'sequence': 40, 'token': 24, 'masked-lm': 24}[kind]
    hp = dict(examples=n, batch_size=8, accumulation=1, steps=20, warmup=4, lr=2e-3, weight_decay=0.5, max_grad_norm=1.0)
    g = torch.Generator().manual_seed(11)
    data = examples(g, hp['examples'], spec['special'], kind, len(SEQ_LABELS if kind == 'sequence' else TOK_LABELS))
    named = list(model.named_parameters())
    opt = torch.optim.AdamW([{'params': [p for n, p in named if not no_decay(n)], 'weight_decay': hp['weight_decay']},
                             {'params': [p for n, p in named if no_decay(n)], 'weight_decay': 0.0}],
                            lr=hp['lr'], betas=(0.9, 0.999), eps=1e-8)
    steps, warmup = hp['steps'], hp['warmup']
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    bs = hp['batch_size']
    chunks = [data[i:i + bs] for i in range(0, len(data), bs)]
    losses, norms = [], []
    model.eval()  # no dropout; gradients still flow
    for step in range(steps):
        ids, mask, labels = collate(chunks[step % len(chunks)], spec['special']['pad'], kind)
        opt.zero_grad()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_([p for _, p in named], hp['max_grad_norm'])
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        norms.append(float(norm))
    d = os.path.join(ROOT, family, spec['stem'] + head)
    with open(os.path.join(d, 'train.json'), 'w') as f:
        json.dump({'kind': kind, 'examples': data, 'hyperparameters': hp, 'losses': losses, 'grad_norms': norms}, f)
    print('wrote', os.path.relpath(os.path.join(d, 'train.json')))


def main(names):
    for family in names:
        spec = FAMILIES[family]
        shutil.rmtree(os.path.join(ROOT, family), ignore_errors=True)
        for i, head in enumerate(spec['heads']):
            model = write_head(family, spec, head, 100 + i)
            # Training references for every head of the first family of an architecture.
            if head in TRAIN_KIND and family != 'xlm-roberta':
                write_training(family, spec, head, model)


if __name__ == '__main__':
    main(sys.argv[1:] or list(FAMILIES))
