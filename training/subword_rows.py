"""Each vocabulary word's rows of the n-gram table, as the engines read them when training subwords.

fastText's model: a word's input vector is the mean of its own row and the rows its character n-grams hash to
(`modeling/subwords.py`). The engines read the rows of word w as `rows[starts[w]:starts[w + 1]]` (repeats kept,
as fastText averages over them); the pad and unknown words have none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from word2vec_hub.modeling.subwords import ngram_buckets


@dataclass
class SubwordRows:
    """`starts` [vocab_size + 1] int64 offsets into `rows` (int32 rows of the n-gram table)."""

    starts: np.ndarray
    rows: np.ndarray

    @classmethod
    def from_words(
        cls, words: list[str], min_n: int, max_n: int, bucket: int, without: tuple[int | None, ...] = ()
    ) -> SubwordRows:
        """The n-gram rows of `words` (the vocabulary in id order, normalised as the tokenizer normalises text); the
        ids in `without` (the pad and unknown words) get none."""
        skipped = {word_id for word_id in without if word_id is not None}
        per_word = [[] if word_id in skipped else ngram_buckets(word, min_n, max_n, bucket) for word_id, word in
                    enumerate(words)]  # fmt: skip
        starts = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum([len(rows) for rows in per_word], out=starts[1:])
        rows = np.fromiter((row for word_rows in per_word for row in word_rows), dtype=np.int32, count=int(starts[-1]))
        return cls(starts, rows)
