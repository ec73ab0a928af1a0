"""Reference values for tuna's metrics module.

test/fixtures/metrics/sklearn.json: scikit-learn's classification_report (text and output_dict) and
confusion_matrix on random label lists (missing classes, label subsets, long and non-ASCII names,
digits 2 and 4, each zero_division setting) and on multi-label indicator data.

test/fixtures/metrics/entities.json: entity-level precision/recall/F1 per type and micro-averaged on
random BIO and BIOES tag sequences, from a chunk reader written here after the CoNLL-2000 evaluation
script's rules (conlleval.pl): a chunk ends before B or S, after E or S, at O, and when the type
changes; a chunk starts at B or S, at I or E after O/E/S, and when the type changes.

    apt-get install python3-sklearn && /usr/bin/python3 tools/make-metrics-fixtures.py
"""
import json
import os
import random
import warnings

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.preprocessing import MultiLabelBinarizer

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'metrics')
warnings.simplefilter('ignore')


def clean(d):
    if isinstance(d, dict):
        return {k: clean(v) for k, v in d.items()}
    if isinstance(d, (np.floating, float)):
        return None if np.isnan(d) else float(d)
    if isinstance(d, (np.integer,)):
        return int(d)
    return d


def single_cases(rng):
    cases = []
    names = [['a', 'b', 'c'], ['card_arrival', 'exchange_rate', 'lost_or_stolen_card', 'pin_blocked'],
             ['正面', '负面'], ['x', 'a-very-long-label-name-that-is-wider-than-weighted-avg', 'y', 'z', 'w']]
    for i in range(16):
        labels = names[i % len(names)]
        n = rng.randint(5, 60)
        y_true = [rng.choice(labels) for _ in range(n)]
        # Predictions skew towards the first labels so some classes are never predicted.
        y_pred = [t if rng.random() < 0.55 else rng.choice(labels[: max(1, len(labels) - 1)]) for t in y_true]
        case = {'y_true': y_true, 'y_pred': y_pred, 'digits': 2 if i % 2 == 0 else 4,
                'zero_division': ['warn', 0, 1][i % 3]}
        if i % 5 == 4:
            case['labels'] = sorted(set(y_true))[:-1] or sorted(set(y_true))
        kw = dict(digits=case['digits'], zero_division=case['zero_division'])
        if 'labels' in case:
            kw['labels'] = case['labels']
        case['text'] = classification_report(y_true, y_pred, **kw)
        case['dict'] = clean(classification_report(y_true, y_pred, output_dict=True, **kw))
        cm_labels = case.get('labels') or sorted(set(y_true) | set(y_pred))
        case['confusion'] = {'labels': cm_labels, 'matrix': confusion_matrix(y_true, y_pred, labels=cm_labels).tolist()}
        cases.append(case)
    return cases


def multi_cases(rng):
    cases = []
    labels = ['food', 'price', 'service', 'speed']
    for i in range(6):
        n = rng.randint(6, 30)
        y_true = [sorted(rng.sample(labels, rng.randint(0, 3))) for _ in range(n)]
        y_pred = [sorted(set(l for l in t if rng.random() < 0.7) | ({rng.choice(labels)} if rng.random() < 0.3 else set()))
                  for t in y_true]
        mlb = MultiLabelBinarizer(classes=labels)
        T, P = mlb.fit_transform(y_true), mlb.transform(y_pred)
        zd = [0, 1][i % 2]
        cases.append({'y_true': y_true, 'y_pred': y_pred, 'labels': labels, 'digits': 2, 'zero_division': zd,
                      'text': classification_report(T, P, target_names=labels, digits=2, zero_division=zd),
                      'dict': clean(classification_report(T, P, target_names=labels, output_dict=True, zero_division=zd))})
    return cases


def split(tag):
    if tag == 'O':
        return 'O', ''
    prefix, _, typ = tag.partition('-')
    return prefix, typ


def chunks(tags):
    out = []
    prev, prev_type, start = 'O', '', 0
    for i, tag in enumerate(list(tags) + ['O']):
        p, t = split(tag)
        ended = prev in ('E', 'S') or (prev in ('B', 'I') and p in ('B', 'S', 'O')) or (prev != 'O' and prev_type != t)
        if ended:
            out.append((prev_type, start, i))
        began = p in ('B', 'S') or (prev in ('E', 'S', 'O') and p in ('I', 'E')) or (p != 'O' and prev_type != t)
        if began:
            start = i
        prev, prev_type = p, t
    return out


def entity_cases(rng):
    cases = []
    for scheme in ('BIO', 'BIOES'):
        for _ in range(6):
            prefixes = ['B', 'I'] + (['E', 'S'] if scheme == 'BIOES' else [])
            types = ['PER', 'LOC', 'ORG', 'MISC']
            y_true, y_pred = [], []
            for _ in range(rng.randint(3, 12)):
                n = rng.randint(1, 15)
                t = [rng.choice(['O', 'O', 'O'] + [f'{p}-{ty}' for p in prefixes for ty in types]) for _ in range(n)]
                q = [x if rng.random() < 0.7 else rng.choice(['O'] + [f'{p}-{ty}' for p in prefixes for ty in types]) for x in t]
                y_true.append(t)
                y_pred.append(q)
            true_set = {(s, c) for s, sent in enumerate(y_true) for c in chunks(sent)}
            pred_set = {(s, c) for s, sent in enumerate(y_pred) for c in chunks(sent)}
            per_type = {}
            for ty in sorted({c[0] for _, c in true_set | pred_set}):
                t = {x for x in true_set if x[1][0] == ty}
                p = {x for x in pred_set if x[1][0] == ty}
                per_type[ty] = {'tp': len(t & p), 'predicted': len(p), 'support': len(t)}
            cases.append({'scheme': scheme, 'y_true': y_true, 'y_pred': y_pred, 'types': per_type,
                          'micro': {'tp': len(true_set & pred_set), 'predicted': len(pred_set), 'support': len(true_set)}})
    return cases


def main():
    rng = random.Random(20261124)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'sklearn.json'), 'w', encoding='utf-8') as f:
        json.dump({'single': single_cases(rng), 'multi': multi_cases(rng)}, f, ensure_ascii=False)
    with open(os.path.join(OUT, 'entities.json'), 'w', encoding='utf-8') as f:
        json.dump(entity_cases(rng), f)


if __name__ == '__main__':
    main()
