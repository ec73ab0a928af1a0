"""Writes test/fixtures/retrieval/{rankings.json,qrels.tsv,expected.json}: random rankings (ties
included, queries with 0, 1 or many relevant documents, lists shorter than the cutoffs) and the
metrics sentence-transformers' InformationRetrievalEvaluator.compute_metrics gives for them.

Run: /tmp/refvenv/bin/python tools/make-retrieval-fixtures.py
"""

import json
import os
import random

import sentence_transformers
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "retrieval")

OPTIONS = {
    "ndcgAt": [1, 3, 10, 100],
    "mrrAt": [1, 10],
    "mapAt": [5, 100],
    "recallAt": [1, 3, 5, 10, 100],
    "precisionAt": [1, 3, 5, 10, 100],
    "accuracyAt": [1, 3, 5, 10],
}


def main():
    rng = random.Random(14)
    # Ids whose order differs between code points and UTF-16 units ("\U0001d4b3" > "\uff58" in
    # Python), and numbers that sort as text ("d10" < "d9").
    docs = [f"d{i}" for i in range(120)] + ["\uff58", "\U0001d4b3", "é1", "E1"]
    queries = {}
    rankings = {}
    qrels = []  # (query, doc, grade)

    def ranked(qid, n, ties):
        pool = rng.sample(docs, n)
        hits = []
        for d in pool:
            s = rng.random()
            if ties:
                s = round(s * 4) / 4  # few distinct scores: many ties
            hits.append({"id": d, "score": s})
        hits.sort(key=lambda h: -h["score"])  # best first, ties in random order
        rankings[qid] = hits
        queries[qid] = f"query {qid}"

    # A query judged only not relevant (grades 0 and -1), and one absent from the qrels.
    ranked("q-none", 20, False)
    qrels += [("q-none", rankings["q-none"][0]["id"], 0), ("q-none", "d5", -1)]
    ranked("q-unjudged", 10, False)
    # One relevant document, found early, late, or not at all.
    for i, (n, pos) in enumerate([(30, 0), (30, 4), (12, 11), (8, None), (110, 97)]):
        qid = f"q-one-{i}"
        ranked(qid, n, i % 2 == 0)
        doc = rankings[qid][pos]["id"] if pos is not None else next(d for d in docs if d not in {h["id"] for h in rankings[qid]})
        qrels.append((qid, doc, 1))
    # Many relevant documents (more than some cutoffs), some not retrieved, graded, with ties.
    for i in range(8):
        qid = f"q-many-{i}"
        n = rng.choice([0, 3, 7, 15, 40, 120])
        ranked(qid, n, i % 2 == 1)
        ids = [h["id"] for h in rankings[qid]]
        k = rng.randint(2, 14)
        chosen = set(rng.sample(ids, min(len(ids), k // 2))) if ids else set()
        while len(chosen) < k:
            chosen.add(rng.choice(docs))
        for d in sorted(chosen):
            qrels.append((qid, d, rng.choice([1, 1, 2, 3])))
        # A judged non-relevant document among the retrieved ones.
        rest = [d for d in ids if d not in chosen]
        if rest:
            qrels.append((qid, rest[0], 0))
    # Ties at the top between ids that sort differently by code point and by UTF-16 unit.
    rankings["q-tie"] = [{"id": "\U0001d4b3", "score": 0.5}, {"id": "\uff58", "score": 0.5}, {"id": "d9", "score": 0.5}, {"id": "d10", "score": 0.5}]
    queries["q-tie"] = "query q-tie"
    qrels += [("q-tie", "\uff58", 1), ("q-tie", "d10", 1)]

    relevant = {}
    for q, d, g in qrels:
        if g > 0:
            relevant.setdefault(q, set()).add(d)
    evaluator = InformationRetrievalEvaluator(
        queries=queries,
        corpus={d: d for d in docs},
        relevant_docs=relevant,
        ndcg_at_k=OPTIONS["ndcgAt"],
        mrr_at_k=OPTIONS["mrrAt"],
        map_at_k=OPTIONS["mapAt"],
        precision_recall_at_k=OPTIONS["recallAt"],
        accuracy_at_k=OPTIONS["accuracyAt"],
        write_csv=False,
    )
    results = [[{"corpus_id": h["id"], "score": h["score"]} for h in rankings[q]] for q in evaluator.queries_ids]
    scores = evaluator.compute_metrics(results)
    expected = {}
    for family, values in scores.items():
        name = family.removesuffix("@k")
        for k, v in values.items():
            expected[f"{name}@{k}"] = float(v)
    expected["queries"] = len(evaluator.queries_ids)

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "rankings.json"), "w", encoding="utf-8") as f:
        json.dump(rankings, f, ensure_ascii=False, indent=0)
        f.write("\n")
    with open(os.path.join(OUT, "qrels.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, d, g in qrels:
            f.write(f"{q}\t{d}\t{g}\n")
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "source": f"sentence-transformers {sentence_transformers.__version__} InformationRetrievalEvaluator.compute_metrics",
                "options": OPTIONS,
                "withoutRelevant": len(queries) - len(evaluator.queries_ids),
                "metrics": expected,
            },
            f,
            indent=1,
        )
        f.write("\n")
    print(f"wrote {OUT}: {len(rankings)} rankings, {len(qrels)} judgements, {len(evaluator.queries_ids)} queries evaluated")


if __name__ == "__main__":
    main()
