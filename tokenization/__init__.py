"""Training and wrapping the WordLevel tokenizer that maps text to the rows of a word2vec table."""

from .word_level import (
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_TOKEN,
    build_normalizer,
    empty_word_level_tokenizer,
    train_word_level_tokenizer,
    wrap_tokenizer,
)

__all__ = [
    "PAD_TOKEN",
    "SPECIAL_TOKENS",
    "UNK_TOKEN",
    "build_normalizer",
    "empty_word_level_tokenizer",
    "train_word_level_tokenizer",
    "wrap_tokenizer",
]
