"""Reference masked-LM pre-training in plain PyTorch, on the sequences tuna's pre-training feeds.

Trains a fresh BertForMaskedLM (Hugging Face layout and initialisation: normal(0, 0.02) weights and
embeddings, zero biases, LayerNorm at one and zero, decoder tied to the word embeddings) on the
packed sequences written by tools/dump-pretrain-data.ts, batch after batch in the same order. The
recipe is Hugging Face's: masked LM with its own masking (15% of the non-special tokens, of those
80% [MASK], 10% a random token, 10% unchanged), dropout 0.1, torch.optim.AdamW with weight decay on
every parameter but biases and LayerNorm weights, a linear schedule with warmup (LambdaLR),
clip_grad_norm_. The loss is taken on the masked positions only. Evaluation uses the independent
BERT forward pass of make-bert-fixtures.py (dropout off), on the held-out sequences, with tuna's
evaluation masks and with masks of its own.

    apt-get install python3-torch libopenblas0-pthread
    node --import tsx tools/dump-pretrain-data.ts --tokenizer models/tuna-small-en \\
      --input /tmp/corpora/text/brown.txt --max-length 64 --steps 800 --output /tmp/pretrain-data
    /usr/bin/python3 tools/pretrain-reference.py --data /tmp/pretrain-data --steps 800 --lr 5e-4

Prints the training loss (mean over every --log-every steps) and the held-out MLM loss and accuracy
as JSON lines; --output FILE writes them as one JSON document.
"""
import argparse
import importlib.util
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(__file__)
spec = importlib.util.spec_from_file_location('bert_ref', os.path.join(HERE, 'make-bert-fixtures.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def load(data, name, L, dtype=np.int32):
    a = np.fromfile(os.path.join(data, name), dtype=dtype)
    return a.reshape(-1, L) if L else a


def init_params(cfg, gen):
    """A fresh BertForMaskedLM, initialised as Hugging Face's _init_weights does."""
    H, I, V, P, std = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size'], cfg['max_position_embeddings'], cfg['initializer_range']
    p = {}
    normal = lambda *shape: torch.randn(*shape, generator=gen) * std
    p['bert.embeddings.word_embeddings.weight'] = normal(V, H)
    p['bert.embeddings.word_embeddings.weight'][cfg['pad_token_id']] = 0
    p['bert.embeddings.position_embeddings.weight'] = normal(P, H)
    p['bert.embeddings.token_type_embeddings.weight'] = normal(cfg['type_vocab_size'], H)
    p['bert.embeddings.LayerNorm.weight'] = torch.ones(H)
    p['bert.embeddings.LayerNorm.bias'] = torch.zeros(H)
    for l in range(cfg['num_hidden_layers']):
        n = f'bert.encoder.layer.{l}.'
        for part in ('query', 'key', 'value'):
            p[n + f'attention.self.{part}.weight'] = normal(H, H)
            p[n + f'attention.self.{part}.bias'] = torch.zeros(H)
        p[n + 'attention.output.dense.weight'] = normal(H, H)
        p[n + 'attention.output.dense.bias'] = torch.zeros(H)
        p[n + 'attention.output.LayerNorm.weight'] = torch.ones(H)
        p[n + 'attention.output.LayerNorm.bias'] = torch.zeros(H)
        p[n + 'intermediate.dense.weight'] = normal(I, H)
        p[n + 'intermediate.dense.bias'] = torch.zeros(I)
        p[n + 'output.dense.weight'] = normal(H, I)
        p[n + 'output.dense.bias'] = torch.zeros(H)
        p[n + 'output.LayerNorm.weight'] = torch.ones(H)
        p[n + 'output.LayerNorm.bias'] = torch.zeros(H)
    p['cls.predictions.transform.dense.weight'] = normal(H, H)
    p['cls.predictions.transform.dense.bias'] = torch.zeros(H)
    p['cls.predictions.transform.LayerNorm.weight'] = torch.ones(H)
    p['cls.predictions.transform.LayerNorm.bias'] = torch.zeros(H)
    p['cls.predictions.bias'] = torch.zeros(V)
    return {k: v.requires_grad_() for k, v in p.items()}


def encode_train(p, cfg, ids, mask, drop):
    """The BERT encoder with dropout where Hugging Face applies it (same arithmetic as ref.encode otherwise)."""
    H, heads, eps = cfg['hidden_size'], cfg['num_attention_heads'], cfg['layer_norm_eps']
    dh = H // heads
    B, S = ids.shape
    w = lambda n: p['bert.' + n]
    x = w('embeddings.word_embeddings.weight')[ids] + w('embeddings.token_type_embeddings.weight')[torch.zeros_like(ids)] \
        + w('embeddings.position_embeddings.weight')[torch.arange(S)]
    x = F.dropout(F.layer_norm(x, (H,), w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), eps), drop, True)
    ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for l in range(cfg['num_hidden_layers']):
        n = f'encoder.layer.{l}.'
        lin = lambda t, k: t @ w(n + k + '.weight').T + w(n + k + '.bias')
        heads_of = lambda t: t.view(B, S, heads, dh).permute(0, 2, 1, 3)
        q, k, v = (heads_of(lin(x, f'attention.self.{part}')) for part in ('query', 'key', 'value'))
        probs = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + ext, -1), drop, True)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(B, S, H)
        h = F.layer_norm(F.dropout(lin(ctx, 'attention.output.dense'), drop, True) + x, (H,), w(n + 'attention.output.LayerNorm.weight'),
                         w(n + 'attention.output.LayerNorm.bias'), eps)
        ff = F.gelu(lin(h, 'intermediate.dense'))
        x = F.layer_norm(F.dropout(lin(ff, 'output.dense'), drop, True) + h, (H,), w(n + 'output.LayerNorm.weight'),
                         w(n + 'output.LayerNorm.bias'), eps)
    return x


def mask_tokens(ids, lengths, meta, p, gen):
    """Hugging Face's DataCollatorForLanguageModeling: labels -100 except on the chosen tokens."""
    special = (ids == meta['cls_id']) | (ids == meta['sep_id']) | (ids == meta['pad_id'])
    chosen = (torch.rand(ids.shape, generator=gen) < p) & ~special
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    inputs = ids.clone()
    to_mask = (torch.rand(ids.shape, generator=gen) < 0.8) & chosen
    inputs[to_mask] = meta['mask_id']
    to_random = (torch.rand(ids.shape, generator=gen) < 0.5) & chosen & ~to_mask
    inputs[to_random] = torch.randint(meta['vocab_size'], ids.shape, generator=gen)[to_random]
    return inputs, labels


@torch.no_grad()
def evaluate(p, ids, lengths, labels, batch=64):
    """Held-out MLM loss and accuracy over the labelled positions, with ref.encode (dropout off)."""
    loss_sum, correct, count = 0.0, 0, 0
    plain = {k: v.detach() for k, v in p.items()}
    for i in range(0, ids.shape[0], batch):
        x_ids, y = ids[i:i + batch], labels[i:i + batch]
        S = int(lengths[i:i + batch].max())
        x_ids, y = x_ids[:, :S], y[:, :S]
        mask = (torch.arange(S)[None, :] < lengths[i:i + batch, None]).long()
        x, _, _ = ref.encode(plain, 'bert.', x_ids, torch.zeros_like(x_ids), mask)
        logits = ref.mlm_logits(plain, x)
        sel = y >= 0
        lg, yy = logits[sel], y[sel]
        loss_sum += float(F.cross_entropy(lg, yy, reduction='sum'))
        correct += int((lg.argmax(-1) == yy).sum())
        count += int(sel.sum())
    return {'mlm_loss': loss_sum / max(1, count), 'mlm_accuracy': correct / max(1, count), 'masked_tokens': count}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--steps', type=int, default=800)
    ap.add_argument('--lr', type=float, default=5e-4)
    ap.add_argument('--warmup-ratio', type=float, default=0.06)
    ap.add_argument('--weight-decay', type=float, default=0.01)
    ap.add_argument('--max-grad-norm', type=float, default=1.0)
    ap.add_argument('--dropout', type=float, default=0.1)
    ap.add_argument('--hidden-size', type=int, default=256)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--mlm-probability', type=float, default=0.15)
    ap.add_argument('--log-every', type=int, default=25)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--output')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    meta = json.load(open(os.path.join(a.data, 'meta.json')))
    L = meta['max_length']
    train = torch.from_numpy(load(a.data, 'train.bin', L).astype(np.int64))
    train_len = torch.from_numpy(load(a.data, 'train.len', 0).astype(np.int64))
    batches = load(a.data, 'train.batches', 0).tolist()
    held = torch.from_numpy(load(a.data, 'heldout.bin', L).astype(np.int64))
    held_len = torch.from_numpy(load(a.data, 'heldout.len', 0).astype(np.int64))
    held_masked = torch.from_numpy(load(a.data, 'heldout-masked.bin', L).astype(np.int64))
    held_labels = torch.from_numpy(load(a.data, 'heldout-labels.bin', L).astype(np.int64))
    if a.steps > len(batches):
        raise SystemExit(f'{a.data} holds {len(batches)} batches, fewer than --steps {a.steps}')

    H = a.hidden_size
    cfg = dict(ref.CFG, vocab_size=meta['vocab_size'], hidden_size=H, num_hidden_layers=a.layers, num_attention_heads=a.heads,
               intermediate_size=4 * H, max_position_embeddings=max(128, L), pad_token_id=meta['pad_id'])
    ref.CFG.update(cfg)  # ref.encode / ref.mlm_logits read their sizes from there
    gen = torch.Generator().manual_seed(a.seed)
    p = init_params(cfg, gen)

    # The training forward pass with dropout off must match the independent reference encoder.
    with torch.no_grad():
        ids, n = train[:4, :L], train_len[:4]
        mask = (torch.arange(L)[None, :] < n[:, None]).long()
        plain = {k: v.detach() for k, v in p.items()}
        mine = encode_train(plain, cfg, ids, mask, 0.0)
        theirs, _, _ = ref.encode(plain, 'bert.', ids, torch.zeros_like(ids), mask)
        assert torch.allclose(mine, theirs, atol=1e-5), float((mine - theirs).abs().max())

    no_decay = lambda name: name.endswith('.bias') or 'LayerNorm' in name
    groups = [{'params': [v for k, v in p.items() if not no_decay(k)], 'weight_decay': a.weight_decay},
              {'params': [v for k, v in p.items() if no_decay(k)], 'weight_decay': 0.0}]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    warmup = math.ceil(a.warmup_ratio * a.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (a.steps - s) / max(1, a.steps - warmup)))

    emit = lambda rec: print(json.dumps(rec), flush=True)
    log = []
    t0 = time.time()
    row = 0
    running, since = 0.0, 0
    mask_gen = torch.Generator().manual_seed(a.seed + 1)
    emit({'parameters': sum(v.numel() for v in p.values()), 'warmup_steps': warmup, 'train_sequences': meta['train_sequences']})
    for step in range(a.steps):
        b = batches[step]
        n = train_len[row:row + b]
        S = int(n.max())
        ids = train[row:row + b, :S]
        row += b
        mask = (torch.arange(S)[None, :] < n[:, None]).long()
        inputs, labels = mask_tokens(ids, n, meta, a.mlm_probability, mask_gen)
        x = encode_train(p, cfg, inputs, mask, a.dropout)
        sel = labels.reshape(-1) >= 0
        rows = x.reshape(-1, H)[sel]
        loss = F.cross_entropy(ref.mlm_logits(p, rows), labels.reshape(-1)[sel])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(p.values()), a.max_grad_norm)
        lr = sched.get_last_lr()[0]
        opt.step()
        sched.step()
        running += float(loss)
        since += 1
        if (step + 1) % a.log_every == 0 or step + 1 == a.steps:
            rec = {'step': step + 1, 'loss': running / since, 'learning_rate': lr, 'grad_norm': float(norm), 'elapsed_s': round(time.time() - t0, 1)}
            log.append(rec)
            emit(rec)
            running, since = 0.0, 0
    train_s = time.time() - t0

    held_tuna = evaluate(p, held_masked, held_len, held_labels)
    own_inputs, own_labels = mask_tokens(held, held_len, meta, a.mlm_probability, torch.Generator().manual_seed(1234))
    held_own = evaluate(p, own_inputs, held_len, own_labels)
    result = {'steps': a.steps, 'train_runtime_s': round(train_s, 1), 'held_out_tuna_masks': held_tuna, 'held_out_own_masks': held_own}
    emit(result)
    if a.output:
        with open(a.output, 'w') as f:
            json.dump({'args': vars(a), 'log': log, **result}, f, indent=1)


if __name__ == '__main__':
    main()
