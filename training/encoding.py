"""The corpus read once and kept on disk as int32 token ids.

One pass over the text splits each line at whitespace and numbers every distinct word as it first appears
(`read_words`, in worker processes where there are several cores). The tokenizer then runs once per distinct
word, not once per occurrence, which yields both the vocabulary's counts and each word's token ids; a vectorised
pass turns the word stream into the token stream (`WordStream.encode`). Out-of-vocabulary tokens are counted and
then dropped from the stream, as word2vec does, so that windows reach over them. Epochs then read ids from disk
in blocks, with a memory use that does not grow with the corpus.
"""

from __future__ import annotations

import collections
import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from word2vec_hub.tokenization.word_level import UNK_TOKEN, TokenIds, split_words

# Large enough that handing a chunk to a process costs little beside numbering its words, small enough that the
# chunks in flight (two per worker) keep the reading's memory small.
CHUNK_CHARS = 1 << 22
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>: the signal a process gets when its parent dies
WORDS_PER_ENCODE_STEP = 1 << 20


def _read_ids(path: Path, start: int, end: int) -> np.ndarray:
    return np.fromfile(path, dtype=np.int32, count=end - start, offset=4 * start)


@dataclass
class EncodedCorpus:
    """Token ids of in-vocabulary words (`num_tokens` int32 in `ids_path`), sentence lengths, exact counts."""

    ids_path: Path
    num_tokens: int
    sentence_lengths: np.ndarray
    counts: np.ndarray
    word_count: int

    def read(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """The ids at positions [start, end)."""
        return _read_ids(self.ids_path, start, self.num_tokens if end is None else end)

    def blocks(self, count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The ids in exactly `count` consecutive blocks of about equal size, each with the block offsets where a
        sentence starts. Blocks end where a sentence starts unless one sentence spans a whole block; a corpus
        shorter than `count` tokens gives empty blocks (ranks of a distributed run each need the same count)."""
        sentence_starts = np.concatenate([[0], np.cumsum(self.sentence_lengths, dtype=np.int64)])
        start = 0
        for index in range(1, count + 1):
            end = self.num_tokens * index // count
            if index < count:
                boundary = sentence_starts[np.searchsorted(sentence_starts, end, side="right") - 1]
                end = boundary if boundary > start else end
            first = np.searchsorted(sentence_starts, start, side="left")
            last = np.searchsorted(sentence_starts, end, side="left")
            yield self.read(start, end), sentence_starts[first:last] - start
            start = end


@dataclass
class WordStream:
    """A corpus read once: each word as the index of its first appearance, in a file; words per line."""

    path: Path
    words: list[str]
    word_counts: np.ndarray
    line_lengths: np.ndarray

    def encode(self, tokenizer: Tokenizer, word_ids: TokenIds) -> EncodedCorpus:
        """The token ids of the stream under `tokenizer`'s vocabulary (`word_ids`: those of each distinct word),
        written next to the word stream."""
        unk_id = tokenizer.token_to_id(UNK_TOKEN)
        token_ids, token_lengths = word_ids.ids, word_ids.lengths
        counts = np.bincount(
            token_ids, weights=np.repeat(self.word_counts, token_lengths), minlength=tokenizer.get_vocab_size()
        ).astype(np.int64)
        in_vocabulary = token_ids != unk_id
        owner = np.repeat(np.arange(len(token_lengths)), token_lengths)
        # Each word's in-vocabulary ids, as a ragged array: kept_ids[kept_offsets[w] : kept_offsets[w + 1]].
        kept_ids = token_ids[in_vocabulary].astype(np.int32)
        kept_lengths = np.bincount(owner[in_vocabulary], minlength=len(token_lengths))
        kept_offsets = np.cumsum(kept_lengths) - kept_lengths

        ids_path = self.path.with_name("ids.int32")
        sentence_lengths, num_tokens, first_word = [], 0, 0
        with open(ids_path, "wb") as ids_file:
            first_line = 0
            while first_line < len(self.line_lengths):
                # A whole number of lines, about WORDS_PER_ENCODE_STEP words (at least one line).
                line_ends = np.cumsum(
                    self.line_lengths[first_line : first_line + WORDS_PER_ENCODE_STEP], dtype=np.int64
                )
                lines = max(int(np.searchsorted(line_ends, WORDS_PER_ENCODE_STEP, "right")), 1)
                last_line = first_line + lines
                words = _read_ids(self.path, first_word, first_word + int(line_ends[lines - 1]))
                first_word += int(line_ends[lines - 1])
                lengths = kept_lengths[words]
                ends = np.cumsum(lengths)
                positions = np.repeat(kept_offsets[words] - (ends - lengths), lengths) + np.arange(
                    ends[-1] if len(ends) else 0
                )
                kept = kept_ids[positions]
                kept.tofile(ids_file)
                num_tokens += kept.shape[0]
                line_of_word = np.repeat(np.arange(last_line - first_line), self.line_lengths[first_line:last_line])
                per_line = np.bincount(line_of_word, weights=lengths, minlength=last_line - first_line).astype(np.int32)
                sentence_lengths.append(per_line[per_line > 0])
                first_line = last_line
        return EncodedCorpus(
            ids_path=ids_path,
            num_tokens=num_tokens,
            sentence_lengths=np.concatenate(sentence_lengths) if sentence_lengths else np.zeros(0, np.int32),
            counts=counts,
            word_count=int(counts.sum()),
        )


def number_words(lines: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The words of `lines` numbered by first appearance among them: the distinct words in that order, each word's
    number (int32), and the words of each line (int32)."""
    index: dict[str, int] = {}
    number = index.setdefault
    numbers: list[int] = []
    line_lengths = np.empty(len(lines), dtype=np.int32)
    for line_number, line in enumerate(lines):
        words = split_words(line)
        line_lengths[line_number] = len(words)
        # len(index) is read before setdefault stores a new word, so it is that word's new number.
        numbers += [number(word, len(index)) for word in words]
    return list(index), np.array(numbers, dtype=np.int32), line_lengths


def _line_chunks(lines: Iterable[str], chunk_chars: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    chars = 0
    for line in lines:
        chunk.append(line)
        chars += len(line)
        if chars >= chunk_chars:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _start_worker(parent: int) -> None:
    """Ctrl-C is the main process's to handle; a worker ends with it, so that a killed rank leaves none behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the main process died before prctl took effect
        os._exit(1)


def _numbered_in_processes(
    chunks: Iterator[list[str]], workers: int
) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
    """`number_words` of each chunk, in order, from `workers` processes (in this one if there is one chunk)."""
    opening = list(itertools.islice(chunks, 2))
    if len(opening) < 2 or workers <= 1 or sys.platform != "linux":
        yield from map(number_words, itertools.chain(opening, chunks))
        return
    # Forked, as PyTorch's DataLoader forks its workers: spawned or forkserver workers would import the caller's
    # main module again, which a script without an `if __name__ == "__main__"` guard cannot survive. The workers
    # run only Python and numpy, none of the threads a fork leaves behind. Linux only: macOS's system libraries do
    # not survive a fork.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)) as pool:
        in_flight: collections.deque[Future] = collections.deque()
        for chunk in itertools.chain(opening, chunks):
            in_flight.append(pool.submit(number_words, chunk))
            if len(in_flight) > 2 * workers:  # bounded: the corpus is never all in memory
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def read_words(
    lines: Iterable[str], workdir: str | Path, workers: int = 1, chunk_chars: int = CHUNK_CHARS, progress: bool = False
) -> WordStream:
    """One pass over `lines`: the word stream as int32 first-appearance indices in a file under `workdir`.

    The lines are read here, in chunks of about `chunk_chars` characters, and split and numbered within each
    chunk by `workers` processes; each chunk's numbers are then mapped to the whole corpus's, so the result does
    not depend on `workers`. `progress`: a bar counts the words read."""
    path = Path(workdir) / "words.int32"
    index: dict[str, int] = {}
    number = index.setdefault
    # Grown by doubling: a chunk costs its own distinct words, not the corpus's.
    word_counts = np.zeros(1 << 16, dtype=np.int64)
    line_lengths: list[np.ndarray] = []
    bar = tqdm(desc="reading", unit="word", unit_scale=True, disable=not progress, dynamic_ncols=True)
    with open(path, "wb") as ids_file, bar:
        for chunk_words, chunk_numbers, chunk_line_lengths in _numbered_in_processes(
            _line_chunks(lines, chunk_chars), workers
        ):
            to_corpus = np.array([number(word, len(index)) for word in chunk_words], dtype=np.int32)
            to_corpus[chunk_numbers].tofile(ids_file)
            if len(index) > word_counts.shape[0]:
                word_counts = np.concatenate([word_counts, np.zeros(max(word_counts.shape[0], len(index)), np.int64)])
            word_counts[to_corpus] += np.bincount(chunk_numbers, minlength=len(chunk_words))
            line_lengths.append(chunk_line_lengths)
            bar.update(chunk_numbers.shape[0])
    return WordStream(
        path=path,
        words=list(index),
        word_counts=word_counts[: len(index)].copy(),
        line_lengths=np.concatenate(line_lengths) if line_lengths else np.zeros(0, np.int32),
    )
