"""Reference values for tuna's engine tests, computed with PyTorch (an independent implementation).

Writes test/fixtures/adamw-reference.json and test/fixtures/encoder-reference.json.
Run with Debian's PyTorch:  apt-get install python3-torch && python3 tools/make-engine-fixtures.py
"""
import json
import math
import os

import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')


def tolist(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def adamw_reference():
    """Five AdamW steps with a no-decay group, global-norm clipping and a linear warmup/decay schedule."""
    shapes = {'w': (3, 4), 'b': (4,), 'e': (5, 2)}
    decay = {'w': True, 'b': False, 'e': True}
    params = {k: torch.randn(*s, dtype=torch.float32, requires_grad=True) for k, s in shapes.items()}
    initial = {k: tolist(p) for k, p in params.items()}
    lr, warmup, total, wd, max_norm = 1e-2, 2, 6, 0.1, 1.0
    opt = torch.optim.AdamW(
        [
            {'params': [params[k] for k in shapes if decay[k]], 'weight_decay': wd},
            {'params': [params[k] for k in shapes if not decay[k]], 'weight_decay': 0.0},
        ],
        lr=lr, betas=(0.9, 0.999), eps=1e-8,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    steps = []
    for step in range(5):
        scale = 3.0 if step % 2 == 0 else 0.05  # alternate clipped and unclipped steps
        grads = {k: torch.randn(*s) * scale for k, s in shapes.items()}
        for k, p in params.items():
            p.grad = grads[k].clone()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
        lr_used = opt.param_groups[0]['lr']
        opt.step()
        sched.step()
        steps.append({
            'grads': {k: tolist(g) for k, g in grads.items()},
            'norm': float(norm),
            'lr': lr_used,
            'params': {k: tolist(p) for k, p in params.items()},
        })
    return {
        'shapes': {k: list(s) for k, s in shapes.items()},
        'decay': decay,
        'lr': lr, 'warmup': warmup, 'total': total, 'weight_decay': wd, 'max_norm': max_norm,
        'initial': initial,
        'steps': steps,
    }


def encoder_reference():
    """A 2-layer post-LN transformer encoder classifier: loss and every parameter gradient (no dropout)."""
    B, S, H, heads, I, C, V = 2, 5, 8, 2, 16, 3, 11
    dh = H // heads
    P = {}

    def param(name, *shape, std=0.3):
        P[name] = (torch.randn(*shape) * std).requires_grad_(True)
        return P[name]

    emb = param('emb.weight', V, H)
    layers = []
    for l in range(2):
        n = f'encoder.layer.{l}'
        layers.append({k: param(f'{n}.{k}', *s) for k, s in [
            ('attention.self.query.weight', (H, H)), ('attention.self.query.bias', (H,)),
            ('attention.self.key.weight', (H, H)), ('attention.self.key.bias', (H,)),
            ('attention.self.value.weight', (H, H)), ('attention.self.value.bias', (H,)),
            ('attention.output.dense.weight', (H, H)), ('attention.output.dense.bias', (H,)),
            ('attention.output.LayerNorm.weight', (H,)), ('attention.output.LayerNorm.bias', (H,)),
            ('intermediate.dense.weight', (I, H)), ('intermediate.dense.bias', (I,)),
            ('output.dense.weight', (H, I)), ('output.dense.bias', (H,)),
            ('output.LayerNorm.weight', (H,)), ('output.LayerNorm.bias', (H,)),
        ]})
    cw = param('classifier.weight', C, H)
    cb = param('classifier.bias', C)
    ids = torch.randint(0, V, (B, S))
    mask = torch.ones(B, S, dtype=torch.int64)
    mask[1, 3:] = 0
    labels = torch.tensor([2, 0])

    x = emb[ids]
    add_mask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for p in layers:
        lin = lambda t, k: t @ p[k + '.weight'].T + p[k + '.bias']
        split = lambda t: t.view(B, S, heads, dh).transpose(1, 2)
        q, k, v = (split(lin(x, f'attention.self.{n}')) for n in ('query', 'key', 'value'))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + add_mask, dim=-1)
        ctx = (probs @ v).transpose(1, 2).reshape(B, S, H)
        h = torch.nn.functional.layer_norm(lin(ctx, 'attention.output.dense') + x, (H,),
                                           p['attention.output.LayerNorm.weight'], p['attention.output.LayerNorm.bias'], 1e-12)
        ff = torch.nn.functional.gelu(lin(h, 'intermediate.dense'))
        x = torch.nn.functional.layer_norm(lin(ff, 'output.dense') + h, (H,),
                                           p['output.LayerNorm.weight'], p['output.LayerNorm.bias'], 1e-12)
    logits = x[:, 0] @ cw.T + cb
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    return {
        'config': {'batch': B, 'seq': S, 'hidden': H, 'heads': heads, 'intermediate': I, 'classes': C, 'vocab': V},
        'input_ids': ids.reshape(-1).tolist(),
        'attention_mask': mask.reshape(-1).tolist(),
        'labels': labels.tolist(),
        'params': {k: {'shape': list(t.shape), 'values': tolist(t)} for k, t in P.items()},
        'loss': float(loss),
        'logits': tolist(logits),
        'grads': {k: tolist(t.grad) for k, t in P.items()},
    }


for name, fn in [('adamw-reference.json', adamw_reference), ('encoder-reference.json', encoder_reference)]:
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(fn(), f)
    print('wrote', name)
