"""Fixtures of tuna's few-shot tests: scikit-learn's LogisticRegression (lbfgs, L2) fitted on
fixed embeddings, its coefficients and probabilities, for test/fewshot-setfit.test.ts.

Run with the reference venv:  /tmp/refvenv/bin/python tools/make-fewshot-fixtures.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "fewshot")


def case(X, y, C):
    clf = LogisticRegression(C=C, solver="lbfgs", max_iter=10000, tol=1e-12)
    clf.fit(X, y)
    return {
        "C": C,
        "X": X.round(6).tolist(),
        "y": y.tolist(),
        "coef": clf.coef_.tolist(),
        "intercept": clf.intercept_.tolist(),
        "probabilities": clf.predict_proba(X).tolist(),
    }


def main():
    rng = np.random.default_rng(13)
    # Three classes in 8 dimensions (the multinomial model), 6 examples each.
    centers = rng.normal(size=(3, 8))
    X3 = np.concatenate([c + 0.8 * rng.normal(size=(6, 8)) for c in centers]).round(6)
    y3 = np.repeat(np.arange(3), 6)
    # Two classes (the binomial model scikit-learn fits for binary problems), overlapping.
    X2 = rng.normal(size=(12, 5)).round(6)
    y2 = (X2[:, 0] + 0.7 * rng.normal(size=12) > 0).astype(int)
    os.makedirs(OUT, exist_ok=True)
    data = {"sklearn": sklearn.__version__, "multinomial": case(X3, y3, 1.0), "multinomial_c": case(X3, y3, 0.1), "binary": case(X2, y2, 2.0)}
    with open(os.path.join(OUT, "logistic.json"), "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
