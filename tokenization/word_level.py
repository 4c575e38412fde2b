"""The text-to-id step: a `tokenizers` WordLevel model trained on the corpus, wrapped for transformers."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN)


def build_normalizer(lowercase: bool = True, nfkc: bool = True) -> normalizers.Normalizer | None:
    steps = []
    if nfkc:
        steps.append(normalizers.NFKC())
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps) if steps else None


def build_pre_tokenizer(split_punctuation: bool = True) -> pre_tokenizers.PreTokenizer:
    # Whitespace() splits on \w+|[^\w\s]+, so punctuation becomes tokens of its own; WhitespaceSplit keeps
    # pre-tokenised corpora such as the Penn Treebank ("mr.", "n.v.") exactly as they are written.
    return pre_tokenizers.Whitespace() if split_punctuation else pre_tokenizers.WhitespaceSplit()


def empty_word_level_tokenizer(
    lowercase: bool = True, nfkc: bool = True, split_punctuation: bool = True, vocab: dict[str, int] | None = None
) -> Tokenizer:
    """A WordLevel tokenizer with our normalisation and pre-tokenisation, and the given vocabulary (if any)."""
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    normalizer = build_normalizer(lowercase=lowercase, nfkc=nfkc)
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = build_pre_tokenizer(split_punctuation)
    return tokenizer


def train_word_level_tokenizer(
    lines: Iterable[str],
    min_count: int = 5,
    max_vocab: int | None = None,
    lowercase: bool = True,
    nfkc: bool = True,
    split_punctuation: bool = True,
) -> Tokenizer:
    """Train a WordLevel vocabulary on `lines`; the counting happens in Rust.

    Ids: `[PAD]` is 0, `[UNK]` is 1, then the words with at least `min_count` occurrences by decreasing frequency,
    ties in alphabetical order, so that two runs on the same text give the same ids. `max_vocab` caps the number of
    words (special tokens not counted).
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if max_vocab is not None and max_vocab < 1:
        raise ValueError(f"max_vocab must be at least 1, got {max_vocab}")
    tokenizer = empty_word_level_tokenizer(lowercase=lowercase, nfkc=nfkc, split_punctuation=split_punctuation)
    trainer_options = {"min_frequency": min_count, "special_tokens": list(SPECIAL_TOKENS), "show_progress": False}
    if max_vocab is not None:
        trainer_options["vocab_size"] = max_vocab + len(SPECIAL_TOKENS)
    else:
        # The trainer's default caps the vocabulary at 30,000; word2vec keeps every word above min_count.
        trainer_options["vocab_size"] = 2**31 - 1
    tokenizer.train_from_iterator(lines, trainers.WordLevelTrainer(**trainer_options))
    return tokenizer


def wrap_tokenizer(tokenizer: Tokenizer) -> PreTrainedTokenizerFast:
    """The transformers view of a WordLevel tokenizer: unk and pad set, no length limit, ids and mask only."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token=UNK_TOKEN,
        pad_token=PAD_TOKEN,
        model_input_names=["input_ids", "attention_mask"],
        model_max_length=1_000_000_000,
    )
