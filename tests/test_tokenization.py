"""The WordLevel tokenizer: ids, normalisation, counts, and its transformers wrapper."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from tokenizers import models, pre_tokenizers, trainers
from transformers import AutoTokenizer

from word2vec_hub.tokenization.segmentation import train_segmenting_tokenizer
from word2vec_hub.tokenization.word_level import empty_word_level_tokenizer, split_words, wrap_tokenizer

from .conftest import encode_lines

LINES = ["the cat sat on the mat", "The dog sat", "a cat and a dog", "zebra"]


def train_tokenizer(lines: list[str], workdir, **arguments):
    """The WordLevel tokenizer training builds from `lines` (the `TrainingArguments` given, others default)."""
    return encode_lines(lines, workdir, **arguments).tokenizer


def test_ids_follow_frequency_then_alphabet_and_are_reproducible(tmp_path):
    tokenizer = train_tokenizer(LINES, tmp_path / "first", min_count=1)
    vocab = tokenizer.get_vocab()
    order = sorted(vocab, key=vocab.get)
    assert order[:2] == ["[PAD]", "[UNK]"]
    counts = Counter(word.lower() for line in LINES for word in line.split())
    words = order[2:]
    assert words == sorted(counts, key=lambda word: (-counts[word], word))
    assert train_tokenizer(LINES, tmp_path / "second", min_count=1).get_vocab() == vocab


def test_min_count_and_max_vocab(tmp_path):
    vocab = train_tokenizer(LINES, tmp_path / "min", min_count=2).get_vocab()
    assert set(vocab) == {"[PAD]", "[UNK]", "the", "cat", "sat", "dog", "a"}
    capped = train_tokenizer(LINES, tmp_path / "max", min_count=1, max_vocab=3).get_vocab()
    assert set(capped) == {"[PAD]", "[UNK]", "the", "a", "cat"}
    with pytest.raises(ValueError, match="min_count must be at least 1"):
        train_tokenizer(LINES, tmp_path / "zero", min_count=0)


def test_normalisation_and_pre_tokenisation_are_switchable(tmp_path):
    text = ["Ｃａｆé, CAFÉ café"]
    default = train_tokenizer(text, tmp_path / "default", min_count=1)
    assert set(default.get_vocab()) == {"[PAD]", "[UNK]", "café", ","}
    cased = train_tokenizer(text, tmp_path / "cased", min_count=1, lowercase=False)
    assert "CAFÉ" in cased.get_vocab() and "Café" in cased.get_vocab()
    no_nfkc = train_tokenizer(text, tmp_path / "no_nfkc", min_count=1, nfkc=False)
    assert "ｃａｆé" in no_nfkc.get_vocab()
    whitespace_only = train_tokenizer(
        ["<unk> mr. smith", "<unk>"], tmp_path / "whitespace", min_count=1, split_punctuation=False
    )
    assert {"<unk>", "mr."} <= set(whitespace_only.get_vocab())


def test_counts_are_exact_and_unknown_words_are_counted_then_dropped(tmp_path):
    lines = [*LINES, "the quokka and the cat"]
    text = encode_lines(lines, tmp_path, min_count=2)
    tokenizer, encoded = text.tokenizer, text.encoded
    words = [word.lower() for line in lines for word in line.split()]
    expected = Counter(words)
    vocab = tokenizer.get_vocab()
    for word, index in vocab.items():
        if word not in ("[PAD]", "[UNK]"):
            assert encoded.counts[index] == expected[word], word
    unknown = sum(count for word, count in expected.items() if word not in vocab)
    assert encoded.counts[vocab["[UNK]"]] == unknown
    assert encoded.word_count == len(words)
    assert encoded.num_tokens == len(words) - unknown
    assert vocab["[UNK]"] not in set(encoded.read().tolist())
    assert encoded.sentence_lengths.sum() == encoded.num_tokens
    # "on", "mat", "zebra" and "quokka" occur once: dropped, and the sentence "zebra" disappears.
    assert list(encoded.sentence_lengths) == [4, 3, 5, 4]


def test_blocks_end_on_sentence_boundaries(tmp_path):
    lines = [" ".join(["x"] * length) for length in (3, 4, 5, 2, 6)]
    encoded = encode_lines(lines, tmp_path, min_count=1).encoded
    blocks = list(encoded.blocks(3))
    # Targets 6 and 13 move back to the sentence starts 3 and 12.
    assert [len(ids) for ids, _ in blocks] == [3, 9, 8]
    assert [list(starts) for _, starts in blocks] == [[0], [0, 4], [0, 2]]
    assert np.concatenate([ids for ids, _ in encoded.blocks(40)]).tolist() == encoded.read().tolist()


def test_wrapped_tokenizer_pads_and_reloads_through_auto_tokenizer(tmp_path):
    tokenizer = wrap_tokenizer(train_tokenizer(LINES, tmp_path / "corpus", min_count=1))
    tokenizer.save_pretrained(tmp_path / "saved")
    assert (tmp_path / "saved" / "tokenizer_config.json").exists()
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "saved")
    batch = reloaded(["the cat", "unseenword"], padding=True)
    assert set(batch) == {"input_ids", "attention_mask"}
    vocab = reloaded.get_vocab()
    assert batch["input_ids"] == [[vocab["the"], vocab["cat"]], [vocab["[UNK]"], vocab["[PAD]"]]]
    assert batch["attention_mask"] == [[1, 1], [1, 0]]


MESSY_LINES = [
    "Ｃａｆé, CAFÉ café don't stop—now!",
    "tab\tseparated\u00a0non-breaking\u2003em-space words",
    "unit\x1fseparator stays inside a word, as in Rust",
    "ﬁne ligatures ¨ and a combining\u0301 mark",
    "",
    "the the the cat cat dog",
]


@pytest.mark.parametrize("split_punctuation", [True, False])
def test_vocabulary_equals_the_rust_word_level_trainer(tmp_path, split_punctuation):
    tokenizer = train_tokenizer(MESSY_LINES * 3, tmp_path, min_count=2, split_punctuation=split_punctuation)
    reference = empty_word_level_tokenizer(split_punctuation=split_punctuation)
    trainer = trainers.WordLevelTrainer(min_frequency=2, vocab_size=10_000, special_tokens=["[PAD]", "[UNK]"])
    reference.train_from_iterator(MESSY_LINES * 3, trainer)
    assert tokenizer.get_vocab() == reference.get_vocab()


@pytest.mark.parametrize("split_punctuation", [True, False])
def test_encoding_once_per_distinct_word_equals_encoding_every_line(tmp_path, split_punctuation):
    tokenizer = train_tokenizer(MESSY_LINES, tmp_path / "vocabulary", min_count=1, split_punctuation=split_punctuation)
    tokenizer.model = models.WordLevel(
        vocab={token: index for token, index in tokenizer.get_vocab().items() if index < 12}, unk_token="[UNK]"
    )
    # Encoded with a tokenizer given, as continued training (--init-from) encodes its corpus.
    encoded = encode_lines(MESSY_LINES * 2, tmp_path / "encoded", tokenizer=tokenizer).encoded
    unk_id = tokenizer.token_to_id("[UNK]")
    per_line = [tokenizer.encode(line, add_special_tokens=False).ids for line in MESSY_LINES * 2]
    expected = [[index for index in ids if index != unk_id] for ids in per_line]
    assert encoded.read().tolist() == [index for ids in expected for index in ids]
    assert encoded.sentence_lengths.tolist() == [len(ids) for ids in expected if ids]
    assert encoded.counts.tolist() == np.bincount([index for ids in per_line for index in ids], minlength=12).tolist()


def test_words_split_exactly_where_the_rust_pre_tokenizers_split():
    rust = pre_tokenizers.WhitespaceSplit()
    for code in [*range(0x20), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200C), 0x2028, 0x202F, 0x3000]:
        line = f"a{chr(code)}b"
        assert split_words(line) == [token for token, _ in rust.pre_tokenize_str(line)], hex(code)


@pytest.mark.parametrize("progress", [True, False])
def test_segmenting_chinese_names_each_step_on_the_progress_bar_unless_progress_is_off(progress, capsys):
    words = ["我们喜欢北京", "北京欢迎你", "我们在上海", "上海和北京"]
    train_segmenting_tokenizer(words, [15] * len(words), min_count=2, discovery="corpus", progress=progress)
    stderr = capsys.readouterr().err
    steps = ["finding candidate words", "segmenting 4 distinct words", "segmenting again", "ordering the vocabulary"]
    if progress:
        assert all(f"segmentation: {step}" in stderr for step in steps), stderr
        assert "4/4" in stderr
    else:
        assert stderr == ""
