"""PyTorch side of bench/infer.ts: a BERT encoder + classifier of the same sizes, timed the same way.

Prints one JSON object per line: {"model", "batch", "seq", "samples_per_s", "latency_ms"}.
Usage: python3 bench/torch_bert.py LAYERS HIDDEN HEADS INTERMEDIATE THREADS [train]

With `train` (the PyTorch side of bench/train.ts) it times fine-tuning steps instead: dropout 0.1
where Hugging Face's BERT has it, cross-entropy, backward, gradient clipping and AdamW, batch 32 x 128,
and prints {"model", "batch", "seq", "train_samples_per_s", "peak_rss_mb"}.
"""
import resource
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

layers, H, heads, I, threads = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(threads)
torch.manual_seed(0)
V, P = 30522, 512
dh = H // heads


def lin(o, i):
    return torch.nn.Linear(i, o)


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = lin(H, H), lin(H, H), lin(H, H), lin(H, H)
        self.ln1, self.ln2 = torch.nn.LayerNorm(H, eps=1e-12), torch.nn.LayerNorm(H, eps=1e-12)
        self.i, self.out = lin(I, H), lin(H, I)

    def forward(self, x, mask):
        B, S, _ = x.shape
        split = lambda t: t.view(B, S, heads, dh).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + mask, -1), 0.1, self.training)
        c = (p @ v).transpose(1, 2).reshape(B, S, H)
        h = self.ln1(F.dropout(self.o(c), 0.1, self.training) + x)
        return self.ln2(F.dropout(self.out(F.gelu(self.i(h))), 0.1, self.training) + h)


class Bert(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.we, self.pe, self.te = torch.nn.Embedding(V, H), torch.nn.Embedding(P, H), torch.nn.Embedding(2, H)
        self.ln = torch.nn.LayerNorm(H, eps=1e-12)
        self.layers = torch.nn.ModuleList([Layer() for _ in range(layers)])
        self.pool, self.cls = lin(H, H), lin(2, H)

    def forward(self, ids, types, mask):
        S = ids.shape[1]
        x = F.dropout(self.ln(self.we(ids) + self.te(types) + self.pe(torch.arange(S))), 0.1, self.training)
        m = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, m)
        return self.cls(F.dropout(torch.tanh(self.pool(x[:, 0])), 0.1, self.training))


def train(B, S, reps):
    model = Bert().train()
    no_decay = [p for n, p in model.named_parameters() if n.endswith('bias') or n.startswith('ln')]
    decay = [p for n, p in model.named_parameters() if not (n.endswith('bias') or n.startswith('ln'))]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}], lr=5e-5)
    ids = torch.randint(0, V, (B, S))
    types = torch.zeros(B, S, dtype=torch.int64)
    mask = torch.ones(B, S, dtype=torch.int64)
    labels = torch.randint(0, 2, (B,))
    times = []
    for i in range(reps + 3):
        t = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(ids, types, mask), labels).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t)
    return B * len(times) / sum(times)


if len(sys.argv) > 6 and sys.argv[6] == 'train':
    rate = train(32, 128, 10)
    print(json.dumps({'model': f'{layers}x{H}', 'batch': 32, 'seq': 128, 'train_samples_per_s': rate,
                      'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
    sys.exit(0)

model = Bert().eval()


def run(B, S, reps):
    ids = torch.randint(0, V, (B, S))
    types = torch.zeros(B, S, dtype=torch.int64)
    mask = torch.ones(B, S, dtype=torch.int64)
    times = []
    with torch.inference_mode():
        for _ in range(2):
            model(ids, types, mask)
        for _ in range(reps):
            t = time.perf_counter()
            model(ids, types, mask)
            times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


name = f'{layers}x{H}'
t = run(32, 128, 5 if H >= 768 else 9)
print(json.dumps({'model': name, 'batch': 32, 'seq': 128, 'samples_per_s': 32 / t, 'latency_ms': t * 1000}), flush=True)
t = run(1, 128, 15)
print(json.dumps({'model': name, 'batch': 1, 'seq': 128, 'samples_per_s': 1 / t, 'latency_ms': t * 1000}), flush=True)
