"""The sentence-transformers side of bench/retrieval.ts, on the StackFAQ split files the bench
writes (bench/stackfaq.ts): the same base (a tuna checkpoint wrapped as Transformer + mean Pooling),
the same MultipleNegativesRanking recipe, the same test queries and corpus.

Prints one JSON line on stdout: InformationRetrievalEvaluator.compute_metrics figures before and
after fine-tuning (on exact cosine top-100 rankings, ties broken by ascending id), training time,
and encode throughput (texts/s) on the base model; writes the rankings to --out.

  /tmp/refvenv/bin/python tools/bench-retrieval-st.py --split DIR --model models/tuna-small-en --out DIR \
      [--epochs 1 --batch-size 32 --lr 1e-4 --warmup-steps 16 --weight-decay 0.01 --max-length 128 --seed 14 --threads 2]
"""

import argparse
import json
import logging
import os
import time
import warnings

import torch

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

from datasets import Dataset  # noqa: E402
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments  # noqa: E402
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator  # noqa: E402
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss  # noqa: E402
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer  # noqa: E402

TOP = 100
KS = dict(ndcg_at_k=[10], mrr_at_k=[10], map_at_k=[100], precision_recall_at_k=[1, 5, 10, 100], accuracy_at_k=[1, 5, 10])


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path):
    rel = {}
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\n").split("\t")
            if int(s) > 0:
                rel.setdefault(q, set()).add(d)
    return rel


def rank(model, queries, corpus, batch_size):
    """Top-TOP corpus ids per query by cosine, ordered by (-score, id)."""
    q = model.encode([x["text"] for x in queries], batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True)
    d = model.encode([x["text"] for x in corpus], batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True)
    scores = (q @ d.T).tolist()
    ids = [x["_id"] for x in corpus]
    out = {}
    for query, row in zip(queries, scores):
        hits = sorted(zip(row, ids), key=lambda h: (-h[0], h[1]))[:TOP]
        out[query["_id"]] = [{"id": i, "score": s} for s, i in hits]
    return out


def metrics(evaluator, rankings):
    results = [[{"corpus_id": h["id"], "score": h["score"]} for h in rankings[q]] for q in evaluator.queries_ids]
    scores = evaluator.compute_metrics(results)
    return {f"{family.removesuffix('@k')}@{k}": float(v) for family, values in scores.items() for k, v in values.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=float, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup-steps", type=int, default=16)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--throughput-rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    corpus = read_jsonl(os.path.join(args.split, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(args.split, "queries.jsonl"))
    relevant = read_qrels(os.path.join(args.split, "qrels.tsv"))
    pairs = read_jsonl(os.path.join(args.split, "train-pairs.jsonl"))
    evaluator = InformationRetrievalEvaluator(
        queries={q["_id"]: q["text"] for q in queries}, corpus={d["_id"]: d["text"] for d in corpus}, relevant_docs=relevant, write_csv=False, **KS
    )

    def base():
        transformer = Transformer(args.model, max_seq_length=args.max_length)
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        return SentenceTransformer(modules=[transformer, pooling], device="cpu")

    model = base()
    model.eval()
    # Throughput: encode the corpus and the test queries, after one warm-up pass.
    texts = [d["text"] for d in corpus] + [q["text"] for q in queries]
    model.encode(texts[: args.batch_size * 2], batch_size=args.batch_size)
    best = 0.0
    for _ in range(args.throughput_rounds):
        t0 = time.perf_counter()
        model.encode(texts, batch_size=args.batch_size)
        best = max(best, len(texts) / (time.perf_counter() - t0))

    before = rank(model, queries, corpus, args.batch_size)
    out = {"before": metrics(evaluator, before), "throughput": best, "throughput_texts": len(texts)}

    train = Dataset.from_dict({"anchor": [p["anchor"] for p in pairs], "positive": [p["positive"] for p in pairs]})
    targs = SentenceTransformerTrainingArguments(
        output_dir=os.path.join(args.out, "st-run"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        adam_epsilon=1e-6,
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        seed=args.seed,
        data_seed=args.seed,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        logging_steps=50,
        disable_tqdm=True,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    model.train()
    trainer = SentenceTransformerTrainer(model=model, args=targs, train_dataset=train, loss=MultipleNegativesRankingLoss(model, scale=20.0))
    t0 = time.perf_counter()
    result = trainer.train()
    out["train_seconds"] = time.perf_counter() - t0
    out["train_steps"] = result.global_step
    out["train_loss"] = result.training_loss
    model.eval()
    after = rank(model, queries, corpus, args.batch_size)
    out["after"] = metrics(evaluator, after)
    out["queries"] = len(evaluator.queries_ids)
    os.makedirs(args.out, exist_ok=True)
    for name, r in (("st-before", before), ("st-after", after)):
        with open(os.path.join(args.out, f"rankings-{name}.json"), "w", encoding="utf-8") as f:
            json.dump(r, f)
    out["versions"] = {"sentence_transformers": __import__("sentence_transformers").__version__, "torch": torch.__version__}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
