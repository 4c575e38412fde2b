"""Training and wrapping the WordLevel tokenizer that maps text to the rows of a word2vec table."""

from .word_level import (
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_TOKEN,
    build_normalizer,
    count_tokens,
    empty_word_level_tokenizer,
    split_words,
    tokens_of_words,
    train_word_level_tokenizer,
    vocabulary_from_counts,
    wrap_tokenizer,
)

__all__ = [
    "PAD_TOKEN",
    "SPECIAL_TOKENS",
    "UNK_TOKEN",
    "build_normalizer",
    "count_tokens",
    "empty_word_level_tokenizer",
    "split_words",
    "tokens_of_words",
    "train_word_level_tokenizer",
    "vocabulary_from_counts",
    "wrap_tokenizer",
]
