"""Word-similarity and analogy benchmarks, computed as gensim's `evaluate_word_pairs` and
`evaluate_word_analogies` compute them, on the model's device.

The computation is the model's own (`Word2VecModel.evaluate_word_pairs` and `.evaluate_word_analogies`, gensim's
method names), so that a model loaded with remote code has it too; these functions are its names in this package.
"""

from __future__ import annotations

from pathlib import Path

from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import AnalogyResult, EvaluationFileError, WordSimilarityResult

__all__ = [
    "AnalogyResult",
    "EvaluationFileError",
    "WordSimilarityResult",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
]


def evaluate_word_pairs(model: Word2VecModel, path: str | Path, restrict_vocab: int = 300_000) -> WordSimilarityResult:
    """Spearman (and Pearson) correlation of cosine similarities with human scores: `model.evaluate_word_pairs`."""
    return model.evaluate_word_pairs(path, restrict_vocab=restrict_vocab)


def evaluate_word_analogies(
    model: Word2VecModel, path: str | Path, restrict_vocab: int = 300_000, batch_size: int = 1024
) -> AnalogyResult:
    """3CosAdd accuracy on an analogy file: `model.evaluate_word_analogies`."""
    return model.evaluate_word_analogies(path, restrict_vocab=restrict_vocab, batch_size=batch_size)
