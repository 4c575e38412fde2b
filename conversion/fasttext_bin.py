"""Reading Facebook fastText's binary model files (`.bin`, as the `fasttext` library and gensim's
`save_facebook_model` write them) as word vectors: each word's vector is what `fasttext.load_model(path)
.get_word_vector(word)` returns, the mean of the word's own input row and the rows of its character n-grams.
And writing one from a model (`write_fasttext_bin`), which both of those read back.

The file (fastText's `FastText::saveModel`, version 12; 11 reads the same): the magic number and version (int32
each); the arguments (12 int32: dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
lrUpdateRate; then t as a float64); the dictionary (int32 size, nwords, nlabels; int64 ntokens, pruneidx_size, -1
unless `fasttext quantize` pruned the n-grams; then per entry a NUL-terminated word, an int64 count and an int8
type, 0 for a word and 1 for a label; then pruneidx_size pairs of int32); a bool, whether the input matrix is
quantised; the input matrix (int64 rows, int64 columns, float32 data): nwords word rows, then `bucket` n-gram rows;
then the output matrix. Pruned and quantised models (`.ftz`) are refused.

The input matrix is memory-mapped and the word vectors composed a block of words at a time, so a `cc.*.300.bin`
(2M words and 2M buckets, 4.8 GB of input matrix) converts without holding its table: the pages of word rows are
unmapped once composed, and the n-gram table is copied to the model file by the kernel, not through us.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import njit, prange

from word2vec_hub.tokenization.ngram_hashing import word_ngram_buckets

from .vector_files import VectorFileError

if TYPE_CHECKING:
    from word2vec_hub.modeling import Word2VecModel

MAGIC = 793712314
VERSIONS = (11, 12)
# fastText's `model_name` enum: cbow 1, skipgram 2, supervised 3; its `loss_name`: hs 1, ns 2.
CBOW, SKIPGRAM, SUPERVISED = 1, 2, 3
HIERARCHICAL_SOFTMAX, NEGATIVE_SAMPLING = 1, 2
WRITTEN_VERSION = 12
# fastText's defaults for what our models do not have: word n-grams of one word, the learning rate's update rate.
WORD_NGRAMS, LR_UPDATE_RATE = 1, 100
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
        if self.path.stat().st_size == 0:
            raise VectorFileError(f"{self.path} is empty: it is not a fastText .bin file")
        with open(self.path, "rb") as file:
            self._mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        # A plain read-only ndarray over the mapping, as numba takes it.
        self._data = np.frombuffer(self._mapping, dtype=np.uint8)
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
        self._input_offset = offset
        self._input = np.ndarray((rows, columns), dtype="<f4", buffer=data, offset=offset)

    @property
    def ngram_rows(self) -> int:
        """Rows of the n-gram table the model keeps: none for a model trained without subwords (`-maxn 0`)."""
        return self.bucket if self.max_n > 0 else 0

    @property
    def ngram_table_offset(self) -> int:
        """Where in the file the n-gram table (`ngram_rows` rows of `dim` little-endian float32) starts: it is
        copied to `model.safetensors` as it is, file to file, by the kernel."""
        return self._input_offset + self.nwords * self.dim * 4

    @property
    def count(self) -> int:
        return self.nwords if self.limit is None else min(self.limit, self.nwords)

    def __enter__(self) -> FastTextBinFile:
        return self

    def __exit__(self, *exception) -> None:
        # Dropped, not closed: an array the caller still holds may view the mapping.
        self._input = self._data = self._mapping = None

    def __iter__(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """Blocks of (words, float32 [len(words), dim]): each word's fastText vector. A block's array is reused:
        it holds its vectors until the next block is asked for, so a caller copies what it keeps (as the weights
        writer does).

        A thread composes the next block (numba, on every core, without the GIL) while the caller handles this
        one: at cc size, decoding the words and building the vocabulary from them are seconds of Python that would
        otherwise wait for the composing, and it for them."""
        if self.count == 0:
            raise VectorFileError(f"{self.path} holds no words")
        spans = [(start, min(start + BLOCK_WORDS, self.count)) for start in range(0, self.count, BLOCK_WORDS)]
        buffers = [np.empty((min(BLOCK_WORDS, self.count), self.dim), dtype=np.float32) for _ in range(2)]
        # numba's thread count is a thread's own: the composing thread takes the caller's.
        threads = numba.get_num_threads()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fasttext-compose") as composer:
            composing = composer.submit(self._compose_block, *spans[0], buffers[0], threads)
            for index, (start, end) in enumerate(spans):
                words = self._words(start, end)
                vectors = composing.result()
                if index + 1 < len(spans):
                    following = (*spans[index + 1], buffers[(index + 1) % 2], threads)
                    composing = composer.submit(self._compose_block, *following)
                self.words_read += len(words)
                yield words, vectors
        self._forget(0, len(self._mapping))

    def _words(self, start: int, end: int) -> list[str]:
        """The words of entries [start, end)."""
        starts, ends = self._word_starts[start:end], self._word_ends[start:end]
        # Sliced from one bytes object with Python ints: a numpy slice a word costs several times more.
        block, first = self._mapping[starts[0] : ends[-1]], starts[0]
        spans = zip((starts - first).tolist(), (ends - first).tolist(), strict=True)
        return [block[s:e].decode("utf-8", errors="replace") for s, e in spans]

    def _compose_block(self, start: int, end: int, buffer: np.ndarray, threads: int) -> np.ndarray:
        """The vectors of words [start, end) in the first rows of `buffer`, composed on `threads` numba threads;
        their own rows are then unmapped."""
        numba.set_num_threads(threads)
        vectors = buffer[: end - start]
        ngrams = self._input[self.nwords : self.nwords + self.ngram_rows]
        _compose(
            self._data, self._word_starts[start:end], self._word_ends[start:end], self._input[start:end], ngrams,
            self.min_n, self.max_n if self.ngram_rows else 0, max(self.ngram_rows, 1), vectors,
        )  # fmt: skip
        self._forget(self._input_offset + start * self.dim * 4, self._input_offset + end * self.dim * 4)
        return vectors

    def _forget(self, first: int, last: int) -> None:
        """Unmap the pages of bytes [first, last) from this process: read once, they need not count in its memory
        (the page cache keeps them, so touching them again reads them from there)."""
        page = mmap.PAGESIZE
        first = first // page * page
        last = min(-(-last // page) * page, len(self._mapping))
        if last > first and hasattr(mmap, "MADV_DONTNEED"):
            self._mapping.madvise(mmap.MADV_DONTNEED, first, last - first)


def write_fasttext_bin(model: Word2VecModel, path: str | Path) -> int:
    """Write `model`'s words (special tokens left out) to `path` as a fastText `.bin` (version 12, unsupervised,
    unquantised) that `fasttext.load_model` and gensim's `load_facebook_model` read, giving each known word the
    vector `model[word]` gives it and each unknown word its subword vector, to float32 precision. Return the number
    of words written.

    fastText keeps each word's own row and composes its vector when asked, where the model folder keeps the
    composed vector: the row written is composed * (1 + n) - the sum of the word's n n-gram rows. A model without
    subwords is written as fastText's `-maxn 0` models are (no n-gram table, `bucket` 0), its rows its vectors.
    The output matrix is the model's context vectors where it has them (negative sampling), else zeros: converted
    vectors have none, and hierarchical softmax's inner nodes follow our Huffman tree, not fastText's. Counts are
    the model's, at least 1 (gensim's loader drops a word counted 0). A compact n-gram table is written full, a
    block of buckets at a time, with zero rows where it has none: fastText then computes every vector as our model
    does.
    """
    config = model.config
    rows = model.word_ids()
    encoded = [model.index_to_key[row].encode("utf-8") for row in rows]
    if any(b"\0" in word for word in encoded):
        raise ValueError("a word contains the NUL character, which ends a word in fastText's format")
    lengths = np.array([len(word) for word in encoded], dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    counts = np.maximum(model.counts.detach().cpu().numpy()[rows], 1)
    subwords = model.ngrams is not None and config.bucket > 0
    bucket = config.bucket if subwords else 0
    min_n, max_n = (config.min_n, config.max_n) if subwords else (0, 0)
    ngrams = model.ngrams.detach().float().cpu().numpy() if subwords else np.zeros((0, config.hidden_size), "<f4")
    row_of_bucket = _row_of_bucket(model) if subwords else np.empty(0, dtype=np.int32)
    table = model.embeddings.detach().float().cpu()
    context = model.context if config.has_context_vectors and not config.hs else None
    with open(path, "wb") as file:
        file.write(struct.pack("<2i", MAGIC, WRITTEN_VERSION))
        file.write(
            ARGUMENTS.pack(
                config.hidden_size, config.window, config.epochs, config.min_count, config.negative, WORD_NGRAMS,
                HIERARCHICAL_SOFTMAX if config.hs else NEGATIVE_SAMPLING,
                CBOW if config.architecture == "cbow" else SKIPGRAM,
                bucket, min_n, max_n, LR_UPDATE_RATE, config.sample,
            )
        )  # fmt: skip
        file.write(DICTIONARY_SIZES.pack(len(rows), len(rows), 0, int(counts.sum()), -1))
        for start in range(0, len(rows), BLOCK_WORDS):
            block = range(start, min(start + BLOCK_WORDS, len(rows)))
            file.write(b"".join(encoded[i] + b"\0" + struct.pack("<qb", counts[i], 0) for i in block))
        file.write(b"\0")  # the input matrix is not quantised
        file.write(MATRIX_SHAPE.pack(len(rows) + bucket, config.hidden_size))
        for start in range(0, len(rows), BLOCK_WORDS):
            end = min(start + BLOCK_WORDS, len(rows))
            composed = table[rows[start:end]].numpy()
            own = np.empty_like(composed, dtype="<f4")
            _own_rows(
                data, starts[start:end], ends[start:end], composed, ngrams, row_of_bucket, min_n, max_n,
                max(bucket, 1), own,
            )  # fmt: skip
            file.write(own.data)
        for start in range(0, bucket, BLOCK_WORDS):
            file.write(_full_ngram_rows(ngrams, row_of_bucket, start, min(start + BLOCK_WORDS, bucket)).data)
        file.write(b"\0")  # nor is the output matrix
        file.write(MATRIX_SHAPE.pack(len(rows), config.hidden_size))
        for start in range(0, len(rows), BLOCK_WORDS):
            block = rows[start : start + BLOCK_WORDS]
            if context is None:
                output = np.zeros((len(block), config.hidden_size), dtype="<f4")
            else:
                output = context.detach()[block].float().cpu().numpy()
            file.write(np.ascontiguousarray(output, dtype="<f4").data)
    return len(rows)


def _row_of_bucket(model: Word2VecModel) -> np.ndarray:
    """A compact n-gram table's row of each bucket [bucket] int32, -1 where it has none; empty for a full table."""
    if model.ngram_buckets is None:
        return np.empty(0, dtype=np.int32)
    row_of_bucket = np.full(model.config.bucket, -1, dtype=np.int32)
    row_of_bucket[model.ngram_buckets.cpu().numpy()] = np.arange(model.ngram_buckets.shape[0], dtype=np.int32)
    return row_of_bucket


def _full_ngram_rows(ngrams: np.ndarray, row_of_bucket: np.ndarray, first: int, last: int) -> np.ndarray:
    """Buckets [first, last) of the full table that fastText keeps [last - first, dim] float32: a compact table's
    rows where it has them, zeros elsewhere (what our model reads there), one block at a time so that the full table
    is never held."""
    if not row_of_bucket.shape[0]:
        return np.ascontiguousarray(ngrams[first:last], dtype="<f4")
    block = np.zeros((last - first, ngrams.shape[1]), dtype="<f4")
    rows = row_of_bucket[first:last]
    held = rows >= 0
    block[held] = ngrams[rows[held]]
    return block


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


@njit(inline="always")
def _add_ngram_rows(data, start, end, ngrams, row_of_bucket, min_n, max_n, bucket, total):
    """Add to `total` the rows of `ngrams` that the n-grams of the word data[start:end] hash to, in fastText's
    order (`word_ngram_buckets`; none for the end-of-sentence token "</s>"); return how many n-grams there were.
    `row_of_bucket` [bucket] gives a compact table's row of each bucket (-1: none, a zero row that still counts);
    empty for a full table, whose row of a bucket is the bucket."""
    if end - start == 4 and (data[start], data[start + 1], data[start + 2], data[start + 3]) == (60, 47, 115, 62):
        return 0
    buckets = np.empty((end - start + 2) * max(max_n - min_n + 1, 0), dtype=np.int32)
    added = word_ngram_buckets(data, start, end, min_n, max_n, bucket, buckets)
    for index in range(added):
        row = np.int64(buckets[index])
        if row_of_bucket.shape[0]:
            row = np.int64(row_of_bucket[row])
            if row < 0:
                continue
        for column in range(total.shape[0]):
            total[column] += ngrams[row, column]
    return added


@njit(parallel=True, nogil=True, cache=True)
def _compose(data, starts, ends, word_rows, ngrams, min_n, max_n, bucket, out):
    """out[i] = the mean of word_rows[i] and the n-gram rows of the word data[starts[i]:ends[i]] (of the full table
    `ngrams`), summed and scaled in float32 in fastText's order (`getWordVector`: its own row, then the n-grams',
    times 1 / count)."""
    full_table = np.empty(0, dtype=np.int32)
    for i in prange(out.shape[0]):
        vector = out[i]
        vector[:] = word_rows[i]
        rows = 1 + _add_ngram_rows(data, starts[i], ends[i], ngrams, full_table, min_n, max_n, bucket, vector)
        vector *= np.float32(1.0 / rows)


@njit(parallel=True, nogil=True, cache=True)
def _own_rows(data, starts, ends, composed, ngrams, row_of_bucket, min_n, max_n, bucket, out):
    """out[i] = the row fastText keeps for the word data[starts[i]:ends[i]] whose vector is composed[i]:
    composed[i] * (1 + n) - the sum of its n n-gram rows (`row_of_bucket` as for `_add_ngram_rows`), in float64 so
    that fastText's float32 mean gives back composed[i] to float32 precision."""
    for i in prange(out.shape[0]):
        total = np.zeros(out.shape[1], dtype=np.float64)
        count = _add_ngram_rows(data, starts[i], ends[i], ngrams, row_of_bucket, min_n, max_n, bucket, total)
        for column in range(out.shape[1]):
            out[i, column] = composed[i, column] * np.float64(1 + count) - total[column]
