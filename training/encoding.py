"""The corpus read once and kept on disk as int32 token ids.

One pass over the text splits each line at whitespace and numbers every distinct word as it first appears: files
are read as bytes, in ranges that compiled code splits and counts on several threads (`read_files`, see
docs/front-end.md), other sources line by line in worker processes (`read_words`); both give the same word stream.
The tokenizer then runs once per distinct word, not once per occurrence, which yields both the vocabulary's counts
and each word's token ids; a compiled pass turns the word stream into the token stream (`WordStream.encode`).
Out-of-vocabulary tokens are counted and then dropped from the stream, as word2vec does, so that windows reach over
them. Epochs then read ids from disk in blocks, with a memory use that does not grow with the corpus.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import io
import itertools
import multiprocessing
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from word2vec_hub.resources import readable_size
from word2vec_hub.tokenization.word_level import UNK_TOKEN, TokenIds, split_words

from .corpus import (
    COMPRESSED_OPENERS,
    CorpusError,
    FileSources,
    count_undecodable,
    decompression_errors,
    open_bytes,
    split_long_lines,
    undecodable_so_far,
    warn_undecodable,
)
from .word_splitting import WordTable, encode_words, joined_words, split_range

# Large enough that handing a chunk to a process costs little beside numbering its words, small enough that the
# chunks in flight (two per worker) keep the reading's memory small.
CHUNK_CHARS = 1 << 22
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>: the signal a process gets when its parent dies
WORDS_PER_ENCODE_STEP = 1 << 20
# The bytes of whole lines a reader thread splits at a time: large enough that mapping a range's distinct words onto
# the corpus's costs little beside splitting it, small enough that the ranges in flight (two per thread) stay small.
RANGE_BYTES = 1 << 23


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
        sentence starts (int64). Blocks end where a sentence starts unless one sentence spans a whole block; a corpus
        shorter than `count` tokens gives empty blocks (ranks of a distributed run each need the same count).

        The sentences' starts are summed a window at a time, from the first sentence of the block on, doubled
        until it passes the block's end: memory of about a block's sentences, not 8 bytes a sentence."""
        lengths = self.sentence_lengths
        start = first_sentence = first_start = 0  # the first sentence starting at or after `start`, where it starts
        window = 1024
        for index in range(1, count + 1):
            end = self.num_tokens * index // count
            while True:
                # starts[i]: where sentence first_sentence + i starts; the last is where the window's sentences end.
                ends = np.cumsum(lengths[first_sentence : first_sentence + window], dtype=np.int64)
                starts = np.concatenate([[0], ends]) + first_start
                if starts[-1] > end or first_sentence + window >= lengths.shape[0]:
                    break
                window *= 2
            if index < count:
                before_end = np.searchsorted(starts, end, side="right") - 1  # -1: no sentence starts in the block
                if before_end >= 0 and starts[before_end] > start:
                    end = int(starts[before_end])
            last = int(np.searchsorted(starts, end, side="left"))
            yield self.read(start, end), starts[:last] - start
            first_sentence, first_start, start = first_sentence + last, int(starts[last]), end


@dataclass
class WordStream:
    """A corpus read once: each word as the index of its first appearance, in a file; words per line."""

    path: Path
    words: list[str]
    word_counts: np.ndarray
    line_lengths: np.ndarray

    def encode(
        self, tokenizer: Tokenizer, word_ids: TokenIds, workers: int = 1, step_words: int | None = None
    ) -> EncodedCorpus:
        """The token ids of the stream under `tokenizer`'s vocabulary (`word_ids`: those of each distinct word),
        written next to the word stream as ids.int32.

        Steps of whole lines of about `step_words` words (WORDS_PER_ENCODE_STEP if None) are encoded by `workers`
        threads (compiled, without the GIL), and each thread writes its step at its own offset: a step starts where
        the previous one ends, which is known as soon as the previous step is encoded, so the steps are written in
        parallel and the file does not depend on `workers`. A failed write stops the steps not started and raises
        once."""
        unk_id = tokenizer.token_to_id(UNK_TOKEN)
        token_ids, token_lengths = word_ids.ids, word_ids.lengths
        counts = np.bincount(
            token_ids, weights=np.repeat(self.word_counts, token_lengths), minlength=tokenizer.get_vocab_size()
        ).astype(np.int64)
        in_vocabulary = token_ids != unk_id
        owner = np.repeat(np.arange(len(token_lengths)), token_lengths)
        # Each word's in-vocabulary ids, as a ragged array: kept_lengths[w] of them from kept_ids[kept_offsets[w]].
        kept_ids = token_ids[in_vocabulary].astype(np.int32)
        kept_lengths = np.bincount(owner[in_vocabulary], minlength=len(token_lengths)).astype(np.int64)
        kept_offsets = np.cumsum(kept_lengths) - kept_lengths

        ids_path = self.path.with_name("ids.int32")
        # At most one sentence a line, written in place by the steps and shrunk at the end: the sentences' lengths
        # are never held twice.
        sentence_lengths = np.empty(len(self.line_lengths), dtype=np.int32)
        failed = threading.Event()

        def encode_step(step: tuple[int, int, int, int], starts: Future, next_starts: Future, file: int) -> None:
            """Encode one step, pass on where the next one starts, and write this one where it starts."""
            first_word, last_word, first_line, last_line = step
            try:
                if failed.is_set():
                    raise _EarlierStepFailed
                words = _read_ids(self.path, first_word, last_word)
                kept, per_sentence = encode_words(
                    words, self.line_lengths[first_line:last_line], kept_offsets, kept_lengths, kept_ids
                )
                first_token, first_sentence = starts.result()
                next_starts.set_result((first_token + kept.shape[0], first_sentence + per_sentence.shape[0]))
                sentence_lengths[first_sentence : first_sentence + per_sentence.shape[0]] = per_sentence
                _write_at(file, kept, 4 * first_token, ids_path)
            except BaseException:
                failed.set()
                if not next_starts.done():  # the next step waits for this one's end
                    next_starts.set_exception(_EarlierStepFailed())
                raise

        with open(ids_path, "wb", buffering=0) as ids_file:
            starts: Future = Future()
            starts.set_result((0, 0))
            steps: list[Future] = []
            pool = _WorkerPool(max(workers, 1), "word2vec-encoder")
            try:
                for step in line_steps(self.line_lengths, step_words or WORDS_PER_ENCODE_STEP):
                    next_starts: Future = Future()
                    steps.append(pool.submit(encode_step, step, starts, next_starts, ids_file.fileno()))
                    starts = next_starts
                # A step that stopped because another failed raises _EarlierStepFailed: raise the error it stopped for,
                # which a later step may have met first.
                for step_done in steps:
                    error = step_done.exception()
                    if error is not None and not isinstance(error, _EarlierStepFailed):
                        raise error
            except BaseException:
                failed.set()  # an error or Ctrl-C: the steps not started are not encoded
                pool.stop()
                raise
            pool.shutdown()
        num_tokens, num_sentences = starts.result()
        sentence_lengths.resize(num_sentences, refcheck=False)  # in place: no view of it is left
        return EncodedCorpus(
            ids_path=ids_path,
            num_tokens=num_tokens,
            sentence_lengths=sentence_lengths,
            counts=counts,
            word_count=int(counts.sum()),
        )


def line_steps(line_lengths: np.ndarray, step_words: int) -> Iterator[tuple[int, int, int, int]]:
    """(first word, last word, first line, last line) of whole lines of about `step_words` words (at least one
    line), in order, for lines of `line_lengths` words each."""
    first_line = first_word = 0
    # The lines summed at a time: doubled until they hold a step, so that the sums are about a step's lines.
    window = 1024
    while first_line < len(line_lengths):
        line_ends = np.cumsum(line_lengths[first_line : first_line + window], dtype=np.int64)
        if line_ends[-1] < step_words and first_line + window < len(line_lengths):
            window *= 2
            continue
        lines = max(int(np.searchsorted(line_ends, step_words, "right")), 1)
        last_word = first_word + int(line_ends[lines - 1])
        yield first_word, last_word, first_line, first_line + lines
        first_line, first_word = first_line + lines, last_word


class _WorkerPool(ThreadPoolExecutor):
    """A thread pool whose threads carry a name of their own (`name`, a number, then the pool's thread number), so
    that `stop` can find every thread the pool started."""

    numbers = itertools.count()

    def __init__(self, workers: int, name: str):
        self.thread_prefix = f"{name}-{next(self.numbers)}"
        super().__init__(workers, thread_name_prefix=self.thread_prefix)

    def stop(self) -> None:
        """Cancel the tasks not started and wait for those running, through any further Ctrl-C: a running task
        writes to a file the caller closes next, and a write after the close would fail, or land in whatever file
        the descriptor's number names by then. The threads are found by name, not through the pool's record of
        them: a Ctrl-C raised while the pool starts a thread (it starts one as a task is submitted) can come after
        the thread runs a task and before the pool records it. A write that never returns (a hung disk) leaves
        Ctrl-\\ (SIGQUIT) to end the process."""
        while True:
            try:
                self.shutdown(cancel_futures=True)
                for thread in threading.enumerate():
                    if thread.name.startswith(f"{self.thread_prefix}_"):
                        thread.join()
                return
            except KeyboardInterrupt:
                continue


class _EarlierStepFailed(Exception):
    """A step stopped because an earlier one failed, whose own error is the one raised."""


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
        try:
            for chunk in itertools.chain(opening, chunks):
                in_flight.append(pool.submit(number_words, chunk))
                if len(in_flight) > 2 * workers:  # bounded: the corpus is never all in memory
                    yield in_flight.popleft().result()
            while in_flight:
                yield in_flight.popleft().result()
        except BrokenProcessPool:
            # The pool has ended its other workers by now; what the caller wrote so far is its to remove.
            raise CorpusError(
                f"a worker process reading the corpus ended abruptly (killed, perhaps by the system when memory ran "
                f"out: see `dmesg`); nothing was trained; run again, with fewer workers (--workers, {workers} now) if "
                "memory is short"
            ) from None


class _WordStreamWriter:
    """The corpus's word stream as chunks of it arrive in order: each chunk's words, numbered within the chunk, are
    written to a file as the corpus's numbers of those words, at the chunk's offset; the words of each line are
    appended to a second file (lines.int32, read back once at the end, so that the lines' lengths are never held
    twice); the words' counts are summed up. The caller numbers the words: `_TextNumbers` for text, `WordTable` for
    bytes. Given a `pool`, its threads write the chunks (`workers` of them at most waiting), so that this thread
    only numbers them."""

    def __init__(self, path: Path, progress: bool, pool: ThreadPoolExecutor | None = None, workers: int = 1):
        self.path = path
        self.lines_path = path.with_name("lines.int32")
        # Grown by doubling: a chunk costs its own distinct words, not the corpus's.
        self.word_counts = np.zeros(1 << 16, dtype=np.int64)
        self.words_written = 0
        self.pool, self.workers = pool, workers
        self.writes: collections.deque[Future] = collections.deque()
        self.bar = tqdm(desc="reading", unit="word", unit_scale=True, disable=not progress, dynamic_ncols=True)
        self.file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
        try:
            self.lines_file = open(self.lines_path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
        except BaseException:
            self.file.close()
            self.bar.close()
            raise

    def add(self, to_corpus: np.ndarray, numbers: np.ndarray, line_lengths: np.ndarray, counts: np.ndarray) -> None:
        """A chunk: the corpus's number of each of its distinct words, each word's number among them, the words
        of each line and how often each distinct word occurs."""
        offset = 4 * self.words_written
        if self.pool is None:
            _write_at(self.file.fileno(), to_corpus[numbers], offset, self.path)
        else:
            self.writes.append(
                self.pool.submit(_mapped_and_written, self.file.fileno(), to_corpus, numbers, offset, self.path)
            )
            while len(self.writes) > self.workers:
                self.writes.popleft().result()
        self.words_written += numbers.shape[0]
        _write(self.lines_file, line_lengths, self.lines_path)
        if to_corpus.shape[0] and to_corpus.max() >= self.word_counts.shape[0]:
            grown = np.zeros(max(2 * self.word_counts.shape[0], int(to_corpus.max()) + 1), np.int64)
            grown[: self.word_counts.shape[0]] = self.word_counts
            self.word_counts = grown
        self.word_counts[to_corpus] += counts
        self.bar.update(numbers.shape[0])

    def wait_for_writes(self) -> None:
        """Wait for the chunks being written; the first failed write's error."""
        while self.writes:
            self.writes.popleft().result()

    def close(self) -> None:
        """Close the files; the caller has waited for the writes (or for the pool to end, after an error)."""
        self.file.close()
        self.lines_file.close()
        self.bar.close()

    def stream(self, words: list[str]) -> WordStream:
        return WordStream(
            path=self.path,
            words=words,
            word_counts=self.word_counts[: len(words)].copy(),
            line_lengths=np.fromfile(self.lines_path, dtype=np.int32),
        )


def _mapped_and_written(file: int, to_corpus: np.ndarray, numbers: np.ndarray, offset: int, path: Path) -> None:
    """Write the corpus's numbers (`to_corpus`) of a chunk's words (`numbers`) at byte `offset` of `file`."""
    _write_at(file, to_corpus[numbers], offset, path)


class _TextNumbers(dict):
    """Words numbered by first appearance."""

    def numbers(self, words: list[str]) -> np.ndarray:
        number = self.setdefault
        # len(self) is read before setdefault stores a new word, so it is that word's new number.
        return np.array([number(word, len(self)) for word in words], dtype=np.int32)


def _write(file: io.RawIOBase, array: np.ndarray, path: Path) -> None:
    """Write `array`'s bytes to the unbuffered `file` (`path`): a full disk is one CorpusError, raised here.
    (numpy's `tofile` reports a failed write without its errno.)"""
    view = memoryview(np.ascontiguousarray(array)).cast("B")
    try:
        while view.nbytes:
            view = view[file.write(view) :]
    except OSError as error:
        raise _disk_error(error, path) from error


def _write_at(file: int, array: np.ndarray, offset: int, path: Path) -> None:
    """Write `array`'s bytes at byte `offset` of the open file `file` (`path`), without the GIL: a full disk is one
    CorpusError, raised here."""
    view = memoryview(np.ascontiguousarray(array)).cast("B")
    try:
        while view.nbytes:
            written = os.pwrite(file, view, offset)
            view, offset = view[written:], offset + written
    except OSError as error:
        raise _disk_error(error, path) from error


def _disk_error(error: OSError, path: Path) -> OSError | CorpusError:
    """A write of the corpus's temporary streams that failed for lack of space, as one line saying what to do."""
    if error.errno not in (errno.ENOSPC, errno.EDQUOT):
        return error
    usage = shutil.disk_usage(path.parent)
    return CorpusError(
        f"the disk filled while the corpus was written to {path.parent} as int32 ids (4 bytes a word; "
        f"{readable_size(usage.free)} free of {readable_size(usage.total)}); the temporary files were removed; free "
        "some space there or point TMPDIR at a larger disk"
    )


def read_words(
    lines: Iterable[str], workdir: str | Path, workers: int = 1, chunk_chars: int = CHUNK_CHARS, progress: bool = False
) -> WordStream:
    """One pass over `lines`: the word stream as int32 first-appearance indices in a file under `workdir`.

    The lines are read here, in chunks of about `chunk_chars` characters, and split and numbered within each
    chunk by `workers` processes; each chunk's numbers are then mapped to the whole corpus's, so the result does
    not depend on `workers`. `progress`: a bar counts the words read."""
    writer = _WordStreamWriter(Path(workdir) / "words.int32", progress)
    index = _TextNumbers()
    try:
        for chunk_words, chunk_numbers, chunk_line_lengths in _numbered_in_processes(
            _line_chunks(lines, chunk_chars), workers
        ):
            counts = np.bincount(chunk_numbers, minlength=len(chunk_words))
            writer.add(index.numbers(chunk_words), chunk_numbers, chunk_line_lengths, counts)
    finally:
        writer.close()
    return writer.stream(list(index))


def read_files(files: FileSources, workdir: str | Path, workers: int = 1, progress: bool = False) -> WordStream:
    """`read_words` of the lines of `files`, read as bytes: the same word stream, many times faster.

    Each file is read in ranges of about RANGE_BYTES bytes of whole lines (decompressed first where compressed),
    which `workers` threads split and number in compiled code (`word_splitting.split_range`) while this thread
    reads ahead and maps each range's words onto the corpus's (`WordTable`), in order; the threads then write each
    range's word stream at its offset. The result does not depend on `workers`. A range holding a line that
    `split_long_lines` might cut, and the rest of a file from a line longer than a range on, are read as
    `read_words` reads them. Words are decoded once, at the end."""
    table = WordTable()
    with _WorkerPool(max(workers, 1), "word2vec-reader") as pool:
        writer = _WordStreamWriter(Path(workdir) / "words.int32", progress, pool, max(workers, 1))
        try:
            for path, byte_range in files.sources:
                replaced = _read_source(path, byte_range, files.max_chars, pool, max(workers, 1), table, writer)
                if replaced:
                    warn_undecodable(path, replaced)
            writer.wait_for_writes()
        except BaseException:
            pool.stop()  # an error or Ctrl-C: the ranges not started are not read
            raise
        finally:
            writer.close()
    words = table.joined().decode("utf-8", errors="replace").split("\n")[:-1]
    if len(set(words)) < len(words):
        # Different undecodable bytes became the same U+FFFD: number the words as text, as read_words does.
        _renumber(writer, _TextNumbers().numbers(words))
        words = list(dict.fromkeys(words))
    return writer.stream(words)


def _renumber(writer: _WordStreamWriter, new_numbers: np.ndarray) -> None:
    """Number the words of `writer`'s stream file and counts anew: word w becomes new_numbers[w]."""
    counts = np.zeros(int(new_numbers.max()) + 1, dtype=np.int64)
    np.add.at(counts, new_numbers, writer.word_counts[: new_numbers.shape[0]])
    writer.word_counts = counts
    stream = np.memmap(writer.path, dtype=np.int32, mode="r+")
    for start in range(0, stream.shape[0], WORDS_PER_ENCODE_STEP):
        stream[start : start + WORDS_PER_ENCODE_STEP] = new_numbers[stream[start : start + WORDS_PER_ENCODE_STEP]]
    stream.flush()
    del stream


def _read_source(
    path: Path,
    byte_range: tuple[int, int] | None,
    max_chars: int,
    pool: ThreadPoolExecutor,
    workers: int,
    table: WordTable,
    writer: _WordStreamWriter,
) -> int:
    """Read one file (or byte range) into `writer`; the number of undecodable byte sequences it held."""
    in_flight: collections.deque[tuple[memoryview, Future]] = collections.deque()
    replaced = 0

    def settle() -> None:
        nonlocal replaced
        block, future = in_flight.popleft()
        numbers, line_lengths, counts, joined, lengths, long_line = future.result()
        if long_line:
            replaced += _add_slowly(writer, table, io.BytesIO(block), max_chars)
            return
        replaced += _undecodable(joined, counts)
        writer.add(table.numbers(joined, lengths), numbers, line_lengths, counts)

    compressed = byte_range is None and path.suffix.lower() in COMPRESSED_OPENERS
    with open(path, "rb") as raw:
        stream = COMPRESSED_OPENERS[path.suffix.lower()](raw, "rb") if compressed else open_bytes(path, byte_range)
        with stream, decompression_errors(path, raw) if compressed else contextlib.nullcontext():
            carry = b""
            while True:
                # Read after the carried part of a line, into the range's own buffer: no second copy of the range.
                block = bytearray(len(carry) + RANGE_BYTES)
                block[: len(carry)] = carry
                fresh = stream.readinto(memoryview(block)[len(carry) :])
                del block[len(carry) + fresh :]
                cut = block.rfind(b"\n") + 1 if fresh else len(block)
                if cut == 0 and len(block) > RANGE_BYTES:
                    # A line longer than a range: the rest of the file is read line by line, in bounded memory.
                    while in_flight:
                        settle()
                    replaced += _add_slowly(writer, table, _Prepended(block, stream), max_chars)
                    break
                if cut > 0:
                    whole_lines = memoryview(block)[:cut]
                    in_flight.append((whole_lines, pool.submit(_split_and_join, whole_lines, max_chars)))
                    while len(in_flight) > 2 * workers:
                        settle()
                if not fresh:
                    break
                carry = bytes(block[cut:])
            while in_flight:
                settle()
    return replaced


def _split_and_join(block: memoryview, max_chars: int):
    """`split_range` of `block`, and its distinct words' bytes joined by line feeds (None if it has a long line)."""
    data = np.frombuffer(block, dtype=np.uint8)
    numbers, line_lengths, first_byte, lengths, counts, long_line = split_range(data, max_chars)
    joined = None if long_line else joined_words(data, first_byte, lengths)
    return numbers, line_lengths, counts, joined, lengths, long_line


def _undecodable(joined: np.ndarray, counts: np.ndarray) -> int:
    """The undecodable byte sequences in the text whose distinct words `joined` holds (each followed by a line
    feed; a word's own times its `counts`), as `open_text` would count them."""
    text = joined.tobytes()
    if text.isascii():
        return 0
    try:
        text.decode("utf-8")
        return 0
    except UnicodeDecodeError:
        pass
    words = text.split(b"\n")[:-1]
    return sum(count_undecodable(word)[1] * count for word, count in zip(words, counts.tolist(), strict=True))


def _add_slowly(writer: _WordStreamWriter, table: WordTable, stream: io.RawIOBase | io.BytesIO, max_chars: int) -> int:
    """The lines of the bytes of `stream`, read as `TextCorpus` reads them, added to `writer`; the number of
    undecodable byte sequences they held."""
    replaced_before = undecodable_so_far()
    buffered = stream if isinstance(stream, io.BytesIO) else io.BufferedReader(stream)
    handle = io.TextIOWrapper(buffered, encoding="utf-8", errors="word2vec_replace", newline=None)
    for chunk in _line_chunks(split_long_lines(handle, max_chars), CHUNK_CHARS):
        words, numbers, line_lengths = number_words(chunk)
        # Decoded text holds no undecodable bytes: encoded again, each word is the bytes of its text.
        joined = np.frombuffer("".join(word + "\n" for word in words).encode(), dtype=np.uint8)
        lengths = np.diff(np.flatnonzero(joined == 0x0A), prepend=-1) - 1
        counts = np.bincount(numbers, minlength=len(words))
        writer.add(table.numbers(joined, lengths), numbers, line_lengths, counts)
    return undecodable_so_far() - replaced_before


class _Prepended(io.RawIOBase):
    """`first`, then the rest of `stream`."""

    def __init__(self, first: bytes, stream: io.BufferedIOBase):
        super().__init__()
        self._first, self._stream = memoryview(first), stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._first.nbytes:
            size = min(len(buffer), self._first.nbytes)
            buffer[:size] = self._first[:size]
            self._first = self._first[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
