"""The default settings of `word2vec classify`'s classifier, in a module light enough for the command line's parser.

Chosen on BBC News's training set and the time budget (benchmarks/classifier.py), not per data set.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassifierSettings:
    """`epochs` passes over the training texts in batches of `batch_size`, AdamW at `learning_rate` decaying
    linearly to zero; `word_bigram_buckets` rows of hashed word-bigram vectors (0: words only), a hidden layer of
    `hidden_size` (0: none), the word vectors frozen or fine-tuned; texts cut to their first `max_length` tokens
    (None: whole)."""

    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 0.01
    word_bigram_buckets: int = 0
    hidden_size: int = 0
    freeze_embeddings: bool = True
    max_length: int | None = None
    seed: int = 0
