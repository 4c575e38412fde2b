"""fastText's character n-gram buckets, compiled: the one hashing loop that training (each vocabulary word's rows,
`training/subword_rows.py`) and converting fastText's `.bin` (`conversion/fasttext_bin.py`) both run over whole
vocabularies. `modeling/subwords.ngram_buckets` is the same computation in plain Python for the few words a query
asks about (it goes to the Hub, where numba may be missing); a test holds the two equal.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always")
def _fnv_step(state: np.uint32, byte: np.uint8) -> np.uint32:
    # fastText hashes each byte as a signed char widened to 32 bits, so bytes >= 0x80 set the high bits: gensim
    # reproduces the same quirk (`ft_hash_bytes`), and so must we for the buckets to match.
    value = np.uint32(byte) | np.uint32(0xFFFFFF00) if byte >= 0x80 else np.uint32(byte)
    return np.uint32((state ^ value) * np.uint32(16777619))


def most_ngrams(word_bytes: int, min_n: int, max_n: int) -> int:
    """An upper bound on the n-grams of a word of `word_bytes` UTF-8 bytes (a character is at least a byte)."""
    return (word_bytes + 2) * max(max_n - min_n + 1, 0)


@njit(nogil=True, cache=True)
def word_ngram_buckets(data, start, end, min_n, max_n, bucket, out) -> int:
    """The buckets of the n-grams of the UTF-8 word `data[start:end]` (uint8) into `out` (int32, room for
    `most_ngrams(end - start, ...)`), in fastText's order (`Dictionary::computeSubwords`): n-grams of `min_n` to
    `max_n` characters of "<word>", continuation bytes following their lead, the bare "<" and ">" left out.
    Returns how many were written."""
    length = end - start + 2
    count = 0
    for position in range(length):
        if 0 < position < length - 1 and data[start + position - 1] & 0xC0 == 0x80:
            continue
        state = np.uint32(2166136261)
        j = position
        n = 1
        while j < length and n <= max_n:
            # Byte j of "<word>": "<" (60) first, ">" (62) last.
            byte = np.uint8(60) if j == 0 else (np.uint8(62) if j == length - 1 else data[start + j - 1])
            state = _fnv_step(state, byte)
            j += 1
            while 0 < j < length - 1 and data[start + j - 1] & 0xC0 == 0x80:
                state = _fnv_step(state, data[start + j - 1])
                j += 1
            if n >= min_n and not (n == 1 and (position == 0 or j == length)):
                out[count] = np.int32(state % np.uint32(bucket))
                count += 1
            n += 1
    return count


# Words a thread counts with one scratch row.
CHUNK_WORDS = 4096


@njit(parallel=True, cache=True)
def _count_ngrams(data, offsets, skipped, min_n, max_n, bucket, counts) -> None:
    longest = 0
    for word in range(counts.shape[0]):
        longest = max(longest, offsets[word + 1] - offsets[word])
    chunks = (counts.shape[0] + CHUNK_WORDS - 1) // CHUNK_WORDS
    for chunk in prange(chunks):
        scratch = np.empty((longest + 2) * max(max_n - min_n + 1, 0), dtype=np.int32)
        for word in range(chunk * CHUNK_WORDS, min((chunk + 1) * CHUNK_WORDS, counts.shape[0])):
            if skipped[word]:
                counts[word] = 0
            else:
                counts[word] = word_ngram_buckets(data, offsets[word], offsets[word + 1], min_n, max_n, bucket, scratch)


@njit(parallel=True, cache=True)
def _fill_ngrams(data, offsets, starts, min_n, max_n, bucket, rows) -> None:
    for word in prange(starts.shape[0] - 1):
        if starts[word + 1] > starts[word]:
            word_ngram_buckets(data, offsets[word], offsets[word + 1], min_n, max_n, bucket, rows[starts[word] :])


def vocabulary_ngram_buckets(
    words: list[str], min_n: int, max_n: int, bucket: int, skipped: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every word's n-gram buckets at once: (starts [len(words) + 1] int64, rows int32), word w's buckets being
    rows[starts[w]:starts[w + 1]] (repeats kept). Words where `skipped` (bool [len(words)]) is set get none."""
    encoded = [word.encode("utf-8") for word in words]
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(words)), out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    if skipped is None:
        skipped = np.zeros(len(words), dtype=np.bool_)
    counts = np.zeros(len(words), dtype=np.int64)
    if words:
        _count_ngrams(data, offsets, skipped, min_n, max_n, bucket, counts)
    starts = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    rows = np.empty(int(starts[-1]), dtype=np.int32)
    if rows.shape[0]:
        _fill_ngrams(data, offsets, starts, min_n, max_n, bucket, rows)
    return starts, rows
