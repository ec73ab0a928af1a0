"""Reference fine-tuning losses for the trainer parity test, from a plain PyTorch training loop.

The BERT forward pass is the independent one in make-bert-fixtures.py. The loop follows Hugging
Face's Trainer recipe: AdamW (torch.optim.AdamW) with weight decay on every parameter except biases
and LayerNorm weights, a linear schedule with warmup (LambdaLR), clip_grad_norm_, gradient
accumulation averaging micro-batch losses, batches taken in order and padded to their longest
example, dropout off. Each case writes test/fixtures/train-parity/<case>/ with config.json and
model.safetensors (the initial weights) and expected.json (examples, hyper-parameters and the loss of
every optimizer step).

    apt-get install python3-torch && /usr/bin/python3 tools/make-train-parity.py
"""
import importlib.util
import json
import os
import shutil

import torch
import torch.nn.functional as F

HERE = os.path.dirname(__file__)
spec = importlib.util.spec_from_file_location('bert_ref', os.path.join(HERE, 'make-bert-fixtures.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'train-parity')
CFG = ref.CFG


def examples(g, n, token_level, num_labels, masked_lm=False):
    out = []
    for _ in range(n):
        length = int(torch.randint(4, 18, (1,), generator=g))
        ids = [2] + torch.randint(5, CFG['vocab_size'], (length - 2,), generator=g).tolist() + [3]
        if masked_lm:
            # Already-masked inputs: about a third of the positions predict their original token, which
            # is replaced by [MASK] (id 4) or kept.
            labels = [-100] * length
            for t in range(1, length - 1):
                if torch.rand(1, generator=g).item() < 0.35:
                    labels[t] = ids[t]
                    if torch.rand(1, generator=g).item() < 0.8:
                        ids[t] = 4
            if all(l == -100 for l in labels):
                labels[1] = ids[1]
        elif token_level:
            labels = [-100] + torch.randint(0, num_labels, (length - 2,), generator=g).tolist() + [-100]
            # Continuation sub-tokens carry no label.
            for t in range(2, length - 1):
                if torch.rand(1, generator=g).item() < 0.2:
                    labels[t] = -100
        else:
            labels = int(torch.randint(0, num_labels, (1,), generator=g))
        out.append({'input_ids': ids, 'labels': labels})
    return out


def collate(batch, token_level):
    S = max(len(e['input_ids']) for e in batch)
    ids = torch.zeros(len(batch), S, dtype=torch.int64)
    mask = torch.zeros(len(batch), S, dtype=torch.int64)
    labels = torch.full((len(batch), S), -100, dtype=torch.int64) if token_level else torch.zeros(len(batch), dtype=torch.int64)
    for i, e in enumerate(batch):
        n = len(e['input_ids'])
        ids[i, :n] = torch.tensor(e['input_ids'])
        mask[i, :n] = 1
        if token_level:
            labels[i, :n] = torch.tensor(e['labels'])
        else:
            labels[i] = e['labels']
    return ids, torch.zeros_like(ids), mask, labels


def loss_of(p, batch, token_level, num_labels, masked_lm=False):
    ids, types, mask, labels = batch
    x, pooled, _ = ref.encode(p, 'bert.', ids, types, mask)
    if masked_lm:
        logits = ref.mlm_logits(p, x)
        return F.cross_entropy(logits.reshape(-1, CFG['vocab_size']), labels.reshape(-1), ignore_index=-100)
    h = x if token_level else pooled
    logits = h @ p['classifier.weight'].T + p['classifier.bias']
    return F.cross_entropy(logits.reshape(-1, num_labels), labels.reshape(-1), ignore_index=-100)


def case(name, token_level, hp, masked_lm=False):
    torch.manual_seed(7 if token_level else 5)
    num_labels = hp['num_labels']
    p = ref.body('bert.', std=0.05, pooler=not token_level)
    if masked_lm:
        ref.mlm_params(p)
    else:
        p['classifier.weight'] = 0.05 * torch.randn(num_labels, CFG['hidden_size'])
        p['classifier.bias'] = torch.zeros(num_labels)
    dst = os.path.join(OUT, name)
    os.makedirs(dst)
    arch = 'BertForMaskedLM' if masked_lm else 'BertForTokenClassification' if token_level else 'BertForSequenceClassification'
    config = dict(CFG, architectures=[arch], hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    if not masked_lm:
        config.update(id2label={str(i): f'L{i}' for i in range(num_labels)}, label2id={f'L{i}': i for i in range(num_labels)})
    with open(os.path.join(dst, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    ref.write_safetensors(os.path.join(dst, 'model.safetensors'), p, 'F32')

    g = torch.Generator().manual_seed(11)
    data = examples(g, hp['examples'], token_level, num_labels, masked_lm)
    params = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    no_decay = [v for k, v in params.items() if k.endswith('.bias') or k.endswith('LayerNorm.weight')]
    decay = [v for k, v in params.items() if not (k.endswith('.bias') or k.endswith('LayerNorm.weight'))]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': hp['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=hp['lr'], betas=(0.9, 0.999), eps=1e-8)
    steps, warmup = hp['steps'], hp['warmup']
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    bs, accum = hp['batch_size'], hp['accumulation']
    batches = [data[i:i + bs] for i in range(0, len(data), bs)]
    losses, norms = [], []
    position = 0
    while len(losses) < steps:
        micro = []
        # Gradient accumulation: up to `accum` micro-batches, cut short at the end of an epoch.
        while len(micro) < accum:
            micro.append(batches[position % len(batches)])
            position += 1
            if position % len(batches) == 0:
                break
        opt.zero_grad()
        total = 0.0
        for b in micro:
            loss = loss_of(params, collate(b, token_level), token_level, num_labels, masked_lm)
            (loss / len(micro)).backward()
            total += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), hp['max_grad_norm'])
        opt.step()
        sched.step()
        losses.append(total / len(micro))
        norms.append(float(norm))
    with open(os.path.join(dst, 'expected.json'), 'w') as f:
        json.dump({'examples': data, 'hyperparameters': hp, 'losses': losses, 'grad_norms': norms}, f)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    case('sequence', False, dict(num_labels=3, examples=60, batch_size=8, accumulation=1, steps=20, warmup=4,
                                 lr=2e-3, weight_decay=0.5, max_grad_norm=1.0))
    case('token', True, dict(num_labels=5, examples=50, batch_size=4, accumulation=2, steps=20, warmup=3,
                             lr=2e-3, weight_decay=0.5, max_grad_norm=0.5))
    # The masked-LM head's decoder shares its weight with the word embeddings.
    case('masked-lm', True, dict(num_labels=0, examples=48, batch_size=8, accumulation=1, steps=20, warmup=4,
                                 lr=2e-3, weight_decay=0.5, max_grad_norm=1.0), masked_lm=True)


if __name__ == '__main__':
    main()
