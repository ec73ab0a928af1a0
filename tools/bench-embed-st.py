"""sentence-transformers side of bench/embed-throughput.ts: encode the texts of a JSON file with a
Transformer + mean Pooling model on the CPU and print texts/s of each round as one JSON line.

    python tools/bench-embed-st.py MODEL_DIR TEXTS_JSON THREADS BATCH MAX_LENGTH ROUNDS
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.models import Pooling, Transformer

model_dir, texts_file, threads, batch, max_length, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)
texts = json.load(open(texts_file, encoding="utf8"))
transformer = Transformer(model_dir, max_seq_length=max_length)
model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")], device="cpu")
model.eval()
model.encode(texts[: batch * 2], batch_size=batch)
rates = []
for _ in range(rounds):
    t0 = time.perf_counter()
    model.encode(texts, batch_size=batch)
    rates.append(len(texts) / (time.perf_counter() - t0))
print(json.dumps({"rates": rates, "torch": torch.__version__}))
