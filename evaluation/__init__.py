"""Intrinsic evaluation of word vectors: word-similarity correlation and analogy accuracy."""

from .benchmarks import (
    AnalogyResult,
    EvaluationFileError,
    WordSimilarityResult,
    evaluate_word_analogies,
    evaluate_word_pairs,
)

__all__ = [
    "AnalogyResult",
    "EvaluationFileError",
    "WordSimilarityResult",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
]
