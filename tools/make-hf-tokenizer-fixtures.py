"""Writes test/fixtures/hf-tokenizers/<name>/: small tokenizers trained with Hugging Face `tokenizers`
and `sentencepiece`, converted with transformers' converters where a real model family does so, and
expected.json with what Python `tokenizers` computes for a set of texts (ids, tokens, offsets in UTF-16
code units, word ids, type ids, special-tokens masks, decodes).

Run with a venv holding tokenizers, sentencepiece, protobuf and transformers (see docs in
/work/shared/DESIGN.md, "Reference Python"):

    python tools/make-hf-tokenizer-fixtures.py [out_dir]

With REAL_CHARSMAP=1 the SentencePiece models use sentencepiece's built-in nmt_nfkc(_cf) rules
instead of the small rule set (write those to another out_dir: they are too large to commit).
"""

import io
import json
import os
import shutil
import sys
from types import SimpleNamespace

import sentencepiece as spm
import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
import importlib

csl = importlib.import_module("transformers.convert_slow_tokenizer")

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "hf-tokenizers")

BASE = [
    "Hello world! This is a small corpus for training tokenizers.",
    "The quick brown fox jumps over the lazy dog; the dog sleeps.",
    "Tokenizers split text into words, subwords and characters.",
    "Café, naïve, résumé, façade, jalapeño, Ångström, Øresund.",
    "Ελληνικά κείμενα και Русский текст тоже здесь.",
    "我们喜欢自然语言处理。机器学习很有趣！北京是中国的首都。",
    "日本語のテキストも少しあります。東京は大きい都市です。",
    "Emoji are fun 😀🎉👍🏽 and flags 🇫🇷 too ❤️.",
    "Numbers like 12345, 3.14159 and 2026-12-02 appear often.",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic.",
    "Whitespace   runs\tand\ttabs\nand newlines\n\nare here.",
    "Don't stop, we're almost there; it's what I'd've done.",
    "E-mail me at someone@example.com or visit https://example.org/path?q=1.",
    "ﬁne ligatures, full-width ＡＢＣ１２３, and ① circled ㌀ units.",
    "Control\u0007chars\u200band zero\u200dwidth joiners\u00adsoft hyphens.",
    "UPPER lower MiXeD case Words In Titles.",
]
CORPUS = []
for i in range(30):
    for line in BASE:
        CORPUS.append(line if i % 3 else line.lower())
        CORPUS.append(" ".join(reversed(line.split())))

TEXTS = [
    "Hello world!",
    "hello   world  ",
    "  leading spaces and trailing  ",
    "The quick brown fox jumps over the lazy dog.",
    "Café naïve résumé jalapeño Ångström",
    "e\u0301te\u0301 decomposed accents",
    "我们喜欢自然语言处理。",
    "日本語のテキスト、東京。",
    "Emoji 😀🎉👍🏽 🇫🇷 ❤️ done",
    "12345 3.14159 2026-12-02",
    "Supercalifragilisticexpialidocious!!!",
    "Tabs\tand\nnewlines\r\nhere",
    "Don't we're it's I'd've",
    "ﬁne ＡＢＣ１２３ ① ㌀",
    "\u0007Control\u200bchars\u00ad",
    "unseen words: zyxwv qwrtp Ωμέγα ש ขอบคุณ",
    "Hello world [MASK] there, the New York <tool>   call <sep> world 2026",
    "hello world\u00a0again, HELLO WORLD!",
    "UPPER lower MiXeD",
    "",
    " ",
    "a",
]
PAIRS = [
    ("Hello world!", "How are you?"),
    ("Café naïve", "我们喜欢"),
    ("Emoji 😀 here", "  spaced   out  "),
    ("Don't stop", "12345 numbers"),
]


def utf16_map(text):
    """Code-point index -> UTF-16 index, for every position 0..len."""
    out = [0]
    for ch in text:
        out.append(out[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return out


def conv_offsets(offsets, seq_ids, texts):
    out = []
    for (s, e), sid in zip(offsets, seq_ids):
        if sid is None:
            out.append([s, e])
            continue
        m = utf16_map(texts[sid] if sid < len(texts) else "")
        out.append([m[min(s, len(m) - 1)], m[min(e, len(m) - 1)]])
    return out


def enc_json(enc, texts):
    seq = enc.sequence_ids
    return {
        "ids": enc.ids,
        "tokens": enc.tokens,
        "typeIds": enc.type_ids,
        "attentionMask": enc.attention_mask,
        "specialTokensMask": enc.special_tokens_mask,
        "offsets": conv_offsets(enc.offsets, seq, texts),
        "wordIds": enc.word_ids,
        "sequenceIds": seq,
    }


def cases(tok, options):
    out = []
    for i, text in enumerate(TEXTS):
        for add in (True, False) if i % 2 == 0 else (True,):
            tok.no_truncation()
            tok.no_padding()
            enc = tok.encode(text, add_special_tokens=add)
            out.append({"text": text, "addSpecialTokens": add, "expected": enc_json(enc, [text])})
    for a, b in PAIRS:
        tok.no_truncation()
        tok.no_padding()
        enc = tok.encode(a, b)
        out.append({"text": a, "pair": b, "addSpecialTokens": True, "expected": enc_json(enc, [a, b])})
    # Truncation and padding.
    for strategy in ("longest_first", "only_first", "only_second"):
        for side in ("right", "left"):
            for a, b in PAIRS[:2]:
                tok.no_padding()
                try:
                    tok.enable_truncation(max_length=9, strategy=strategy, direction=side)
                    enc = tok.encode(a, b)
                except Exception as e:  # noqa: BLE001
                    out.append({"text": a, "pair": b, "options": {"maxLength": 9, "truncation": strategy, "truncationSide": side}, "error": str(e)})
                    continue
                out.append({"text": a, "pair": b, "addSpecialTokens": True, "options": {"maxLength": 9, "truncation": strategy, "truncationSide": side}, "expected": enc_json(enc, [a, b])})
    for side in ("right", "left"):
        tok.no_padding()
        tok.enable_truncation(max_length=6, strategy="longest_first", direction=side)
        enc = tok.encode(TEXTS[3])
        out.append({"text": TEXTS[3], "addSpecialTokens": True, "options": {"maxLength": 6, "truncation": "longest_first", "truncationSide": side}, "expected": enc_json(enc, [TEXTS[3]])})
    tok.no_truncation()
    pad_id = tok.token_to_id(options["pad"])
    for side in ("right", "left"):
        tok.enable_padding(direction=side, pad_id=pad_id, pad_token=options["pad"], length=24)
        enc = tok.encode(TEXTS[0])
        out.append({"text": TEXTS[0], "addSpecialTokens": True, "options": {"maxLength": 24, "truncation": False, "padding": "max_length", "paddingSide": side}, "expected": enc_json(enc, [TEXTS[0]])})
    tok.enable_padding(direction="right", pad_id=pad_id, pad_token=options["pad"], pad_to_multiple_of=8)
    enc = tok.encode(TEXTS[1])
    out.append({"text": TEXTS[1], "addSpecialTokens": True, "options": {"padding": "longest", "padToMultipleOf": 8}, "expected": enc_json(enc, [TEXTS[1]])})
    tok.no_padding()
    return out


WORDS = [["Hello", "world!"], ["Café", "naïve", "résumé"], ["我们", "喜欢", "😀"], ["  spaced", "out ", "12345"], ["Don't", "New York"]]


def words(tok):
    out = []
    for ws in WORDS:
        enc = tok.encode(ws, is_pretokenized=True)
        # Offsets are relative to each word: convert each with its own word's code-point map.
        e = enc_json(enc, [""])
        offs = []
        for (s, t), w in zip(enc.offsets, enc.word_ids):
            if w is None:
                offs.append([s, t])
            else:
                m = utf16_map(ws[w])
                offs.append([m[min(s, len(m) - 1)], m[min(t, len(m) - 1)]])
        e["offsets"] = offs
        out.append({"words": ws, "expected": e})
    return out


def decodes(tok):
    out = []
    for text in TEXTS[::2] + [p[1] for p in PAIRS]:
        ids = tok.encode(text).ids
        out.append({"ids": ids, "skipSpecialTokens": False, "text": tok.decode(ids, skip_special_tokens=False)})
        out.append({"ids": ids, "skipSpecialTokens": True, "text": tok.decode(ids, skip_special_tokens=True)})
    return out


def batch(tok, options):
    texts = TEXTS[:5]
    tok.enable_padding(pad_id=tok.token_to_id(options["pad"]), pad_token=options["pad"])
    encs = tok.encode_batch(texts)
    tok.no_padding()
    return {"texts": texts, "expected": [enc_json(e, [t]) for e, t in zip(encs, texts)]}


def write(name, tok, config, options, extra_files=None):
    d = os.path.join(OUT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
    for fname, data in (extra_files or {}).items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    # Reload from the file, as a user would.
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    expected = {
        "tokenizersVersion": tokenizers.__version__,
        "vocabSize": tok.get_vocab_size(with_added_tokens=True),
        "cases": cases(tok, options),
        "batch": batch(tok, options),
        "decodes": decodes(tok),
        "words": words(tok),
    }
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, separators=(",", ":"))
    print(name, tok.get_vocab_size(), os.path.getsize(os.path.join(d, "tokenizer.json")), os.path.getsize(os.path.join(d, "expected.json")))


def normalization_rules(casefold):
    """A small sentencepiece normalization rule set (NFKC of a few blocks, some removals and compositions):
    sentencepiece compiles it into the same kind of charsmap as its built-in nmt_nfkc rules, at a
    fraction of the size."""
    import unicodedata

    rules = {}
    ranges = [(0xA0, 0x24F), (0x2000, 0x215F), (0x2460, 0x24FF), (0x3000, 0x303F), (0x3300, 0x33FF), (0xFB00, 0xFB06), (0xFF01, 0xFF5E)]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            n = unicodedata.normalize("NFKC", c)
            if casefold:
                n = n.casefold()
            if n != c and n:
                rules[(cp,)] = [ord(x) for x in n]
    if casefold:
        for cp in range(0x41, 0x5B):
            rules[(cp,)] = [cp + 32]
        for cp in range(0x391, 0x3AA):
            if unicodedata.category(chr(cp)) == "Lu":
                rules[(cp,)] = [ord(x) for x in chr(cp).lower()]
    for cp in (0x200B, 0x200D, 0xAD, 0xFEFF, 0x7):
        rules[(cp,)] = []
    rules[(0x9,)] = [0x20]
    rules[(0xA,)] = [0x20]
    rules[(0xD, 0xA)] = [0x20]
    rules[(0x65, 0x301)] = [0xE9]
    rules[(0x61, 0x308)] = [0xE4]
    rules[(0x2764, 0xFE0F)] = [0x2665]
    lines = []
    for src, dst in sorted(rules.items()):
        lines.append(" ".join(f"{c:X}" for c in src) + "\t" + " ".join(f"{c:X}" for c in dst))
    path = "/tmp/spm-rules-%d.tsv" % int(casefold)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def train_spm(model_type, vocab_size, casefold=False, **kw):
    buf = io.BytesIO()
    if os.environ.get("REAL_CHARSMAP"):
        # sentencepiece's built-in rules (about 250 KB of charsmap per tokenizer: too large to commit).
        kw.setdefault("normalization_rule_name", "nmt_nfkc_cf" if casefold else "nmt_nfkc")
    if "normalization_rule_name" not in kw:
        kw["normalization_rule_tsv"] = normalization_rules(casefold)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=buf,
        model_type=model_type,
        vocab_size=vocab_size,
        character_coverage=0.995,
        minloglevel=2,
        hard_vocab_limit=False,
        **kw,
    )
    return buf.getvalue()


def spm_stand_in(path, vocab, **attrs):
    ids = {t: i for i, (t, _) in enumerate(vocab)}
    return SimpleNamespace(vocab_file=path, convert_tokens_to_ids=lambda t: ids[t], **attrs)


def roberta_bpe():
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.add_tokens([AddedToken("New York", single_word=True), AddedToken("@@", normalized=False)])
    config = {"tokenizer_class": "RobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "add_prefix_space": False, "clean_up_tokenization_spaces": False}
    write("roberta-bpe", tok, config, {"pad": "<pad>"})


def gpt2_bpe_prefix():
    """Byte-level BPE with add_prefix_space and a ByteLevel post-processor, NFC normalizer."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    config = {"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "add_prefix_space": True}
    write("gpt2-bpe-prefix", tok, config, {"pad": "<|endoftext|>"})


def xlmr_unigram():
    model = train_spm("unigram", 700, user_defined_symbols=[], byte_fallback=False)
    path = "/tmp/xlmr-sentencepiece.bpe.model"
    with open(path, "wb") as f:
        f.write(model)
    m = csl.import_protobuf().ModelProto()
    m.ParseFromString(model)
    conv = csl.XLMRobertaConverter.__new__(csl.XLMRobertaConverter)
    conv.proto = m
    vocab = conv.vocab(m)
    conv.original_tokenizer = spm_stand_in(path, vocab, add_prefix_space=True)
    tok = conv.converted()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<s>", "<pad>", "</s>", "<unk>"]])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "clean_up_tokenization_spaces": True}
    write("xlmr-unigram", tok, config, {"pad": "<pad>"}, {"sentencepiece.bpe.model": model})


def albert_unigram():
    model = train_spm("unigram", 600, pad_id=0, unk_id=1, bos_id=2, eos_id=3, pad_piece="<pad>", unk_piece="<unk>", bos_piece="[CLS]", eos_piece="[SEP]", user_defined_symbols=["[MASK]"], casefold=True)
    path = "/tmp/albert-spiece.model"
    with open(path, "wb") as f:
        f.write(model)
    m = csl.import_protobuf().ModelProto()
    m.ParseFromString(model)
    conv = csl.AlbertConverter.__new__(csl.AlbertConverter)
    conv.proto = m
    vocab = conv.vocab(m)
    conv.original_tokenizer = spm_stand_in(path, vocab, keep_accents=False, do_lower_case=True, add_prefix_space=True)
    tok = conv.converted()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<pad>", "<unk>", "[CLS]", "[SEP]"]])
    tok.add_special_tokens([AddedToken("[MASK]", lstrip=True, special=True, normalized=False)])
    config = {"tokenizer_class": "AlbertTokenizer", "model_max_length": 512, "do_lower_case": True, "keep_accents": False, "bos_token": "[CLS]", "eos_token": "[SEP]", "sep_token": "[SEP]", "cls_token": "[CLS]", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "[MASK]"}
    write("albert-unigram", tok, config, {"pad": "<pad>"}, {"spiece.model": model})


def deberta_unigram():
    model = train_spm("unigram", 500, pad_id=0, unk_id=3, bos_id=1, eos_id=2, pad_piece="[PAD]", unk_piece="[UNK]", bos_piece="[CLS]", eos_piece="[SEP]", user_defined_symbols=["[MASK]"], byte_fallback=True)
    path = "/tmp/deberta-spm.model"
    with open(path, "wb") as f:
        f.write(model)
    m = csl.import_protobuf().ModelProto()
    m.ParseFromString(model)
    conv = csl.DebertaV2Converter.__new__(csl.DebertaV2Converter)
    conv.proto = m
    vocab = conv.vocab(m)
    conv.original_tokenizer = spm_stand_in(path, vocab, do_lower_case=False, split_by_punct=True, add_prefix_space=True)
    tok = conv.converted()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]])
    config = {"tokenizer_class": "DebertaV2Tokenizer", "model_max_length": 512, "do_lower_case": False, "split_by_punct": True, "bos_token": "[CLS]", "eos_token": "[SEP]", "sep_token": "[SEP]", "cls_token": "[CLS]", "unk_token": "[UNK]", "pad_token": "[PAD]", "mask_token": "[MASK]"}
    write("deberta-unigram", tok, config, {"pad": "[PAD]"}, {"spm.model": model})


def wordpiece_cased():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=800, special_tokens=special, show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tok.add_tokens([AddedToken("naïve", single_word=True), AddedToken("fox", rstrip=True, lstrip=True)])
    config = {"tokenizer_class": "BertTokenizer", "model_max_length": 128, "do_lower_case": False, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    write("wordpiece-cased", tok, config, {"pad": "[PAD]"})


def split_sequence_bpe():
    """Non-byte-level BPE with a suffix, a normalizer sequence and a pre-tokenizer sequence."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKC(),
        normalizers.Replace(Regex(r"[0-9]{5,}"), "#"),
        normalizers.Replace("''", '"'),
        normalizers.Lowercase(),
        normalizers.Strip(left=True, right=True),
        normalizers.StripAccents(),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"https?://\S+"), behavior="isolated"),
        pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"@"), behavior="merged_with_next"),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.WhitespaceSplit(),
    ])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<pad>", "<cls>", "<sep>"], end_of_word_suffix="</w>", show_progress=False, limit_alphabet=120)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<cls>:0 $A:0 <sep>:0", pair="<cls>:0 $A:0 <sep>:0 $B:1 <sep>:1", special_tokens=[("<cls>", tok.token_to_id("<cls>")), ("<sep>", tok.token_to_id("<sep>"))])
    config = {"model_max_length": 256, "unk_token": "<unk>", "pad_token": "<pad>", "cls_token": "<cls>", "sep_token": "<sep>"}
    write("split-sequence-bpe", tok, config, {"pad": "<pad>"})


def wordlevel_split():
    """WordLevel with Whitespace / Split(removed, invert) pre-tokenizers and a Bert post-processor."""
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(), normalizers.Prepend("_")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\w+|[^\w\s]+"), behavior="removed", invert=True),
        pre_tokenizers.Whitespace(),
    ])
    trainer = trainers.WordLevelTrainer(vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    tok.decoder = decoders.Sequence([decoders.Replace("_", " "), decoders.Strip(" ", 1, 0)])
    config = {"model_max_length": 64, "unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"}
    write("wordlevel-split", tok, config, {"pad": "[PAD]"})


def metaspace_bpe_fallback():
    """A sentencepiece BPE model with byte fallback, in the Llama-style layout transformers writes."""
    model = train_spm("bpe", 600, byte_fallback=True, pad_id=3, pad_piece="<pad>")
    path = "/tmp/spm-bpe.model"
    with open(path, "wb") as f:
        f.write(model)
    m = csl.import_protobuf().ModelProto()
    m.ParseFromString(model)
    vocab_scores = [(p.piece, p.score) for p in m.pieces]
    vocab = {p: i for i, (p, _) in enumerate(vocab_scores)}
    merges = csl.generate_merges(vocab, vocab_scores)
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>", "<pad>"]])
    tok.post_processor = processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    config = {"model_max_length": 2048, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "clean_up_tokenization_spaces": False}
    write("spm-bpe-fallback", tok, config, {"pad": "<pad>"}, {"tokenizer.model": model})


def llama3_bytelevel():
    """Byte-level BPE behind a Split regex, ignore_merges, ByteLevel + Template post-processing."""
    tok = Tokenizer(models.BPE())
    pattern = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<|begin|>", "<|end|>", "<|pad|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    data = json.loads(tok.to_str())
    data["model"]["ignore_merges"] = True
    # A word in the vocab that merges would split differently is kept whole.
    tok = Tokenizer.from_str(json.dumps(data))
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin|> $A", pair="<|begin|> $A <|end|> <|begin|>:1 $B:1", special_tokens=[("<|begin|>", tok.token_to_id("<|begin|>")), ("<|end|>", tok.token_to_id("<|end|>"))]),
    ])
    tok.add_tokens([AddedToken("<tool>", special=False, normalized=False, rstrip=True)])
    config = {"model_max_length": 8192, "bos_token": "<|begin|>", "eos_token": "<|end|>", "pad_token": "<|pad|>", "clean_up_tokenization_spaces": True}
    write("llama3-bytelevel", tok, config, {"pad": "<|pad|>"})


def unigram_fallback_first():
    """Unigram with byte fallback, Digits + Metaspace(prepend_scheme=first), NFKD + Replace normalizers."""
    model = train_spm("unigram", 450, byte_fallback=True)
    m = csl.import_protobuf().ModelProto()
    m.ParseFromString(model)
    vocab = [(p.piece, p.score) for p in m.pieces]
    tok = Tokenizer(models.Unigram(vocab, unk_id=m.trainer_spec.unk_id, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)])
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse(), decoders.Metaspace(replacement="▁", prepend_scheme="first")])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
    tok.add_special_tokens([AddedToken("<sep>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("world", normalized=True, single_word=False)])
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A <sep> $B:1 </s>:1", special_tokens=[("</s>", tok.token_to_id("</s>")), ("<sep>", tok.token_to_id("<sep>"))])
    config = {"model_max_length": 512, "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>", "sep_token": "<sep>"}
    write("unigram-fallback-first", tok, config, {"pad": "<unk>"})


def bpe_prefix_uncased():
    """BPE with a '##' continuation prefix, uncased BertNormalizer, Split on a string, WordPiece decoder."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split("'", behavior="isolated"), pre_tokenizers.Punctuation(behavior="removed")])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], continuing_subword_prefix="##", show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    tok.add_tokens([AddedToken("hello world", normalized=True)])
    tok.add_special_tokens([AddedToken("[MASK]", special=True, lstrip=True, rstrip=True)])
    config = {"model_max_length": 512, "do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]", "clean_up_tokenization_spaces": True}
    write("bpe-prefix-uncased", tok, config, {"pad": "[PAD]"})


def component_variants():
    """One WordLevel vocabulary behind many normalizer / pre-tokenizer combinations: offsets, word ids and tokens per variant."""
    base = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    base.pre_tokenizer = pre_tokenizers.Whitespace()
    base.train_from_iterator(CORPUS, trainers.WordLevelTrainer(vocab_size=150, special_tokens=["[UNK]"], show_progress=False))
    variants = {
        "metaspace-never-nosplit": (None, pre_tokenizers.Metaspace(prepend_scheme="never", split=False)),
        "metaspace-underscore": (normalizers.Replace("_", " "), pre_tokenizers.Metaspace(replacement="_", prepend_scheme="always", split=True)),
        "split-removed-invert-contiguous": (None, pre_tokenizers.Sequence([pre_tokenizers.Split(" ", behavior="removed"), pre_tokenizers.Split(Regex(r"\d+"), behavior="contiguous", invert=True)])),
        "strip-left-vowels-nfd-lower": (normalizers.Sequence([normalizers.Strip(left=True, right=False), normalizers.Replace(Regex("[aeiou]"), ""), normalizers.NFD(), normalizers.Lowercase()]), pre_tokenizers.WhitespaceSplit()),
        "bytelevel-prefix-noregex": (None, pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)),
        "bert-accents-cased": (normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False), pre_tokenizers.BertPreTokenizer()),
        "char-delimiter-punct-next": (None, pre_tokenizers.Sequence([pre_tokenizers.CharDelimiterSplit(" "), pre_tokenizers.Punctuation(behavior="merged_with_next")])),
        "replace-grow-prepend": (normalizers.Sequence([normalizers.Replace("o", "0o0"), normalizers.Prepend("^"), normalizers.NFKC()]), pre_tokenizers.Split(Regex(r"[\p{L}\p{N}]+"), behavior="isolated")),
        "digits-merged-previous": (normalizers.NFKD(), pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.Split("e", behavior="merged_with_previous")])),
    }
    out = []
    for name, (norm, pre) in variants.items():
        tok = Tokenizer.from_str(base.to_str())
        tok.normalizer = norm
        tok.pre_tokenizer = pre
        cases = []
        for text in TEXTS:
            enc = tok.encode(text, add_special_tokens=False)
            e = enc_json(enc, [text])
            cases.append({"text": text, "tokens": e["tokens"], "offsets": e["offsets"], "wordIds": e["wordIds"]})
        out.append({"name": name, "tokenizer": json.loads(tok.to_str()), "cases": cases})
    d = os.path.join(OUT, "components")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "variants.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizersVersion": tokenizers.__version__, "variants": out}, f, ensure_ascii=False, separators=(",", ":"))
    print("components", os.path.getsize(os.path.join(d, "variants.json")))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    roberta_bpe()
    gpt2_bpe_prefix()
    xlmr_unigram()
    albert_unigram()
    deberta_unigram()
    wordpiece_cased()
    split_sequence_bpe()
    wordlevel_split()
    metaspace_bpe_fallback()
    llama3_bytelevel()
    unigram_fallback_first()
    bpe_prefix_uncased()
    component_variants()
