"""transformers side of bench/families.ts: the sequence classifier of a config.json, timed like tuna.

Training: batch 32 x 128 of random ids, dropout as configured, cross-entropy, backward, gradient
clipping at 1 and AdamW (weight decay 0.01) with a linear schedule; inference: the forward pass
under no_grad at batch 32 x 128. Prints one JSON line:
{"model_type", "train_samples_per_s", "infer_samples_per_s"}.

    python bench/torch_families.py CONFIG_JSON THREADS STEPS
"""
import json
import sys
import time

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification

config_path, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
B, S = 32, 128

config = AutoConfig.from_pretrained(config_path)
model = AutoModelForSequenceClassification.from_config(config)
V = config.vocab_size
ids = torch.randint(5, V, (B, S))
mask = torch.ones(B, S, dtype=torch.long)
labels = torch.randint(0, config.num_labels, (B,))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / max(1, steps)))


def train_step():
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad()


model.train()
train_step()
t0 = time.perf_counter()
for _ in range(steps):
    train_step()
train = B * steps / (time.perf_counter() - t0)

model.eval()
with torch.no_grad():
    model(input_ids=ids, attention_mask=mask)
    t0 = time.perf_counter()
    for _ in range(4):
        model(input_ids=ids, attention_mask=mask)
    infer = B * 4 / (time.perf_counter() - t0)

print(json.dumps({"model_type": config.model_type, "train_samples_per_s": train, "infer_samples_per_s": infer}))
