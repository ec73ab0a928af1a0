"""LoRA adapters written by Hugging Face PEFT for a tiny BERT classifier, their logits and training losses.

Writes test/fixtures/peft/:

- base/: a random-init BertForSequenceClassification (hidden 32, 2 layers, 4 heads, 3 labels, a
  WordPiece vocabulary of its own), saved with save_pretrained with its tokenizer;
- lora/, lora-rslora/, lora-dense/, lora-dora/: PEFT LoRA adapters on that base (task SEQ_CLS, so
  the classifier is in modules_to_save), saved with save_pretrained: r=4, lora_alpha=8 on
  query,value; the same with use_rslora; r=4 on query,key,value,dense with lora_dropout 0.1; and
  r=4 on query,value with use_dora. LoRA B (zeros as PEFT initialises it), DoRA's magnitudes and
  the classifier are randomised so the adapters change the logits;
- lora-token/: a PEFT LoRA adapter (task TOKEN_CLS, r=4, lora_alpha=8 on query,value) on the same
  base loaded as a BertForTokenClassification (its classifier, of the same shape, is the start of
  the token head in modules_to_save), B and the classifier randomised as above;
- expected.json: the texts, their ids and mask (a padded batch), the base's logits, each
  adapter's logits, the logits of each adapter merged into the base (merge_and_unload), and five
  AdamW steps of the query,value adapter and of the DoRA adapter (dropout off, lr 1e-2, weight
  decay 0) with each step's loss and the logits after them; `token_adapter`: lora-token's per-token logits (batch x tokens x
  labels) and merged logits.

    /tmp/refvenv/bin/python tools/make-peft-fixtures.py

With --check, loads an adapter directory tuna wrote with PEFT on the base its adapter_config.json
names (or --base), with the labels of its head_config.json, and compares the logits with those tuna printed
(`tuna predict --json`, one JSON object with `logits` a line, for the fixture texts in order):

    /tmp/refvenv/bin/python tools/make-peft-fixtures.py --check DIR tuna.jsonl [--base BASE_DIR]
"""
import json
import os
import shutil
import sys
import tempfile

import torch

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'peft')
WORDS = (
    'a the cat dog sat on mat rug lay man woman plays guitar piano music is are was good bad great '
    'awful film movie story boring fun loved hated it this not very'
).split()
TEXTS = [
    'the cat sat on the mat',
    'a very good film',
    'this movie was awful and boring',
    'great',
    'i loved the story , it was fun',
]
LABELS = {'0': 'negative', '1': 'neutral', '2': 'positive'}
ADAPTERS = {
    'lora': dict(r=4, lora_alpha=8, target_modules=['query', 'value'], lora_dropout=0.0),
    'lora-rslora': dict(r=4, lora_alpha=8, target_modules=['query', 'value'], lora_dropout=0.0, use_rslora=True),
    'lora-dense': dict(r=4, lora_alpha=8, target_modules=['query', 'key', 'value', 'dense'], lora_dropout=0.1),
    'lora-dora': dict(r=4, lora_alpha=8, target_modules=['query', 'value'], lora_dropout=0.0, use_dora=True),
}


def vocabulary():
    letters = [chr(c) for c in range(ord('a'), ord('z') + 1)]
    return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', '?', *WORDS, *[c for c in letters if c not in WORDS], *[f'##{c}' for c in letters]]


def make_base(target):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = vocabulary()
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                     max_position_embeddings=40, type_vocab_size=2, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                     id2label={int(k): v for k, v in LABELS.items()}, label2id={v: int(k) for k, v in LABELS.items()})
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'LayerNorm.weight' in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.2)
    os.makedirs(target)
    with open(os.path.join(target, 'vocab.txt'), 'w') as f:
        f.write('\n'.join(vocab) + '\n')
    tok = BertTokenizerFast(os.path.join(target, 'vocab.txt'), do_lower_case=True, model_max_length=40)
    model.save_pretrained(target)
    tok.save_pretrained(target)
    return tok


def load_base(base, **labels):
    from transformers import AutoModelForSequenceClassification

    # float32 whatever the checkpoint stores (transformers otherwise computes an F16 checkpoint in float16)
    model = AutoModelForSequenceClassification.from_pretrained(base, dtype=torch.float32, **labels)
    model.eval()
    return model


def batch(tok, texts=TEXTS):
    return tok(texts, padding=True, return_tensors='pt')


def logits_of(model, enc):
    model.eval()
    with torch.no_grad():
        out = model(input_ids=enc['input_ids'], attention_mask=enc['attention_mask'], token_type_ids=enc['token_type_ids']).logits
    return [[round(float(x), 6) for x in row] for row in out]


def randomised(peft_model):
    """LoRA B (zeros as PEFT initialises it), DoRA's magnitudes (the base rows' norms) and the saved head
    randomised, so the adapter changes the logits."""
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if 'lora_B' in n:
                p.normal_(0, 0.3)
            elif 'lora_magnitude_vector' in n:
                p.mul_(1 + 0.1 * torch.randn_like(p))
            elif 'modules_to_save' in n:
                p.add_(torch.randn_like(p) * 0.2)
    peft_model.peft_config['default'].base_model_name_or_path = '../base'
    return peft_model


def make_adapter(base, name, spec, seed):
    from peft import LoraConfig, TaskType, get_peft_model

    model = load_base(base)
    config = LoraConfig(task_type=TaskType.SEQ_CLS, **spec)
    torch.manual_seed(seed)  # LoRA A's initialisation, then B and the classifier
    peft_model = get_peft_model(model, config)
    return randomised(peft_model)


def make_token_adapter(base, seed):
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(base, dtype=torch.float32)
    model.eval()
    config = LoraConfig(task_type=TaskType.TOKEN_CLS, r=4, lora_alpha=8, target_modules=['query', 'value'], lora_dropout=0.0)
    torch.manual_seed(seed)
    peft_model = get_peft_model(model, config)
    return randomised(peft_model)


def token_logits_of(model, enc):
    model.eval()
    with torch.no_grad():
        out = model(input_ids=enc['input_ids'], attention_mask=enc['attention_mask'], token_type_ids=enc['token_type_ids']).logits
    return [[[round(float(x), 6) for x in tok] for tok in row] for row in out]


def train(peft_model, enc, labels):
    """Five AdamW steps of the adapter (LoRA weights and the classifier), dropout off (eval mode)."""
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    peft_model.eval()
    losses = []
    for _ in range(5):
        opt.zero_grad()
        out = peft_model(input_ids=enc['input_ids'], attention_mask=enc['attention_mask'], token_type_ids=enc['token_type_ids'], labels=labels)
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    return losses


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    base = os.path.join(ROOT, 'base')
    tok = make_base(base)
    enc = batch(tok)
    expected = {
        'texts': TEXTS,
        'input_ids': enc['input_ids'].tolist(),
        'attention_mask': enc['attention_mask'].tolist(),
        'token_type_ids': enc['token_type_ids'].tolist(),
        'base_logits': logits_of(load_base(base), enc),
        'adapters': {},
    }
    for i, (name, spec) in enumerate(ADAPTERS.items()):
        peft_model = make_adapter(base, name, spec, seed=10 + i)
        target = os.path.join(ROOT, name)
        peft_model.save_pretrained(target)
        readme = os.path.join(target, 'README.md')
        if os.path.exists(readme):
            os.remove(readme)
        entry = {'spec': spec, 'logits': logits_of(peft_model, enc)}
        if name in ('lora', 'lora-dora'):
            labels = torch.tensor([1, 2, 0, 2, 2])
            entry['train'] = {'labels': labels.tolist(), 'lr': 1e-2, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 0.0}
            copy = make_adapter(base, name, spec, seed=10 + i)
            entry['train']['step_losses'] = train(copy, enc, labels)
            entry['train']['logits_after'] = logits_of(copy, enc)
        merged = peft_model.merge_and_unload()
        entry['merged_logits'] = logits_of(merged, enc)
        expected['adapters'][name] = entry
    token = make_token_adapter(base, seed=20)
    target = os.path.join(ROOT, 'lora-token')
    token.save_pretrained(target)
    if os.path.exists(os.path.join(target, 'README.md')):
        os.remove(os.path.join(target, 'README.md'))
    expected['token_adapter'] = {'logits': token_logits_of(token, enc)}
    expected['token_adapter']['merged_logits'] = token_logits_of(token.merge_and_unload(), enc)
    # How PEFT names what it saves, for the record (and the tests).
    from safetensors.torch import load_file

    expected['saved_keys'] = sorted(load_file(os.path.join(ROOT, 'lora', 'adapter_model.safetensors')).keys())
    expected['saved_keys_dora'] = sorted(load_file(os.path.join(ROOT, 'lora-dora', 'adapter_model.safetensors')).keys())
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    print('wrote', ROOT)


def check(adapter_dir, predictions, base=None):
    from peft import PeftModel
    from transformers import AutoTokenizer

    with open(os.path.join(adapter_dir, 'adapter_config.json')) as f:
        cfg = json.load(f)
    if base is None:
        base = cfg['base_model_name_or_path']
        if not os.path.isabs(base) and os.path.isdir(os.path.join(adapter_dir, base)):
            base = os.path.join(adapter_dir, base)
    tuna = [json.loads(line)['logits'] for line in open(predictions) if line.strip()]
    # tuna keeps the head's labels in head_config.json; the base may have another label set.
    labels = {}
    head_file = os.path.join(adapter_dir, 'head_config.json')
    if os.path.exists(head_file):
        with open(head_file) as f:
            head = json.load(f)
        labels = {'id2label': {int(k): v for k, v in head['id2label'].items()}, 'label2id': head['label2id'], 'ignore_mismatched_sizes': True}
    model = load_base(base, **labels)
    peft_model = PeftModel.from_pretrained(model, adapter_dir)
    tok = AutoTokenizer.from_pretrained(adapter_dir if os.path.exists(os.path.join(adapter_dir, 'tokenizer.json')) else base)
    enc = batch(tok, TEXTS[: len(tuna)])
    ref = logits_of(peft_model, enc)
    diff = max(abs(a - b) for ra, rb in zip(ref, tuna) for a, b in zip(ra, rb))
    print(json.dumps({'adapter': adapter_dir, 'base': base, 'texts': len(tuna), 'max_abs_logit_difference': diff}))
    sys.exit(0 if diff <= 1e-4 else 1)


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--check':
        args = sys.argv[2:]
        base = None
        if '--base' in args:
            i = args.index('--base')
            base = args[i + 1]
            args = args[:i] + args[i + 2:]
        check(args[0], args[1], base)
    else:
        main()
