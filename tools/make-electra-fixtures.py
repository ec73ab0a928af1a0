"""Tiny ELECTRA checkpoints written by Hugging Face transformers, with their outputs and training losses.

For every head tuna builds (ElectraForSequenceClassification, ElectraForTokenClassification,
ElectraForMaskedLM: the generator, ElectraForPreTraining: the discriminator) it builds a random-init
model with transformers (hidden 32, 2 layers, 4 heads, embedding_size 16 so that
`embeddings_project` is used; the token classifier has embedding_size == hidden_size and no
projection), perturbs every parameter so LayerNorms and biases are not trivial, saves it with
`save_pretrained` (safetensors, float16 to keep the fixtures small) and reloads it in float32. Then
it writes test/fixtures/electra/<architecture>/expected.json with:

- `batches`: fixed padded inputs (one a sentence pair with token types), the model's outputs in
  eval mode and the loss transformers computes for given labels;
- `training`: examples, hyper-parameters and the loss of each of 20 AdamW steps of a plain PyTorch
  loop from the same weights (dropout off, Hugging Face Trainer's recipe: no weight decay on biases
  and LayerNorm weights, linear warmup and decay, gradient clipping, batches in order padded to
  their longest example).

    /tmp/refvenv/bin/python tools/make-electra-fixtures.py

The helpers are shared with tools/make-albert-fixtures.py.
"""
import json
import os
import shutil

import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')


def g7(x):
    """A float with 7 significant digits (far below the tests' tolerances, half the JSON)."""
    return float(f'{x:.7g}')


def flat(t):
    return [g7(v) for v in t.detach().reshape(-1).tolist()]


def perturb(model, seed):
    """Adds noise to every parameter (transformers initialises LayerNorms to 1/0 and biases to 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


def inputs(vocab, max_positions):
    """Three padded sequences of 12 tokens (one a sentence pair) and one full-length sequence."""
    S = 12
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(5, vocab, (3, S), generator=g)
    ids[:, 0] = 2
    types = torch.zeros(3, S, dtype=torch.int64)
    mask = torch.ones(3, S, dtype=torch.int64)
    ids[0, 7] = 3
    mask[0, 8:] = 0
    ids[0, 8:] = 0
    ids[1, 4], ids[1, 11] = 3, 3
    types[1, 5:] = 1
    ids[2, 11] = 3
    long_ids = torch.randint(5, vocab, (1, max_positions), generator=g)
    long_ids[0, 0] = 2
    long_ids[0, -1] = 3
    return [
        {'input_ids': ids, 'token_type_ids': types, 'attention_mask': mask},
        {'input_ids': long_ids, 'token_type_ids': torch.zeros_like(long_ids), 'attention_mask': torch.ones_like(long_ids)},
    ]


def labels_for(kind, batch, num_labels, vocab, seed):
    """Labels of a batch for a head kind, as transformers takes them."""
    g = torch.Generator().manual_seed(seed)
    ids, mask = batch['input_ids'], batch['attention_mask']
    B, S = ids.shape
    if kind == 'sequence':
        return torch.randint(0, num_labels, (B,), generator=g)
    if kind == 'token':
        labels = torch.randint(0, num_labels, (B, S), generator=g)
        labels[mask == 0] = -100
        labels[:, 0] = -100
        return labels
    if kind == 'masked-lm':
        labels = torch.full((B, S), -100, dtype=torch.int64)
        pick = (torch.rand(B, S, generator=g) < 0.3) & (mask == 1)
        labels[pick] = ids[pick]
        return labels
    if kind == 'replaced':
        return (torch.rand(B, S, generator=g) < 0.3).long()
    raise ValueError(kind)


def examples(kind, n, num_labels, vocab, seed):
    """Training examples of 4 to 15 tokens with labels."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        length = int(torch.randint(4, 16, (1,), generator=g))
        ids = [2] + torch.randint(5, vocab, (length - 2,), generator=g).tolist() + [3]
        if kind == 'sequence':
            labels = int(torch.randint(0, num_labels, (1,), generator=g))
        elif kind == 'token':
            labels = [-100] + torch.randint(0, num_labels, (length - 2,), generator=g).tolist() + [-100]
        elif kind == 'masked-lm':
            labels = [-100] * length
            for t in range(1, length - 1):
                if torch.rand(1, generator=g).item() < 0.35:
                    labels[t] = ids[t]
                    if torch.rand(1, generator=g).item() < 0.8:
                        ids[t] = 4
            if all(v == -100 for v in labels):
                labels[1] = ids[1]
        else:
            labels = [0] + (torch.rand(length - 2, generator=g) < 0.3).long().tolist() + [0]
        out.append({'input_ids': ids, 'labels': labels})
    return out


def collate(batch, kind):
    S = max(len(e['input_ids']) for e in batch)
    B = len(batch)
    ids = torch.zeros(B, S, dtype=torch.int64)
    mask = torch.zeros(B, S, dtype=torch.int64)
    per_token = kind != 'sequence'
    labels = torch.full((B, S), -100 if kind != 'replaced' else 0, dtype=torch.int64) if per_token else torch.zeros(B, dtype=torch.int64)
    for i, e in enumerate(batch):
        n = len(e['input_ids'])
        ids[i, :n] = torch.tensor(e['input_ids'])
        mask[i, :n] = 1
        if per_token:
            labels[i, :n] = torch.tensor(e['labels'])
        else:
            labels[i] = e['labels']
    return {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': torch.zeros_like(ids), 'labels': labels}


def train(model, kind, hp, num_labels, vocab, seed):
    """A Hugging Face Trainer-style AdamW loop with dropout off; returns examples and per-step losses."""
    data = examples(kind, hp['examples'], num_labels, vocab, seed)
    model.eval()  # dropout off; gradients flow as in training
    params = dict(model.named_parameters())
    norms = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    no_decay = [p for n, p in params.items() if n.endswith('.bias') or id(p) in norms]
    decay = [p for n, p in params.items() if not (n.endswith('.bias') or id(p) in norms)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': hp['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=hp['lr'], betas=(0.9, 0.999), eps=1e-8)
    steps, warmup = hp['steps'], hp['warmup']
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    bs = hp['batch_size']
    batches = [data[i:i + bs] for i in range(0, len(data), bs)]
    losses, grad_norms = [], []
    for step in range(steps):
        opt.zero_grad()
        loss = model(**collate(batches[step % len(batches)], kind)).loss
        loss.backward()
        grad_norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), hp['max_grad_norm'])))
        opt.step()
        sched.step()
        losses.append(float(loss))
    return {'examples': data, 'hyperparameters': hp, 'losses': losses, 'grad_norms': grad_norms}


HP = dict(examples=24, batch_size=4, steps=20, warmup=4, lr=2e-3, weight_decay=0.1, max_grad_norm=1.0)


def write_case(out_dir, name, make_model, kind, cls, num_labels, vocab, max_positions, seed, output_names, extra=None, hidden_state=False):
    """Builds, saves (float16), reloads (float32), runs and trains one head; writes its fixture directory."""
    torch.manual_seed(seed)
    model = make_model()
    perturb(model, seed + 1)
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    model.half().save_pretrained(d, safe_serialization=True)
    model = cls.from_pretrained(d, dtype=torch.float32, attn_implementation='eager')
    model.eval()
    results = []
    for bi, batch in enumerate(inputs(vocab, max_positions)):
        labels = labels_for(kind, batch, num_labels, vocab, 100 + bi)
        with torch.no_grad():
            out = model(**batch, labels=labels, output_hidden_states=True)
        outputs = {n: flat(getattr(out, 'logits' if n == 'logits' else n)) for n in output_names}
        hidden = getattr(out, 'hidden_states', None)
        results.append({
            'inputs': {k: v.reshape(-1).tolist() for k, v in batch.items()},
            'shape': list(batch['input_ids'].shape),
            'outputs': outputs,
            **({'last_hidden_state': flat(hidden[-1])} if hidden_state else {}),
            'labels': labels.reshape(-1).tolist(),
            'loss': float(out.loss),
        })
    training = train(model, kind, HP, num_labels, vocab, seed + 2)
    doc = {'architecture': cls.__name__, 'batches': results, 'training': training, **(extra or {})}
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print('wrote', os.path.relpath(d), 'training loss', training['losses'][0], '->', training['losses'][-1])


def main():
    from transformers import (ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining, ElectraForSequenceClassification,
                              ElectraForTokenClassification)

    out = os.path.join(ROOT, 'electra')
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    V, P = 99, 24
    base = dict(vocab_size=V, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                hidden_act='gelu', hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=P,
                type_vocab_size=2, initializer_range=0.2, layer_norm_eps=1e-12, pad_token_id=0)
    labels3 = {'0': 'negative', '1': 'neutral', '2': 'positive'}
    tags = {str(i): t for i, t in enumerate(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'])}
    cases = [
        ('ElectraForSequenceClassification', ElectraForSequenceClassification, 'sequence', dict(id2label=labels3, label2id={v: int(k) for k, v in labels3.items()}), 3),
        # embedding_size == hidden_size: no embeddings_project.
        ('ElectraForTokenClassification', ElectraForTokenClassification, 'token', dict(id2label=tags, label2id={v: int(k) for k, v in tags.items()}, embedding_size=32), 5),
        ('ElectraForMaskedLM', ElectraForMaskedLM, 'masked-lm', {}, 2),
        ('ElectraForPreTraining', ElectraForPreTraining, 'replaced', dict(hidden_act='gelu_new'), 2),
    ]
    for i, (name, cls, kind, extra, n) in enumerate(cases):
        config = ElectraConfig(**{**base, **extra})
        write_case(out, name, lambda: cls(config), kind, cls, n, V, P, 10 * (i + 1), ['logits'], hidden_state=name == 'ElectraForPreTraining')


if __name__ == '__main__':
    main()
