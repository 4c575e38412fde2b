"""The compiled inner loops of the front end: UTF-8 bytes split into lines and words, each distinct word of a range
numbered by its first appearance, and the word stream turned into the token stream.

`split_range` is what `TextIOWrapper(newline=None)` + `corpus.split_long_lines` + `word_level.split_words` do to the
same bytes, done on the bytes themselves: lines end at `\\n`, `\\r\\n` or `\\r`; words are separated by the
characters that Rust's `char::is_whitespace` (the tokenizers' pre-tokenizers) calls whitespace, which in UTF-8 are
six ASCII bytes and twenty-one multi-byte sequences, each starting with a lead byte (C2, E1, E2 or E3). A lead byte
is never taken as the continuation of an earlier sequence, so a decoder that meets one of these sequences decodes
it as whitespace whatever bytes (valid or not) come before: splitting the bytes and decoding each word gives the
words of the decoded text, undecodable bytes included. A line of `max_line_bytes` bytes or more might be cut into
pieces by `split_long_lines` (which counts characters, not bytes): the kernel reports it and the caller reads that
range the slow way.

The kernels release the GIL (`nogil`): the reader runs them in threads while the main thread merges ranges.
numba caches the compiled functions beside this file (`cache=True`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Byte classes: what a byte can start.
_WORD, _SPACE, _LINE_FEED, _CARRIAGE_RETURN, _MAYBE_SPACE = 0, 1, 2, 3, 4
BYTE_CLASS = np.zeros(256, dtype=np.uint8)
BYTE_CLASS[[0x09, 0x0B, 0x0C, 0x20]] = _SPACE
BYTE_CLASS[0x0A] = _LINE_FEED
BYTE_CLASS[0x0D] = _CARRIAGE_RETURN
BYTE_CLASS[[0xC2, 0xE1, 0xE2, 0xE3]] = _MAYBE_SPACE

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(inline="always")
def _multibyte_space_length(data: np.ndarray, at: int, end: int) -> int:
    """The length of the whitespace sequence starting at `at` (a lead byte C2, E1, E2 or E3), 0 if there is none:
    U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000."""
    lead = data[at]
    if lead == 0xC2:
        if at + 1 < end and (data[at + 1] == 0x85 or data[at + 1] == 0xA0):
            return 2
        return 0
    if at + 2 >= end:
        return 0
    second, third = data[at + 1], data[at + 2]
    if lead == 0xE1:
        return 3 if second == 0x9A and third == 0x80 else 0
    if lead == 0xE3:
        return 3 if second == 0x80 and third == 0x80 else 0
    if second == 0x80:
        if third <= 0x8A and third >= 0x80:
            return 3
        return 3 if third == 0xA8 or third == 0xA9 or third == 0xAF else 0
    return 3 if second == 0x81 and third == 0x9F else 0


# The hash table of distinct words: a slot holds a word's hash, its first eight bytes (zero-padded), its length and
# its number + 1 (0: an empty slot), so that a lookup touches one slot, and for a word of more than eight bytes its
# earlier occurrence.
_HASH, _PREFIX, _LENGTH, _NUMBER = 0, 1, 2, 3
# The scan's position, kept between calls of `_split_until_full`.
_AT, _WORDS, _LINES, _DISTINCT, _LINE_WORDS, _LINE_START, _LONG_LINE = range(7)


@njit(inline="always")
def _find(
    slots: np.ndarray,
    first_byte: np.ndarray,
    stored: np.ndarray,
    data: np.ndarray,
    start: int,
    size: int,
    key: np.int64,
    prefix: np.int64,
) -> tuple[np.uint64, int]:
    """The slot of the word `data[start : start + size]` (hash `key`, first bytes `prefix`) and its number, or the
    empty slot where it goes and -1. Word w's bytes start at `stored[first_byte[w]]`."""
    mask = np.uint64(slots.shape[0] - 1)
    slot = np.uint64(key) & mask
    while True:
        number = slots[slot, _NUMBER] - 1
        if number < 0:
            return slot, number
        if slots[slot, _HASH] == key and slots[slot, _PREFIX] == prefix and slots[slot, _LENGTH] == size:
            other = first_byte[number]
            same = True
            for offset in range(8, size):
                if stored[other + offset] != data[start + offset]:
                    same = False
                    break
            if same:
                return slot, number
        slot = (slot + np.uint64(1)) & mask


@njit(nogil=True, cache=True)
def _rehashed(slots: np.ndarray) -> np.ndarray:
    """The words of `slots` in a table twice its size."""
    grown = np.zeros((2 * slots.shape[0], 4), dtype=np.int64)
    mask = np.uint64(grown.shape[0] - 1)
    for old in range(slots.shape[0]):
        if slots[old, _NUMBER] == 0:
            continue
        slot = np.uint64(slots[old, _HASH]) & mask
        while grown[slot, _NUMBER] != 0:
            slot = (slot + np.uint64(1)) & mask
        grown[slot] = slots[old]
    return grown


@njit(inline="always")
def _store(slots: np.ndarray, slot: np.uint64, key: np.int64, prefix: np.int64, size: int, number: int) -> None:
    slots[slot, _HASH], slots[slot, _PREFIX], slots[slot, _LENGTH], slots[slot, _NUMBER] = key, prefix, size, number + 1


@njit(inline="always")
def _hash_and_prefix(data: np.ndarray, start: int, end: int) -> tuple[np.int64, np.int64]:
    hashed = _FNV_OFFSET
    prefix = np.uint64(0)
    for at in range(start, end):
        byte = np.uint64(data[at])
        if at - start < 8:
            prefix |= byte << np.uint64(8 * (at - start))
        hashed = (hashed ^ byte) * _FNV_PRIME
    return np.int64(hashed), np.int64(prefix)


@njit(nogil=True, cache=True)
def _intern_until_full(
    joined: np.ndarray,
    lengths: np.ndarray,
    state: np.ndarray,
    numbers: np.ndarray,
    slots: np.ndarray,
    first_byte: np.ndarray,
    length: np.ndarray,
    stored: np.ndarray,
) -> None:
    """`WordTable.numbers`' loop, from word state[0] at byte state[1] of `joined`, while the table has room."""
    word, at, distinct, stored_end = state[0], state[1], state[2], state[3]
    while word < lengths.shape[0]:
        size = lengths[word]
        if 2 * distinct >= slots.shape[0] or distinct == first_byte.shape[0] or stored_end + size > stored.shape[0]:
            break
        key, prefix = _hash_and_prefix(joined, at, at + size)
        slot, number = _find(slots, first_byte, stored, joined, at, size, key, prefix)
        if number < 0:
            number = distinct
            distinct += 1
            _store(slots, slot, key, prefix, size, number)
            first_byte[number], length[number] = stored_end, size
            stored[stored_end : stored_end + size] = joined[at : at + size]
            stored_end += size
        numbers[word] = number
        at += size + 1  # and the line feed after the word
        word += 1
    state[0], state[1], state[2], state[3] = word, at, distinct, stored_end


def _doubled(array: np.ndarray) -> np.ndarray:
    return np.concatenate([array, np.empty_like(array)])


class WordTable:
    """The corpus's distinct words as bytes, numbered by first appearance, in compiled code: mapping a range's
    words onto the corpus's costs less than splitting them."""

    def __init__(self) -> None:
        self.distinct = 0
        self.stored_end = 0
        self.slots = np.zeros((1 << 17, 4), dtype=np.int64)
        self.first_byte = np.empty(1 << 16, dtype=np.int64)
        self.length = np.empty(1 << 16, dtype=np.int64)
        self.stored = np.empty(1 << 20, dtype=np.uint8)

    def numbers(self, joined: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The corpus's numbers (int32) of the words `joined` holds (`lengths[w]` bytes each, each followed by a
        line feed), new ones numbered in order."""
        numbers = np.empty(lengths.shape[0], dtype=np.int32)
        state = np.array([0, 0, self.distinct, self.stored_end], dtype=np.int64)
        while True:
            _intern_until_full(joined, lengths, state, numbers, self.slots, self.first_byte, self.length, self.stored)
            self.distinct, self.stored_end = int(state[2]), int(state[3])
            if state[0] == lengths.shape[0]:
                return numbers
            if 2 * self.distinct >= self.slots.shape[0]:
                self.slots = _rehashed(self.slots)
            if self.distinct == self.first_byte.shape[0]:
                self.first_byte, self.length = _doubled(self.first_byte), _doubled(self.length)
            if self.stored_end + lengths[state[0]] > self.stored.shape[0]:
                self.stored = np.concatenate(
                    [self.stored, np.empty(self.stored.shape[0] + lengths[state[0]], np.uint8)]
                )

    def joined(self) -> bytes:
        """Every word, in order, each followed by a line feed."""
        distinct = self.distinct
        return joined_words(self.stored, self.first_byte[:distinct], self.length[:distinct]).tobytes()


@njit(nogil=True, cache=True)
def _split_until_full(
    data: np.ndarray,
    max_line_bytes: int,
    state: np.ndarray,
    word_numbers: np.ndarray,
    line_lengths: np.ndarray,
    slots: np.ndarray,
    first_byte: np.ndarray,
    length: np.ndarray,
) -> None:
    """`split_range`'s loop, from `state` on, until the end of `data`, a long line, or until the table is half
    full, `first_byte` is full or `line_lengths` is (the caller then grows them). The arrays are arguments, never
    reassigned here: numba then keeps them out of reference counting in the loop."""
    end = data.shape[0]
    at, words, lines, distinct = state[_AT], state[_WORDS], state[_LINES], state[_DISTINCT]
    line_words, line_start = state[_LINE_WORDS], state[_LINE_START]
    room = min(slots.shape[0] // 2, first_byte.shape[0])
    while at < end and distinct < room and lines < line_lengths.shape[0]:
        kind = BYTE_CLASS[data[at]]
        if _LINE_FEED <= kind <= _CARRIAGE_RETURN:
            if at - line_start >= max_line_bytes:
                state[_LONG_LINE] = 1
                return
            line_lengths[lines] = line_words
            lines += 1
            line_words = 0
            at += 2 if kind == _CARRIAGE_RETURN and at + 1 < end and data[at + 1] == 0x0A else 1
            line_start = at
            continue
        if kind == _SPACE:
            at += 1
            continue
        if kind == _MAYBE_SPACE:
            skip = _multibyte_space_length(data, at, end)
            if skip:
                at += skip
                continue
        start = at
        hashed = _FNV_OFFSET
        prefix = np.uint64(0)
        while at < end:
            byte = data[at]
            kind = BYTE_CLASS[byte]
            if _SPACE <= kind <= _CARRIAGE_RETURN:
                break
            if kind == _MAYBE_SPACE and _multibyte_space_length(data, at, end):
                break
            if at - start < 8:
                prefix |= np.uint64(byte) << np.uint64(8 * (at - start))
            hashed = (hashed ^ np.uint64(byte)) * _FNV_PRIME
            at += 1
        size = at - start
        key, packed_prefix = np.int64(hashed), np.int64(prefix)
        slot, number = _find(slots, first_byte, data, data, start, size, key, packed_prefix)
        if number < 0:
            number = distinct
            distinct += 1
            _store(slots, slot, key, packed_prefix, size, number)
            first_byte[number], length[number] = start, size
        word_numbers[words] = number
        words += 1
        line_words += 1
    if at >= end and line_start < end and lines < line_lengths.shape[0]:  # a last line without a line end
        if end - line_start >= max_line_bytes:
            state[_LONG_LINE] = 1
            return
        line_lengths[lines] = line_words
        lines += 1
        line_start = end
    state[_AT], state[_WORDS], state[_LINES], state[_DISTINCT] = at, words, lines, distinct
    state[_LINE_WORDS], state[_LINE_START] = line_words, line_start


@njit(nogil=True, cache=True)
def split_range(data: np.ndarray, max_line_bytes: int):
    """Lines and words of the UTF-8 bytes `data` (uint8, whole lines), words numbered by first appearance.

    Returns (word_numbers int32 [words], line_lengths int32 [lines], first_byte int64 [distinct], length int64
    [distinct], count int64 [distinct], has_long_line): each word's number, the words of each line, and for each
    distinct word where its bytes first occur, their length and how often it occurs. `has_long_line`: a line of
    `max_line_bytes` bytes or more (line ends not counted) is in `data`; the other results are then empty.
    """
    end = data.shape[0]
    state = np.zeros(7, dtype=np.int64)
    word_numbers = np.empty(end // 2 + 1, dtype=np.int32)
    line_lengths = np.empty(max(end // 64, 16), dtype=np.int32)
    slots = np.zeros((1 << 13, 4), dtype=np.int64)  # at most half full: short probes
    first_byte = np.empty(1 << 12, dtype=np.int64)
    length = np.empty(1 << 12, dtype=np.int64)
    while True:
        _split_until_full(data, max_line_bytes, state, word_numbers, line_lengths, slots, first_byte, length)
        if state[_LONG_LINE]:
            empty = np.zeros(0, dtype=np.int64)
            return word_numbers[:0], line_lengths[:0], empty, empty, empty, True
        if state[_AT] >= end and state[_LINE_START] >= end:
            break
        if state[_LINES] == line_lengths.shape[0]:
            grown = np.empty(2 * line_lengths.shape[0], dtype=np.int32)
            grown[: line_lengths.shape[0]] = line_lengths
            line_lengths = grown
        if 2 * state[_DISTINCT] >= slots.shape[0]:
            slots = _rehashed(slots)
        if state[_DISTINCT] == first_byte.shape[0]:
            grown_first, grown_length = (
                np.empty(2 * first_byte.shape[0], np.int64),
                np.empty(2 * length.shape[0], np.int64),
            )
            grown_first[: first_byte.shape[0]], grown_length[: length.shape[0]] = first_byte, length
            first_byte, length = grown_first, grown_length
    words, distinct = state[_WORDS], state[_DISTINCT]
    return (
        word_numbers[:words].copy(),
        line_lengths[: state[_LINES]].copy(),
        first_byte[:distinct].copy(),
        length[:distinct].copy(),
        np.bincount(word_numbers[:words], minlength=distinct).astype(np.int64),
        False,
    )


@njit(nogil=True, cache=True)
def joined_words(data: np.ndarray, first_byte: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The words `data[first_byte[w] : first_byte[w] + length[w]]` one after another, each followed by a line feed
    (which no word holds), to be decoded and split in one call."""
    joined = np.empty(int(length.sum()) + length.shape[0], dtype=np.uint8)
    at = 0
    for word in range(first_byte.shape[0]):
        joined[at : at + length[word]] = data[first_byte[word] : first_byte[word] + length[word]]
        at += length[word]
        joined[at] = 0x0A
        at += 1
    return joined


@njit(nogil=True, cache=True)
def encode_words(
    words: np.ndarray,
    line_lengths: np.ndarray,
    kept_offsets: np.ndarray,
    kept_lengths: np.ndarray,
    kept_ids: np.ndarray,
):
    """The token stream of whole lines of the word stream `words` (int32, [sum(line_lengths)]): each word's
    in-vocabulary token ids `kept_ids[kept_offsets[w] : kept_offsets[w] + kept_lengths[w]]` in turn.

    Returns (token ids int32 [tokens], tokens of each line that keeps at least one, int32 [such lines])."""
    total = 0
    for word in words:
        total += kept_lengths[word]
    tokens = np.empty(total, dtype=np.int32)
    sentence_lengths = np.empty(line_lengths.shape[0], dtype=np.int32)
    at = position = sentences = 0
    for line in range(line_lengths.shape[0]):
        line_start = at
        for _ in range(line_lengths[line]):
            word = words[position]
            position += 1
            first = kept_offsets[word]
            for offset in range(kept_lengths[word]):
                tokens[at] = kept_ids[first + offset]
                at += 1
        if at > line_start:
            sentence_lengths[sentences] = at - line_start
            sentences += 1
    return tokens, sentence_lengths[:sentences].copy()
