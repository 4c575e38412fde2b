"""The front end's reader of bytes (`encoding.read_files`): the word stream of the line reader, whatever the text,
the ranges and the worker count; its faults (damaged files, a full disk, a killed process) as one clear error."""

from __future__ import annotations

import bz2
import errno
import gzip
import itertools
import lzma
import os
import random
import re
import signal
import string
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models

from word2vec_hub.tokenization import word_level
from word2vec_hub.training import encoding
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import CorpusError, FileSources, TextCorpus
from word2vec_hub.training.trainer import train_word2vec

# Every character Rust calls whitespace, the four separators only Python splits at, line ends of every kind, text
# of several scripts, and bytes that are not UTF-8 (a lone continuation byte, truncated and overlong sequences, a
# surrogate, a byte that never starts a character), some right before a multi-byte space.
FRAGMENTS = [
    *["word", "the", "The", "naïve", "Straße", "日本語", "ไทย", "Ελλάς", "ΟΔΟΣ", "e\u0301", "ﬁ", "①", "don't", "(x)"],
    *[" ", "  ", "\t", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2000", "\u2005", "\u200a", "\u2028", "\u2029"],
    *["\u202f", "\u205f", "\u3000", "\x1c", "\x1d", "\x1e", "\x1f", "\u200b", "\ufeff", "\ufffd"],
    *["\n", "\n", "\r\n", "\r", "\n\n", "\r\r\n"],
]
BAD_BYTES = [b"\x80", b"\xbf\xbf", b"\xe2\x80", b"\xe2", b"\xc0\xaf", b"\xed\xa0\x80", b"\xff", b"\xf0\x9f\x98"]


def varied_text(seed: int, fragments: int = 3000) -> bytes:
    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(fragments):
        if rng.random() < 0.03:
            pieces.append(BAD_BYTES[rng.integers(len(BAD_BYTES))])
        else:
            pieces.append(FRAGMENTS[rng.integers(len(FRAGMENTS))].encode())
    return b"".join(pieces)


def line_reader_stream(corpus: TextCorpus, folder: Path) -> tuple[encoding.WordStream, list[str]]:
    folder.mkdir()
    corpus = TextCorpus(name=corpus.name, open_lines=corpus.open_lines)  # no files: the line reader
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = encoding.read_words(corpus, folder)
    return stream, [str(warning.message) for warning in caught]


def byte_reader_stream(corpus: TextCorpus, folder: Path, workers: int) -> tuple[encoding.WordStream, list[str]]:
    folder.mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = encoding.read_files(corpus.files, folder, workers=workers)
    return stream, [str(warning.message) for warning in caught]


def assert_same_stream(expected: encoding.WordStream, actual: encoding.WordStream) -> None:
    assert actual.words == expected.words
    np.testing.assert_array_equal(actual.word_counts, expected.word_counts)
    np.testing.assert_array_equal(actual.line_lengths, expected.line_lengths)
    np.testing.assert_array_equal(np.fromfile(actual.path, np.int32), np.fromfile(expected.path, np.int32))


@pytest.mark.parametrize("seed", range(6))
def test_the_byte_reader_gives_the_line_readers_word_stream_and_warning_on_varied_text(tmp_path, monkeypatch, seed):
    monkeypatch.setattr(encoding, "RANGE_BYTES", 997)  # many ranges, cut wherever a line ends
    text = varied_text(seed)
    if seed % 2:
        text = text.rstrip(b"\r\n") + b" last line without a line end"
    path = tmp_path / "varied.txt"
    path.write_bytes(text)
    corpus = TextCorpus.from_files([path])
    expected, expected_warnings = line_reader_stream(corpus, tmp_path / "lines")
    assert len(expected.words) > 20 and any(not word.isascii() for word in expected.words)
    assert len(expected_warnings) == 1 and "undecodable" in expected_warnings[0]
    for workers in (1, 3):
        actual, actual_warnings = byte_reader_stream(corpus, tmp_path / f"bytes{workers}", workers)
        assert_same_stream(expected, actual)
        assert actual_warnings == expected_warnings


@pytest.mark.parametrize(("suffix", "opener"), [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_a_compressed_corpus_is_read_in_ranges_to_the_same_words(tmp_path, monkeypatch, suffix, opener):
    monkeypatch.setattr(encoding, "RANGE_BYTES", 1500)
    text = varied_text(7)
    with opener(tmp_path / f"corpus.txt{suffix}", "wb") as handle:
        handle.write(text)
    (tmp_path / "corpus.txt").write_bytes(text)
    plain = TextCorpus.from_files([tmp_path / "corpus.txt"])
    packed = TextCorpus.from_files([tmp_path / f"corpus.txt{suffix}"])
    expected, _ = line_reader_stream(plain, tmp_path / "lines")
    actual, _ = byte_reader_stream(packed, tmp_path / "bytes", workers=2)
    assert_same_stream(expected, actual)


def test_lines_longer_than_a_piece_or_a_range_are_cut_as_the_line_reader_cuts_them(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "RANGE_BYTES", 4000)
    rng = np.random.default_rng(1)
    words = [f"w{number}" for number in rng.integers(0, 500, size=6000)]
    lines = [
        "short line one",
        " ".join(words[:300]),  # longer than a piece (max_chars 500), shorter than a range
        "between",
        " ".join(words[300:]) + "\tend",  # longer than a range: the rest of the file goes line by line
        "after the long line",
        "x" * 1200,  # a word longer than a piece, cut where it must be
    ]
    path = tmp_path / "long.txt"
    path.write_text("\n".join(lines) + "\n")
    corpus = TextCorpus.from_files([path], max_chars=500)
    assert corpus.files == FileSources([(path, None)], 500)
    expected, _ = line_reader_stream(corpus, tmp_path / "lines")
    assert len(expected.line_lengths) > len(lines) + 20, "the long lines came in pieces"
    actual, _ = byte_reader_stream(corpus, tmp_path / "bytes", workers=2)
    assert_same_stream(expected, actual)


def test_a_corpus_ending_inside_a_multibyte_character_is_read_with_one_warning(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes("première ligne\ndernière l".encode() + "é".encode()[:1])
    stream, messages = byte_reader_stream(TextCorpus.from_files([path]), tmp_path / "bytes", workers=2)
    assert stream.words == ["première", "ligne", "dernière", "l\ufffd"]
    assert stream.line_lengths.tolist() == [2, 2]
    assert messages == [f"{path} is not valid UTF-8: 1 undecodable byte sequence(s) were replaced by U+FFFD"]


def test_undecodable_bytes_that_become_the_same_text_are_one_word(tmp_path):
    # \xff and \xfe both decode to U+FFFD, as the line reader sees them: one word, counted twice.
    path = tmp_path / "bad.txt"
    path.write_bytes(b"a \xff b\n\xfe a \xef\xbf\xbd\n")
    corpus = TextCorpus.from_files([path])
    expected, _ = line_reader_stream(corpus, tmp_path / "lines")
    actual, _ = byte_reader_stream(corpus, tmp_path / "bytes", workers=1)
    assert actual.words == ["a", "\ufffd", "b"] and actual.word_counts.tolist() == [2, 3, 1]
    assert_same_stream(expected, actual)


def test_the_shards_of_a_distributed_run_read_their_byte_ranges_as_the_line_reader_does(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(varied_text(3).replace(b"\r", b""))
    corpus = TextCorpus.from_files([path])
    for rank in range(3):
        shard = corpus.shard(rank, 3)
        assert shard.files.sources[0][1] is not None
        expected, _ = line_reader_stream(shard, tmp_path / f"lines{rank}")
        actual, _ = byte_reader_stream(shard, tmp_path / f"bytes{rank}", workers=2)
        assert_same_stream(expected, actual)


@pytest.mark.parametrize(
    ("lowercase", "nfkc", "split_punctuation", "unspaced"),
    list(itertools.product((True, False), (True, False), (True, False), (False, True))),
)
def test_ascii_words_are_pre_tokenised_as_the_tokenizers_pre_tokenizer_does(
    lowercase, nfkc, split_punctuation, unspaced
):
    rng = random.Random(0)  # numpy's string arrays would drop the NUL characters
    # Every ASCII character but Rust's whitespace (the four separators \x1c-\x1f are not whitespace to Rust).
    alphabet = [chr(code) for code in range(128) if not chr(code).isspace() or chr(code) in "\x1c\x1d\x1e\x1f"]
    words = ["".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(3000)]
    words += [*alphabet, string.punctuation, "Don't", "U.S.A.", "x_y", "A1b2"]
    tokenizer = word_level.empty_word_level_tokenizer(lowercase, nfkc, split_punctuation, None, unspaced)
    normalize = tokenizer.normalizer.normalize_str if tokenizer.normalizer is not None else str
    expected = [[piece for piece, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalize(word))] for word in words]
    assert word_level.pre_tokens_of_words(tokenizer, words) == expected


def test_a_gz_with_trailing_garbage_is_one_error_naming_it_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = tmp_path / "corpus.txt.gz"
    path.write_bytes(gzip.compress(b"some words here\n" * 1000) + b"this is not gzip")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()
    with pytest.raises(CorpusError, match=rf"^{re.escape(str(path))} is truncated or damaged: .*gzip -t"):
        train_word2vec(TextCorpus.from_files([path]), TrainingArguments(workers=2, progress=False, min_count=1))
    assert list((tmp_path / "temporary").iterdir()) == []


def test_a_disk_filling_while_the_encoded_stream_is_written_is_one_error_and_removes_the_temporary_files(
    tmp_path, monkeypatch
):
    path = tmp_path / "corpus.txt"
    path.write_text("some words here and there\n" * 1000)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()

    def open_on_a_full_disk(file, *args, **kwargs):
        # /dev/full answers every write with ENOSPC, as a full disk does.
        return open("/dev/full" if str(file).endswith("ids.int32") else file, *args, **kwargs)

    monkeypatch.setattr(encoding, "open", open_on_a_full_disk, raising=False)
    with pytest.raises(CorpusError, match=r"the disk filled while the corpus was written to .* free some space"):
        train_word2vec(TextCorpus.from_files([path]), TrainingArguments(workers=2, progress=False, min_count=1))
    assert list((tmp_path / "temporary").iterdir()) == []


def word_stream_and_ids(folder: Path) -> tuple[encoding.WordStream, Tokenizer, word_level.TokenIds]:
    """A word stream of 3000 lines, some empty and some of out-of-vocabulary words only (no sentence), with a
    vocabulary where a word has no id, one or two."""
    rng = np.random.default_rng(4)
    lines = [" ".join(f"w{number}" for number in rng.integers(0, 120, size=rng.integers(0, 13))) for _ in range(3000)]
    lines[10:13] = ["w0 w5 w10", "", "w15"]  # every fifth word is out of the vocabulary
    folder.mkdir()
    stream = encoding.read_words(lines, folder)
    vocabulary = {word_level.UNK_TOKEN: 0, **{f"t{index}": index + 1 for index in range(50)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token=word_level.UNK_TOKEN))
    tokens = [
        [word_level.UNK_TOKEN] if number % 5 == 0 else [f"t{number % 50}", f"t{number % 7}"][: 1 + number % 2]
        for number in (int(word[1:]) for word in stream.words)
    ]
    return stream, tokenizer, word_level.TokenIds.from_tokens(tokens, vocabulary)


def test_steps_written_at_their_own_offsets_give_the_file_of_one_step_whatever_the_workers(tmp_path):
    stream, tokenizer, word_ids = word_stream_and_ids(tmp_path / "words")
    whole = stream.encode(tokenizer, word_ids, workers=1, step_words=len(np.fromfile(stream.path, np.int32)))
    expected = whole.ids_path.read_bytes()
    assert 0 < whole.sentence_lengths.shape[0] < len(stream.line_lengths), "some lines are not sentences"
    for workers, step_words in [(1, 37), (3, 37), (3, 1), (3, 8000)]:  # 8000 words: more than 1024 lines
        encoded = stream.encode(tokenizer, word_ids, workers=workers, step_words=step_words)
        assert encoded.ids_path.read_bytes() == expected
        assert encoded.num_tokens == whole.num_tokens
        np.testing.assert_array_equal(encoded.sentence_lengths, whole.sentence_lengths)
        np.testing.assert_array_equal(encoded.counts, whole.counts)


def corpus_encoded_in_steps(tmp_path, monkeypatch) -> Path:
    """A corpus of 5,000 words that encoding takes in 100 steps, its temporary files in tmp_path / "temporary"."""
    path = tmp_path / "corpus.txt"
    path.write_text("some words here and there\n" * 1000)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()
    monkeypatch.setattr(encoding, "WORDS_PER_ENCODE_STEP", 50)
    return path


@pytest.mark.skipif(sys.platform != "linux", reason="names a written file through /proc")
@pytest.mark.parametrize("failing", ["words.int32", "ids.int32", "encoding"])
def test_a_step_failing_in_a_worker_raises_its_error_stops_the_others_and_removes_the_temporary_files(
    tmp_path, monkeypatch, failing
):
    path = corpus_encoded_in_steps(tmp_path, monkeypatch)
    monkeypatch.setattr(encoding, "RANGE_BYTES", 1000)  # read in 26 ranges
    calls = itertools.count()
    pwrite, encode_words = os.pwrite, encoding.encode_words

    def write_on_a_disk_filling_at_the_third(file, data, offset):
        if os.readlink(f"/proc/self/fd/{file}").endswith(failing) and next(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return pwrite(file, data, offset)

    def no_memory_for_the_third(*arguments):
        if next(calls) == 2:
            raise MemoryError("no memory for this step")
        return encode_words(*arguments)

    if failing == "encoding":
        monkeypatch.setattr(encoding, "encode_words", no_memory_for_the_third)
        expected = pytest.raises(MemoryError, match=r"^no memory for this step$")
    else:
        monkeypatch.setattr(os, "pwrite", write_on_a_disk_filling_at_the_third)
        expected = pytest.raises(CorpusError, match=r"^the disk filled while the corpus was written to .* free some")
    with expected:
        train_word2vec(TextCorpus.from_files([path]), TrainingArguments(workers=2, progress=False, min_count=1))
    assert next(calls) < 10, "the steps not started when one failed were not run"
    assert list((tmp_path / "temporary").iterdir()) == []


def test_blocks_summing_the_sentences_a_window_at_a_time_are_those_of_all_the_sentences_starts(tmp_path):
    rng = np.random.default_rng(5)
    sentence_lengths = rng.integers(1, 20, size=5000).astype(np.int32)
    sentence_lengths[[7, 2500, 4999]] = 3000  # sentences longer than a block of 40
    num_tokens = int(sentence_lengths.sum())
    rng.integers(0, 100, size=num_tokens, dtype=np.int32).tofile(tmp_path / "ids.int32")
    encoded = encoding.EncodedCorpus(tmp_path / "ids.int32", num_tokens, sentence_lengths, np.zeros(100), num_tokens)
    all_starts = np.concatenate([[0], np.cumsum(sentence_lengths, dtype=np.int64)])
    for count in (1, 2, 3, 40, 1000, num_tokens + 5):
        blocks = list(encoded.blocks(count))
        assert len(blocks) == count
        np.testing.assert_array_equal(np.concatenate([ids for ids, _ in blocks]), encoded.read())
        start = 0
        for index, (ids, starts) in enumerate(blocks, 1):
            end = start + ids.shape[0]
            inside = all_starts[(all_starts >= start) & (all_starts < end)]
            np.testing.assert_array_equal(starts, inside - start)
            target = num_tokens * index // count
            before_target = all_starts[all_starts <= target].max()
            # A block ends at the last sentence start before its share of the tokens, if one is in the block.
            assert end == (before_target if index < count and before_target > start else target)
            start = end


@pytest.mark.skipif(sys.platform != "linux", reason="interrupts itself with SIGINT")
def test_ctrl_c_while_encoding_stops_the_steps_not_started_and_removes_the_temporary_files(tmp_path, monkeypatch):
    path = corpus_encoded_in_steps(tmp_path, monkeypatch)
    calls = itertools.count()
    encode_words = encoding.encode_words

    def interrupted_at_the_third(*arguments):
        if next(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C does: KeyboardInterrupt in the main thread
            time.sleep(0.5)  # while the main thread handles it
        return encode_words(*arguments)

    monkeypatch.setattr(encoding, "encode_words", interrupted_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        train_word2vec(TextCorpus.from_files([path]), TrainingArguments(workers=2, progress=False, min_count=1))
    assert next(calls) < 10, "the steps not started were not run"
    assert list((tmp_path / "temporary").iterdir()) == []


def writes_interrupted(monkeypatch, interrupts_now: Callable[[], bool], pause: float) -> list:
    """Every write of the reader and the encoder, recorded ("written", or the OSError it raised) in the list
    returned; a write of `ids.int32` for which `interrupts_now()` is true first sends this process a Ctrl-C and
    sleeps `pause` seconds."""
    writes = []
    write_at = encoding._write_at

    def recorded(file, array, offset, written_path):
        if written_path.name == "ids.int32" and interrupts_now():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(pause)
        try:
            write_at(file, array, offset, written_path)
        except OSError as error:
            writes.append(error)
            raise
        writes.append("written")

    monkeypatch.setattr(encoding, "_write_at", recorded)
    return writes


def assert_no_write_after_the_return(writes: list) -> None:
    """Every write `writes_interrupted` recorded succeeded, and none came after the training raised: a step left
    running would write once its pause is over, after the stream file was closed, or into whatever file then held
    its descriptor's number."""
    writes.append("returned")
    for thread in threading.enumerate():
        if thread.name.startswith("word2vec-encoder-"):
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{thread.name} still runs a minute after the training raised"
    assert writes[-1] == "returned" and all(write == "written" for write in writes[:-1]), writes
    assert len(writes) > 1, "nothing was written"


@pytest.mark.skipif(sys.platform != "linux", reason="interrupts itself with SIGINT")
def test_a_second_ctrl_c_while_encoding_stops_waits_for_the_running_steps_writes(tmp_path, monkeypatch):
    path = corpus_encoded_in_steps(tmp_path, monkeypatch)
    steps = itertools.count()
    # Ctrl-C while the third step still has its write to do.
    writes = writes_interrupted(monkeypatch, lambda: next(steps) == 2, pause=0.5)
    shutdown = ThreadPoolExecutor.shutdown
    stops = []

    def interrupted_again_while_stopping(pool, wait=True, *, cancel_futures=False):
        if cancel_futures:
            stops.append(pool)
            if len(stops) == 1:  # a second Ctrl-C while the steps stop
                shutdown(pool, wait=False, cancel_futures=True)
                raise KeyboardInterrupt
        shutdown(pool, wait=wait, cancel_futures=cancel_futures)

    monkeypatch.setattr(ThreadPoolExecutor, "shutdown", interrupted_again_while_stopping)
    with pytest.raises(KeyboardInterrupt):
        train_word2vec(TextCorpus.from_files([path]), TrainingArguments(workers=2, progress=False, min_count=1))
    assert_no_write_after_the_return(writes)
    assert stops, "the second Ctrl-C was not simulated"
    assert list((tmp_path / "temporary").iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="interrupts itself with SIGINT")
def test_a_ctrl_c_while_the_pool_starts_a_worker_still_waits_for_that_workers_write(tmp_path, monkeypatch):
    # The pool starts its second worker when the second step is submitted while the first is busy: a Ctrl-C raised in
    # this thread after that worker has started, before the pool has recorded it, left the pool's shutdown unaware of
    # it, and its step wrote after the stream file was closed.
    path = corpus_encoded_in_steps(tmp_path, monkeypatch)
    start, encode_words = threading.Thread.start, encoding.encode_words
    second_worker_started = threading.Event()

    def encoder_worker(thread: threading.Thread, number: int) -> bool:
        return re.fullmatch(rf"word2vec-encoder-\d+_{number}", thread.name) is not None

    # The second worker's step writes a second after its Ctrl-C, once this thread has stopped.
    writes = writes_interrupted(monkeypatch, lambda: encoder_worker(threading.current_thread(), 1), pause=1)

    def first_worker_busy_until_the_second_starts(*arguments):
        # Idle, the first worker would take the second step too, and the pool would start no second worker.
        if encoder_worker(threading.current_thread(), 0):
            second_worker_started.wait(timeout=10)
        return encode_words(*arguments)

    interrupted_while_starting = threading.Event()

    def slow_to_record_the_second_worker(thread):
        start(thread)
        if encoder_worker(thread, 1):
            second_worker_started.set()
            try:
                time.sleep(60)  # the Ctrl-C arrives here, before the pool adds the thread to its own
            except KeyboardInterrupt:
                interrupted_while_starting.set()
                raise

    monkeypatch.setattr(encoding, "encode_words", first_worker_busy_until_the_second_starts)
    monkeypatch.setattr(threading.Thread, "start", slow_to_record_the_second_worker)
    with pytest.raises(KeyboardInterrupt):
        train_word2vec(TextCorpus.from_files([path]), TrainingArguments(workers=2, progress=False, min_count=1))
    assert_no_write_after_the_return(writes)
    assert interrupted_while_starting.is_set(), "the Ctrl-C did not come while the pool started its second worker"
    assert list((tmp_path / "temporary").iterdir()) == []


def test_a_failing_range_stops_the_reading_with_its_error(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "RANGE_BYTES", 100)
    path = tmp_path / "corpus.txt"
    path.write_text("a few words on a line\n" * 200)
    calls = itertools.count()
    split_and_join = encoding._split_and_join

    def fails_on_the_fifth(block, max_chars):
        if next(calls) == 5:
            raise MemoryError("no memory for this range")
        return split_and_join(block, max_chars)

    monkeypatch.setattr(encoding, "_split_and_join", fails_on_the_fifth)
    (tmp_path / "work").mkdir()
    with pytest.raises(MemoryError, match="no memory for this range"):
        encoding.read_files(TextCorpus.from_files([path]).files, tmp_path / "work", workers=2)


BYTE_READER_KILLED_MID_READ = """
import sys, time
from pathlib import Path
from word2vec_hub.training import encoding
from word2vec_hub.training.corpus import TextCorpus

split_and_join = encoding._split_and_join
def slow(block, max_chars):
    print("reading", flush=True)
    time.sleep(600)
encoding._split_and_join = slow
encoding.read_files(TextCorpus.from_files([sys.argv[1]]).files, Path(sys.argv[2]), workers=2)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_byte_reader_killed_mid_read_leaves_no_process_behind(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("words on a line\n" * 100_000)
    reader = subprocess.Popen(
        [sys.executable, "-c", BYTE_READER_KILLED_MID_READ, str(corpus), str(tmp_path)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert reader.stdout.readline().strip() == b"reading"
    os.kill(reader.pid, signal.SIGKILL)  # the main process only, as the kernel's OOM killer does
    reader.wait()
    deadline = time.monotonic() + 10

    def in_its_group() -> list[str]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == reader.pid and fields[0] != "Z":  # process group
                found.append(stat.parent.name)
        return found

    while in_its_group() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert in_its_group() == []


@pytest.mark.parametrize("split_punctuation", [True, False])
def test_a_file_and_the_same_text_in_memory_encode_to_the_same_ids_whatever_the_workers(
    tmp_path, monkeypatch, split_punctuation
):
    from word2vec_hub.training.vocabulary import encode_corpus

    monkeypatch.setattr(encoding, "RANGE_BYTES", 2000)
    monkeypatch.setattr(encoding, "WORDS_PER_ENCODE_STEP", 300)
    rng = np.random.default_rng(2)
    vocabulary = [f"w{number}" for number in range(200)] + ["Don't", "U.S.", "naïve", "ΟΔΟΣ", "日本語", "(x)"]
    lines = [" ".join(rng.choice(vocabulary, size=rng.integers(0, 25))) for _ in range(3000)]
    text = "\n".join(lines) + "\n"
    (tmp_path / "corpus.txt").write_text(text)
    encoded = []
    for workers, corpus in [
        (1, TextCorpus.from_text(text, name="text")),
        (1, TextCorpus.from_files([tmp_path / "corpus.txt"])),
        (3, TextCorpus.from_files([tmp_path / "corpus.txt"])),
    ]:
        workdir = tmp_path / f"work{len(encoded)}"
        workdir.mkdir()
        args = TrainingArguments(workers=workers, progress=False, min_count=3, split_punctuation=split_punctuation)
        encoded.append(encode_corpus(corpus, args, workdir))
    expected = encoded[0]
    assert expected.encoded.num_tokens > 10_000
    for actual in encoded[1:]:
        assert actual.tokenizer.get_vocab() == expected.tokenizer.get_vocab()
        np.testing.assert_array_equal(actual.encoded.read(), expected.encoded.read())
        np.testing.assert_array_equal(actual.encoded.sentence_lengths, expected.encoded.sentence_lengths)
        np.testing.assert_array_equal(actual.encoded.counts, expected.encoded.counts)
