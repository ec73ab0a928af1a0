"""Tiny zero-shot fixtures written by transformers and sentence-transformers.

- test/fixtures/zero-shot/nli/: a random-init BertForSequenceClassification (hidden 32, 2 layers, a
  WordPiece vocabulary of its own) with id2label {0: contradiction, 1: neutral, 2: entailment}.
- test/fixtures/zero-shot/nli-upper/config.json: the same model with the labels in another order
  and casing ({0: ENTAILMENT, 1: NEUTRAL, 2: CONTRADICTION}); tests copy nli/'s weights and
  tokenizer beside it. Its scores differ from nli/'s only through the entailment id read from the
  config.
- test/fixtures/zero-shot/mlm/: a random-init BertForMaskedLM on the same vocabulary.
- test/fixtures/zero-shot/expected.json:
  - `nli`: outputs of transformers' pipeline('zero-shot-classification') on both configs for
    several sequences and candidate labels, single-label and multi_label, default and custom
    hypothesis_template (one sequence long enough to be truncated);
  - `cloze`: transformers' pipeline('fill-mask', targets=...) probabilities of label words at the
    masks of cloze prompts (one mask per word piece), with the label scores they give under
    tuna's rule (a word's score is its piece probabilities' geometric mean, a label's the mean of
    its words', normalised over labels);
  - `embedding`: sentence-transformers' cosine similarities between texts and label descriptions
    on test/fixtures/sentence/base.

    /tmp/refvenv/bin/python tools/make-zero-shot-fixtures.py
"""
import json
import math
import os
import shutil
import tempfile

import torch

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'zero-shot')
SENTENCE_BASE = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'sentence', 'base')
WORDS = (
    'a the this that example is was it about sports politics technology food weather music '
    'great good terrible bad fine okay movie film game team won lost election vote phone computer '
    'pizza bread rain sunny cold i we love hate my new old today review story was not very '
    'wonder aw'
).split()
PIECES = ['##ful', '##s', '##ed', '##ing']
LABELS_LOWER = {0: 'contradiction', 1: 'neutral', 2: 'entailment'}
LABELS_UPPER = {0: 'ENTAILMENT', 1: 'NEUTRAL', 2: 'CONTRADICTION'}
MAX_LENGTH = 48

SEQUENCES = [
    'the team won the game today',
    'i love this new phone',
    'the election vote was not very good',
    'rain and cold weather today',
    # Longer than MAX_LENGTH tokens with any hypothesis: the premise is truncated (only_first).
    ' '.join(['the movie was a great story about food and music'] * 6),
]
NLI_CASES = [
    dict(labels=['sports', 'politics', 'technology', 'food']),
    dict(labels=['sports', 'politics', 'technology', 'food'], multi_label=True),
    dict(labels=['weather', 'music'], hypothesis_template='this review is about {}.'),
    dict(labels=['weather', 'music', 'movie'], hypothesis_template='it was {}', multi_label=True),
    dict(labels=['sports']),
    dict(labels='sports, food ,music'),
]

CLOZE_TEXTS = ['the movie was great', 'i hate this phone', 'the food was okay', 'rain today']
CLOZE_CASES = [
    dict(template='{text} it was {mask}.', verbalizer={'positive': ['great', 'good'], 'negative': ['terrible', 'bad']}),
    # wonderful = wonder ##ful, awful = aw ##ful: two masks for these words.
    dict(template='{text} it was {mask}.', verbalizer={'positive': ['wonderful', 'good'], 'negative': ['awful']}),
    # No verbalizer: each label is its own word, in the default template.
    dict(template='{text} this example is {mask}.', verbalizer={'sports': ['sports'], 'food': ['food'], 'music': ['music']}),
]

EMBEDDING_TEXTS = ['the cat sat on the mat', 'how do i reset my password', 'the weather is sunny today']
EMBEDDING_LABELS = ['weather', 'music', 'bank', 'cat']
EMBEDDING_TEMPLATE = 'This example is {}.'


def vocabulary():
    letters = [chr(c) for c in range(ord('a'), ord('z') + 1)]
    return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', '?', ':', *WORDS, *[c for c in letters if c not in WORDS], *PIECES, *[f'##{c}' for c in letters]]


def bert_config(**extra):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(vocabulary()), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                      max_position_embeddings=MAX_LENGTH, type_vocab_size=2, **extra)


def randomize(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'LayerNorm.weight' in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.3)
    model.eval()


def save(model, directory):
    from transformers import BertTokenizerFast

    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'vocab.txt'), 'w') as f:
            f.write('\n'.join(vocabulary()) + '\n')
        tok = BertTokenizerFast(os.path.join(tmp, 'vocab.txt'), do_lower_case=True, model_max_length=MAX_LENGTH)
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    for extra in ('vocab.txt', 'special_tokens_map.json'):
        # tokenizer.json holds the vocabulary; keep the fixture small.
        path = os.path.join(directory, extra)
        if os.path.exists(path):
            os.remove(path)


def rounded(x):
    return [float(v) for v in x]


def make_nli():
    from transformers import BertForSequenceClassification, pipeline

    nli_dir = os.path.join(ROOT, 'nli')
    model = BertForSequenceClassification(bert_config(num_labels=3, id2label=LABELS_LOWER, label2id={v: k for k, v in LABELS_LOWER.items()}))
    randomize(model, 1)
    save(model, nli_dir)
    upper_dir = os.path.join(ROOT, 'nli-upper')
    os.makedirs(upper_dir, exist_ok=True)
    with open(os.path.join(nli_dir, 'config.json')) as f:
        config = json.load(f)
    config['id2label'] = {str(k): v for k, v in LABELS_UPPER.items()}
    config['label2id'] = {v: k for k, v in LABELS_UPPER.items()}
    with open(os.path.join(upper_dir, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        upper_full = os.path.join(tmp, 'nli-upper')
        shutil.copytree(nli_dir, upper_full)
        shutil.copy(os.path.join(upper_dir, 'config.json'), os.path.join(upper_full, 'config.json'))
        for name, directory in (('nli', nli_dir), ('nli-upper', upper_full)):
            classifier = pipeline('zero-shot-classification', model=directory, tokenizer=directory, device='cpu')
            cases = []
            for case in NLI_CASES:
                kwargs = {k: v for k, v in case.items() if k != 'labels'}
                results = classifier(SEQUENCES, candidate_labels=case['labels'], **kwargs)
                cases.append(dict(**case, results=[dict(sequence=r['sequence'], labels=r['labels'], scores=rounded(r['scores'])) for r in results]))
            out[name] = cases
        tok = classifier.tokenizer
        long_pair = tok(SEQUENCES[-1], 'This example is sports.', truncation='only_first')
        out['longPairTokens'] = len(long_pair['input_ids'])
    return out


def word_pieces(tok, word):
    vocab = tok.get_vocab()
    if word in vocab:
        return [vocab[word]]
    return tok(word, add_special_tokens=False)['input_ids']


def make_cloze():
    from transformers import BertForMaskedLM, pipeline

    mlm_dir = os.path.join(ROOT, 'mlm')
    model = BertForMaskedLM(bert_config())
    randomize(model, 2)
    save(model, mlm_dir)
    unmasker = pipeline('fill-mask', model=mlm_dir, tokenizer=mlm_dir, device='cpu')
    tok = unmasker.tokenizer
    cases = []
    for case in CLOZE_CASES:
        results = []
        for text in CLOZE_TEXTS:
            labels = {}
            for label, words in case['verbalizer'].items():
                entries = []
                for word in words:
                    pieces = word_pieces(tok, word)
                    prompt = case['template'].replace('{text}', text).replace('{mask}', ' '.join([tok.mask_token] * len(pieces)))
                    out = unmasker(prompt, targets=[tok.convert_ids_to_tokens(p) for p in pieces], top_k=len(pieces))
                    per_mask = out if len(pieces) > 1 else [out]
                    probs = []
                    for j, piece in enumerate(pieces):
                        probs.append(next(c['score'] for c in per_mask[j] if c['token'] == piece))
                    score = math.exp(sum(math.log(p) for p in probs) / len(probs))
                    entries.append(dict(word=word, pieces=pieces, prompt=prompt, pieceProbabilities=probs, score=score))
                labels[label] = dict(words=entries, score=sum(e['score'] for e in entries) / len(entries))
            total = sum(v['score'] for v in labels.values())
            results.append(dict(text=text, labels=labels, normalized={k: v['score'] / total for k, v in labels.items()}))
        cases.append(dict(template=case['template'], verbalizer=case['verbalizer'], results=results))
    return cases


def make_embedding():
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import cos_sim

    st = SentenceTransformer(SENTENCE_BASE, device='cpu')
    texts = st.encode(EMBEDDING_TEXTS, convert_to_tensor=True)
    labels = st.encode([EMBEDDING_TEMPLATE.replace('{}', label) for label in EMBEDDING_LABELS], convert_to_tensor=True)
    return dict(texts=EMBEDDING_TEXTS, labels=EMBEDDING_LABELS, hypothesisTemplate=EMBEDDING_TEMPLATE, cosines=cos_sim(texts, labels).tolist())


def main():
    os.makedirs(ROOT, exist_ok=True)
    expected = dict(maxLength=MAX_LENGTH, sequences=SEQUENCES, nli=make_nli(), cloze=make_cloze(), embedding=make_embedding())
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
