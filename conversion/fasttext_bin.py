"""Reading Facebook fastText's binary model files (`.bin`, as the `fasttext` library and gensim's
`save_facebook_model` write them) as word vectors: each word's vector is what `fasttext.load_model(path)
.get_word_vector(word)` returns, the mean of the word's own input row and the rows of its character n-grams.

The file (fastText's `FastText::saveModel`, version 12; 11 reads the same): the magic number and version (int32
each); the arguments (12 int32: dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
lrUpdateRate; then t as a float64); the dictionary (int32 size, nwords, nlabels; int64 ntokens, pruneidx_size, -1
unless `fasttext quantize` pruned the n-grams; then per entry a NUL-terminated word, an int64 count and an int8
type, 0 for a word and 1 for a label; then pruneidx_size pairs of int32); a bool, whether the input matrix is
quantised; the input matrix (int64 rows, int64 columns, float32 data): nwords word rows, then `bucket` n-gram rows;
then the output matrix. Pruned and quantised models (`.ftz`) are refused.

The input matrix is memory-mapped and the word vectors composed a block of words at a time, so a `cc.*.300.bin`
(2M words and 2M buckets, 4.8 GB) converts without holding its table.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numba import njit, prange

from word2vec_hub.tokenization.ngram_hashing import word_ngram_buckets

from .vector_files import VectorFileError

MAGIC = 793712314
VERSIONS = (11, 12)
# fastText's `model_name` enum: cbow 1, skipgram 2, supervised 3.
SUPERVISED = 3
END_OF_SENTENCE = b"</s>"
ARGUMENTS = struct.Struct("<12id")
DICTIONARY_SIZES = struct.Struct("<3i2q")
MATRIX_SHAPE = struct.Struct("<2q")
# Words composed at once: a block of rows at dim 300 is 75 MB of float32.
BLOCK_WORDS = 1 << 16


class FastTextBinFile:
    """An open fastText `.bin` file: its `dim`, the `count` of word vectors (capped at `limit`), the n-gram
    settings (`min_n`, `max_n`, `bucket`), and, iterated once, its words and their vectors in blocks of rows, in the
    file's order (most frequent first). The same interface as `vector_files.VectorFile`.
    """

    def __init__(self, path: str | Path, limit: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VectorFileError(f"vector file not found: {self.path}")
        if limit is not None and limit < 1:
            raise VectorFileError(f"--max-vocab must be at least 1, got {limit}")
        if self.path.suffix.lower() in (".gz", ".bz2", ".xz"):
            raise VectorFileError(
                f"{self.path} is compressed; fastText's .bin is read in place: decompress it first (e.g. gunzip -k)"
            )
        self.limit, self.words_read = limit, 0
        # A plain ndarray over the mapping (numba takes no np.memmap); it keeps the mapping alive.
        self._data = np.asarray(np.memmap(self.path, dtype=np.uint8, mode="r"))
        self._read_layout()

    def _read_layout(self) -> None:
        data, size = self._data, self._data.shape[0]
        if size < 8 + ARGUMENTS.size + DICTIONARY_SIZES.size:
            raise VectorFileError(f"{self.path} is too short ({size} bytes) to be a fastText .bin file")
        magic, version = struct.unpack_from("<2i", data, 0)
        if magic != MAGIC:
            raise VectorFileError(
                f"{self.path} is not a fastText .bin file (it does not start with fastText's magic number); for "
                "fastText's text vectors (.vec) use --from fasttext-vec, for word2vec's binary --from word2vec-bin"
            )
        if version not in VERSIONS:
            raise VectorFileError(
                f"{self.path} is a fastText .bin file of version {version}; versions {VERSIONS[0]} and "
                f"{VERSIONS[-1]} are read: save it again with a current fastText"
            )
        arguments = ARGUMENTS.unpack_from(data, 8)
        self.dim, model, self.bucket, self.min_n, self.max_n = arguments[0], arguments[7], *arguments[8:11]
        offset = 8 + ARGUMENTS.size
        entries, self.nwords, labels, _, prune_size = DICTIONARY_SIZES.unpack_from(data, offset)
        offset += DICTIONARY_SIZES.size
        if model == SUPERVISED or labels > 0:
            raise VectorFileError(
                f"{self.path} is a supervised fastText model (a text classifier with {labels} labels): its word "
                "vectors are trained to predict labels, not words, so they are not converted; convert a model "
                "trained with `fasttext skipgram` or `fasttext cbow`"
            )
        if self.dim < 1 or entries < 0 or not 0 <= self.nwords <= entries:
            raise VectorFileError(f"{self.path}: the header is damaged (dim {self.dim}, {entries} entries)")
        starts, ends = _dictionary_words(data, offset, entries)
        if entries and ends[-1] < 0:
            raise VectorFileError(f"{self.path} is cut short inside its dictionary; download or save it again")
        self._word_starts, self._word_ends = starts[: self.nwords], ends[: self.nwords]
        offset = (ends[-1] + 10) if entries else offset
        if prune_size >= 0:
            raise VectorFileError(
                f"{self.path} has a pruned n-gram table (`fasttext quantize -cutoff`), which is not read; convert the "
                "model's unpruned .bin"
            )
        if offset + 1 + MATRIX_SHAPE.size > size:
            raise VectorFileError(f"{self.path} is cut short after its dictionary; download or save it again")
        if data[offset]:
            raise VectorFileError(
                f"{self.path} is quantised (`fasttext quantize`, usually a .ftz file), which is not read; convert the "
                "unquantised .bin"
            )
        rows, columns = MATRIX_SHAPE.unpack_from(data, offset + 1)
        offset += 1 + MATRIX_SHAPE.size
        if columns != self.dim or rows != self.nwords + self.bucket:
            raise VectorFileError(
                f"{self.path}: the input matrix is {rows} x {columns}, but the header gives {self.nwords} words, "
                f"{self.bucket} n-gram rows and dim {self.dim}; the file is damaged"
            )
        if offset + rows * columns * 4 > size:
            raise VectorFileError(
                f"{self.path} is cut short: its input matrix needs {offset + rows * columns * 4:,} bytes, the file has "
                f"{size:,}; download or save it again"
            )
        self._input = np.ndarray((rows, columns), dtype="<f4", buffer=data, offset=offset)

    @property
    def ngram_rows(self) -> int:
        """Rows of the n-gram table the model keeps: none for a model trained without subwords (`-maxn 0`)."""
        return self.bucket if self.max_n > 0 else 0

    @property
    def count(self) -> int:
        return self.nwords if self.limit is None else min(self.limit, self.nwords)

    def __enter__(self) -> FastTextBinFile:
        return self

    def __exit__(self, *exception) -> None:
        self._input = self._data = None

    def ngram_blocks(self) -> Iterator[np.ndarray]:
        """The n-gram table's rows `[bucket, dim]`, a block at a time."""
        for start in range(0, self.bucket, BLOCK_WORDS):
            yield self._input[self.nwords + start : self.nwords + min(start + BLOCK_WORDS, self.bucket)]

    def __iter__(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """Blocks of (words, float32 [len(words), dim]): each word's fastText vector."""
        if self.count == 0:
            raise VectorFileError(f"{self.path} holds no words")
        data = self._data
        for start in range(0, self.count, BLOCK_WORDS):
            end = min(start + BLOCK_WORDS, self.count)
            raw = [
                bytes(data[s:e]) for s, e in zip(self._word_starts[start:end], self._word_ends[start:end], strict=True)
            ]
            words = [word.decode("utf-8", errors="replace") for word in raw]
            vectors = np.empty((end - start, self.dim), dtype=np.float32)
            _compose(
                data, self._word_starts[start:end], self._word_ends[start:end], start, self.nwords, self._input,
                self.min_n, self.max_n, self.bucket, vectors,
            )  # fmt: skip
            self.words_read += len(words)
            yield words, vectors


@njit(cache=True)
def _dictionary_words(data: np.ndarray, offset: int, entries: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each entry's word starts and ends (its NUL); the last end is -1 if the file ends inside the
    dictionary."""
    starts = np.empty(entries, dtype=np.int64)
    ends = np.full(entries, -1, dtype=np.int64)
    size = data.shape[0]
    for entry in range(entries):
        starts[entry] = offset
        while offset < size and data[offset] != 0:
            offset += 1
        if offset + 9 >= size:
            ends[entries - 1] = -1
            return starts, ends
        ends[entry] = offset
        # The NUL, the int64 count and the int8 type.
        offset += 10
    return starts, ends


@njit(parallel=True, cache=True)
def _compose(
    data, starts, ends, first_word, nwords, table, min_n, max_n, bucket, out,
):  # fmt: skip
    """out[i] = mean of word (first_word + i)'s input row and its n-grams' rows, as fastText's `getWordVector`."""
    for i in prange(out.shape[0]):
        start, end = starts[i], ends[i]
        vector = table[first_word + i].astype(np.float32)
        is_end_of_sentence = end - start == 4 and data[start] == 60 and data[start + 1] == 47
        is_end_of_sentence = is_end_of_sentence and data[start + 2] == 115 and data[start + 3] == 62
        rows = 0
        if not is_end_of_sentence:
            buckets = np.empty((end - start + 2) * max(max_n - min_n + 1, 0), dtype=np.int32)
            rows = word_ngram_buckets(data, start, end, min_n, max_n, bucket, buckets)
            for row in buckets[:rows]:
                vector += table[nwords + np.int64(row)]
        out[i] = vector / np.float32(rows + 1)
