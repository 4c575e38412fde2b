"""Reading corpora: compressed files, lines of any length, bad bytes, missing files, the default PTB."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import CorpusError, TextCorpus, split_long_lines
from word2vec_hub.training.encoding import number_words as _NUMBER_WORDS

from .conftest import shared_file


@pytest.mark.parametrize(
    ("suffix", "opener"), [(".txt", open), (".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)]
)
def test_plain_and_compressed_files_read_the_same(tmp_path, suffix, opener):
    text = "first line here\nsecond line\n\nlast without newline"
    path = tmp_path / f"corpus{suffix}"
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.write(text)
    assert list(TextCorpus.from_files([path])) == ["first line here", "second line", "", "last without newline"]


def test_a_huge_line_comes_in_bounded_pieces_holding_the_same_words():
    words = [f"word{i % 97}" for i in range(20000)]
    line = " ".join(words)
    pieces = list(split_long_lines(io.StringIO(line + "\nnext line\n"), max_chars=1000))
    assert all(len(piece) <= 2000 for piece in pieces)
    assert len(pieces) > 100
    assert [w for piece in pieces[:-1] for w in piece.split()] == words
    assert pieces[-1] == "next line"


def test_non_utf8_bytes_are_replaced_with_one_warning(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9 cr\xe8me\nfine line\n".encode("latin-1"))
    corpus = TextCorpus.from_files([path])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lines = list(corpus)
    assert lines == ["caf\ufffd cr\ufffdme", "fine line"]
    unicode_warnings = [w for w in caught if issubclass(w.category, UnicodeWarning)]
    assert len(unicode_warnings) == 1
    assert "latin1.txt is not valid UTF-8: 2 undecodable" in str(unicode_warnings[0].message)


def test_missing_file_and_directory_are_refused(tmp_path):
    with pytest.raises(CorpusError, match=r"corpus file not found: .*nope\.txt"):
        TextCorpus.from_files([tmp_path / "nope.txt"])
    with pytest.raises(CorpusError, match="holds no files"):
        TextCorpus.from_files([tmp_path])


def test_default_corpus_is_the_penn_treebank_training_split():
    expected = [line for line in shared_file("data/ptb/ptb.train.txt").read_text().splitlines() if line.strip()]
    lines = [line for line in TextCorpus.penn_treebank() if line.strip()]
    assert len(lines) == len(expected) == 42068
    assert sum(len(line.split()) for line in lines) == 887521
    assert lines[:3] == expected[:3]


def test_the_corpus_decides_what_the_arguments_leave_unset_and_its_shards_keep_it(tmp_path):
    (tmp_path / "own.txt").write_text("mr. smith isn't here\n")
    own_files = TextCorpus.from_files([tmp_path / "own.txt"])
    ptb = TextCorpus.penn_treebank()
    assert (ptb.pre_tokenized, ptb.language) == (True, "en")
    unset = TrainingArguments()
    assert unset.split_punctuation is None
    assert ptb.decide_defaults(unset).split_punctuation is False
    assert ptb.shard(1, 2).decide_defaults(unset).split_punctuation is False
    assert ptb.shard(1, 2).language == "en"
    assert own_files.decide_defaults(unset).split_punctuation is True
    assert own_files.language is None
    for explicit in (True, False):
        assert ptb.decide_defaults(TrainingArguments(split_punctuation=explicit)).split_punctuation is explicit
        assert own_files.decide_defaults(TrainingArguments(split_punctuation=explicit)).split_punctuation is explicit


@pytest.mark.skipif(sys.platform != "linux", reason="the reader forks its workers on Linux only")
def test_reading_in_worker_processes_gives_the_word_stream_of_one_process(tmp_path, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    from word2vec_hub.training import encoding

    pools = []

    class RecordedPool(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(encoding, "ProcessPoolExecutor", RecordedPool)
    rng = np.random.default_rng(0)
    vocabulary = [f"w{index}" for index in range(300)] + ["é", "日本", "a\u00a0b"]
    # Zipf-like words, empty lines, and separators that only the tokenizers' whitespace splits at.
    lines = [
        " ".join(rng.choice(vocabulary, size=rng.integers(0, 30))) + ("\u3000x" if index % 7 == 0 else "")
        for index in range(2000)
    ]
    streams = []
    for workers in (1, 3):
        folder = tmp_path / f"workers{workers}"
        folder.mkdir()
        streams.append(encoding.read_words(lines, folder, workers=workers, chunk_chars=500))
    assert len(pools) == 1 and pools[0][0] == 3, "the second read ran in three worker processes"
    serial, parallel = streams
    assert parallel.words == serial.words and len(serial.words) > 300
    np.testing.assert_array_equal(parallel.word_counts, serial.word_counts)
    np.testing.assert_array_equal(parallel.line_lengths, serial.line_lengths)
    np.testing.assert_array_equal(np.fromfile(parallel.path, np.int32), np.fromfile(serial.path, np.int32))
    assert serial.line_lengths.shape == (2000,) and serial.word_counts.sum() == serial.line_lengths.sum()


READER_KILLED_MID_READ = """
import itertools, multiprocessing, sys, time
from word2vec_hub.training.encoding import read_words

def lines():
    for number in itertools.count():
        if number == 50:  # chunks of two lines: the pool runs by now
            time.sleep(1)
            print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
            time.sleep(600)
        yield "word " * 100

read_words(lines(), sys.argv[1], workers=2, chunk_chars=1000)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the reader forks its workers on Linux only")
def test_reader_workers_end_when_the_main_process_is_killed(tmp_path):
    # As torchrun kills the other ranks when one fails: their reader workers must not live on, blocked on a queue.
    reader = subprocess.Popen([sys.executable, "-c", READER_KILLED_MID_READ, str(tmp_path)], stdout=subprocess.PIPE)
    workers = [int(pid) for pid in reader.stdout.readline().split()]
    assert len(workers) == 2
    reader.kill()
    reader.wait()

    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, workers))


def _number_words_or_die(chunk: list[str]):
    """`encoding.number_words`, but a worker given the line "die" is killed, as the kernel's OOM killer kills one."""
    if any(line.strip() == "die" for line in chunk):
        os.kill(os.getpid(), signal.SIGKILL)
    return _NUMBER_WORDS(chunk)


@pytest.mark.skipif(sys.platform != "linux", reason="the reader forks its workers on Linux only")
def test_a_reader_worker_killed_mid_read_is_one_error_and_leaves_no_temporary_files_or_processes(tmp_path, monkeypatch):
    import multiprocessing

    from word2vec_hub.training import encoding
    from word2vec_hub.training.trainer import train_word2vec

    # Forked workers inherit the module as patched here: the function is pickled by name, found in it there.
    monkeypatch.setattr(encoding, "number_words", _number_words_or_die)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()
    # Chunks of about CHUNK_CHARS characters: the fifth holds the line that kills its worker.
    line = "some words on a line of the corpus " * 3 + "\n"
    lines_per_chunk = encoding.CHUNK_CHARS // len(line) + 1
    text = line * (4 * lines_per_chunk) + "die\n" + line * (2 * lines_per_chunk)
    arguments = TrainingArguments(workers=2, progress=False, min_count=1, dim=8, epochs=1)
    with pytest.raises(CorpusError, match=r"^a worker process reading the corpus ended abruptly .* fewer workers"):
        train_word2vec(TextCorpus.from_text(text, "in memory"), arguments)
    assert list((tmp_path / "temporary").iterdir()) == []
    assert multiprocessing.active_children() == []


def test_token_lists_train_the_same_model_as_the_same_tokens_in_a_line_sentence_file(tmp_path, planted_lines):
    import torch

    from word2vec_hub.training.trainer import train_word2vec

    # Punctuation inside tokens ("u.s.") stays in them on both sides: token lists and LineSentence files are
    # pre-tokenised; capitals are lowercased on both sides, as the arguments say.
    sentences = [[*line.split(), "u.s.", "Ends."] for line in planted_lines[:1500]]
    path = tmp_path / "sentences.txt"
    path.write_text("".join(" ".join(tokens) + "\n" for tokens in sentences))
    args = TrainingArguments(dim=16, epochs=2, seed=7, workers=1, progress=False, device="cpu")
    from_lists = train_word2vec(TextCorpus.from_sentences(sentences), args)
    from_file = train_word2vec(TextCorpus.from_line_sentences([path]), args)
    assert list(from_lists.model.index_to_key) == list(from_file.model.index_to_key)
    assert "u.s." in from_lists.model and "ends." in from_lists.model
    assert torch.equal(from_lists.model.embeddings, from_file.model.embeddings)
    assert torch.equal(from_lists.model.counts, from_file.model.counts)


def test_a_generator_of_sentences_is_refused_with_the_way_out():
    sentences = ([word] for word in ["a", "b"])
    with pytest.raises(CorpusError, match=r"one-shot iterator \(generator\).*pass a list of token lists, or an object"):
        TextCorpus.from_sentences(sentences)
    with pytest.raises(CorpusError, match="got a single string"):
        TextCorpus.from_sentences("a b c")


def test_a_re_iterable_object_is_read_anew_on_every_pass_and_shards_hold_every_sentence_once():
    class Sentences:
        def __iter__(self):
            return iter([["one", "two"], ("three",), ["four", "five", "six"]])

    corpus = TextCorpus.from_sentences(Sentences())
    assert list(corpus) == list(corpus) == ["one two", "three", "four five six"]
    assert corpus.pre_tokenized
    assert sorted([*corpus.shard(0, 2), *corpus.shard(1, 2)]) == sorted(corpus)


@pytest.mark.parametrize(
    ("sentences", "message"),
    [
        ([["fine"], ["a", 3]], "sentence 1 holds int 3; a token-list corpus holds strings only"),
        ([["fine"], "not split"], r"sentence 1 is a string \('not split'\), not a list of tokens"),
        ([["new york"]], "sentence 0 holds the token 'new york', which is empty or holds whitespace"),
        ([None], "sentence 0 is NoneType None, not a list of tokens"),
    ],
)
def test_a_token_list_corpus_holding_anything_but_tokens_is_refused_naming_the_sentence(sentences, message):
    from word2vec_hub.training.trainer import train_word2vec

    args = TrainingArguments(min_count=1, epochs=1, progress=False, device="cpu", workers=1)
    with pytest.raises(CorpusError, match=message):
        train_word2vec(TextCorpus.from_sentences(sentences), args)
