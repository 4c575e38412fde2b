"""Each vocabulary word's rows of the n-gram table, as the engines read them when training subwords.

fastText's model: a word's input vector is the mean of its own row and the rows its character n-grams hash to
(`modeling/subwords.py`). The engines read the rows of word w as `rows[starts[w]:starts[w + 1]]` (repeats kept,
as fastText averages over them); the pad and unknown words have none.

Hashing gives buckets, which are the rows of a full table (one row per bucket, as fastText's and a converted `.bin`'s);
a compact table (`Word2VecModel.ngram_buckets`, what training makes) holds only the buckets its vocabulary uses, and
`in_table` turns the buckets into its row numbers. The engines only ever see rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from word2vec_hub.tokenization.ngram_hashing import vocabulary_ngram_buckets

# Words whose n-gram rows `compose` gathers at once: about 25 rows a word, 100 MB at dim 300.
COMPOSE_CHUNK_WORDS = 1 << 12


def rows_in_table(table_buckets: np.ndarray, buckets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The row of each of `buckets` in a compact n-gram table whose row i holds bucket `table_buckets[i]`
    (ascending), and whether the table holds it (where not, the row is any valid one, or 0 in an empty table)."""
    if not len(table_buckets):
        return np.zeros(len(buckets), dtype=np.int64), np.zeros(len(buckets), dtype=np.bool_)
    rows = np.searchsorted(table_buckets, buckets).clip(max=len(table_buckets) - 1)
    return rows, table_buckets[rows] == buckets


@dataclass
class SubwordRows:
    """`starts` [vocab_size + 1] int64 offsets into `rows` (int32 rows of the n-gram table: buckets as `from_words`
    gives them, row numbers of a compact table after `in_table`)."""

    starts: np.ndarray
    rows: np.ndarray

    @classmethod
    def from_words(
        cls, words: list[str], min_n: int, max_n: int, bucket: int, without: tuple[int | None, ...] = ()
    ) -> SubwordRows:
        """The n-gram buckets of `words` (the vocabulary in id order, normalised as the tokenizer normalises text),
        which are the rows of a full table; the ids in `without` (the pad and unknown words) get none. Compiled and
        parallel: a 2M-word vocabulary takes seconds."""
        skipped = np.zeros(len(words), dtype=np.bool_)
        skipped[[word_id for word_id in without if word_id is not None]] = True
        return cls(*vocabulary_ngram_buckets(words, min_n, max_n, bucket, skipped))

    def buckets(self) -> np.ndarray:
        """The distinct rows named, ascending [rows] int64: after `from_words`, the buckets a compact table for these
        words holds."""
        return np.unique(self.rows).astype(np.int64)

    def in_table(self, table_buckets: np.ndarray) -> SubwordRows:
        """The same words with their buckets turned into rows of a compact table whose row i holds bucket
        `table_buckets[i]` (ascending); the table must hold every bucket of these words."""
        rows, held = rows_in_table(table_buckets, self.rows)
        missing = ~held
        if missing.any():
            raise ValueError(
                f"the n-gram table lacks {np.unique(self.rows[missing]).size:,} buckets of the words' n-grams "
                f"(first: {int(self.rows[missing][0])})"
            )
        return SubwordRows(self.starts, rows.astype(np.int32))

    def counts(self) -> np.ndarray:
        """Each word's number of n-gram rows [vocab_size] (repeats counted)."""
        return np.diff(self.starts)

    def compose(self, own_rows: torch.Tensor, ngrams: torch.Tensor, out: torch.Tensor) -> None:
        """Each word's fastText vector into `out` [vocab_size, dim]: the mean of its own row (`own_rows`, same
        shape) and its n-gram rows (of `ngrams` [rows, dim]); words without n-grams keep their own row."""
        counts = torch.from_numpy(self.counts()).to(out.device)
        out.copy_(own_rows)
        self._add_ngram_sums(ngrams, out, sign=1.0)
        out.div_((counts + 1).unsqueeze(1).to(out.dtype))

    def own_rows(self, composed: torch.Tensor, ngrams: torch.Tensor) -> torch.Tensor:
        """The words' own rows that `compose` made `composed` [vocab_size, dim] from: composed * n_w minus the
        sum of the word's n-gram rows (n_w = 1 + its n-gram rows), to float32 rounding."""
        counts = torch.from_numpy(self.counts()).to(composed.device)
        own = composed * (counts + 1).unsqueeze(1).to(composed.dtype)
        self._add_ngram_sums(ngrams, own, sign=-1.0)
        return own

    def _add_ngram_sums(self, ngrams: torch.Tensor, out: torch.Tensor, sign: float) -> None:
        # A chunk of words at a time, so that the gathered n-gram rows stay small beside the tables.
        vocab_size = self.starts.shape[0] - 1
        for first in range(0, vocab_size, COMPOSE_CHUNK_WORDS):
            last = min(first + COMPOSE_CHUNK_WORDS, vocab_size)
            low, high = int(self.starts[first]), int(self.starts[last])
            if low == high:
                continue
            owners = np.repeat(np.arange(first, last), np.diff(self.starts[first : last + 1]))
            rows = torch.from_numpy(self.rows[low:high].astype(np.int64)).to(ngrams.device)
            out.index_add_(0, torch.from_numpy(owners).to(out.device), ngrams[rows], alpha=sign)
