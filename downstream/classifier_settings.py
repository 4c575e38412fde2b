"""The default settings of `word2vec classify`'s classifier, in a module light enough for the command line's parser.

Chosen on BBC News with bench-en vectors (benchmarks/classifier.py) and the time budget: words alone reached 0.95
(10 to 20 epochs), hashed word bigrams 0.97 in 5 epochs; 2**17 buckets keep the table at 50 MB for 100-dimensional
vectors (fastText's default is 2M buckets).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassifierSettings:
    """`epochs` passes over the training texts in batches of `batch_size`, Adam at `learning_rate` decaying
    linearly to zero; `word_bigram_buckets` rows of hashed word-bigram vectors (0: words only), a hidden layer of
    `hidden_size` (0: none), the word vectors frozen or fine-tuned; texts cut to their first `max_length` tokens
    (None: whole)."""

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 0.05
    word_bigram_buckets: int = 2**17
    hidden_size: int = 0
    freeze_embeddings: bool = True
    max_length: int | None = None
    seed: int = 0
