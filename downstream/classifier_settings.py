"""The default settings of `word2vec classify`'s classifier, in a module light enough for the command line's parser.

Chosen on BBC News with bench-en vectors (benchmarks/classifier.py) and the time budget: words alone reached 0.95
(10 to 20 epochs), hashed word bigrams 0.96 to 0.97 in 2 to 5 epochs; 2**16 buckets keep the table at 26 MB for
100-dimensional vectors (fastText's default is 2M buckets). Bigram vectors start from nothing, as fastText's do: on
25 to 100 labelled articles they memorised the training texts and the test accuracy fell to 0.24 to 0.73 (words
alone: 0.86 to 0.89), hence `bigram_min_texts`.

Measured again on 2026-12-06 with row-wise Adagrad (test articles right of 425, seeds 0-2, frozen vectors,
3 epochs): bigrams alone 409-412 at learning rate 0.5, 410-412 at 0.25, 406-407 at 1.0; batches of 16 408-410, of
64 411; 2**19 buckets 404-412; 5 epochs 409-411. Hashed words beside the bigrams: 412-413 at 0.25, 410-413 at 0.5;
fine-tuned vectors with them 411-413 at 0.25.

Measured again on 2026-12-06 after the compiled loops (downstream/bags.py; seeds 0-5, bench-en vectors; test
articles right of 425, frozen / fine-tuned; CPU seconds from loading the vectors to the trained model, medians, on
the shared 2-core machine at load average 5 to 9): 2**17 buckets 411-414 / 411-414 (1.05 s frozen), 2**16 410-414 /
410-414 (0.80 s), 2**15 409-412 / 409-415 (0.63 s), 2**14 408-413 / 409-414 (0.61 s). 2 epochs (seeds 0-2,
2**17 buckets): 410-413 / 409-414. Batches of 64 mean 4 epochs here (at least `min_steps` batches), no faster.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ClassifierSettings:
    """`epochs` passes over the training texts in batches of `batch_size` (more where that makes fewer than
    `min_steps` batches), Adagrad at `learning_rate` decaying linearly to zero; `word_bigram_buckets` rows of hashed
    word-bigram vectors (0: words only) where there are at least `bigram_min_texts` training texts, and a hashed
    trainable vector for each word in the same table (`hashed_words`) beside its pretrained one, a hidden layer of
    `hidden_size` (0: none), the word vectors frozen or fine-tuned; texts cut to their first `max_length` tokens
    (None: whole)."""

    epochs: int = 3
    min_steps: int = 100
    batch_size: int = 32
    learning_rate: float = 0.25
    word_bigram_buckets: int = 2**16
    hashed_words: bool = True
    bigram_min_texts: int = 1000
    hidden_size: int = 0
    freeze_embeddings: bool = True
    max_length: int | None = None
    seed: int = 0

    def for_texts(self, count: int) -> ClassifierSettings:
        """The settings for `count` training texts: no bigrams below `bigram_min_texts`."""
        return self if count >= self.bigram_min_texts else replace(self, word_bigram_buckets=0)
