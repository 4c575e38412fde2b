"""Reading corpora: compressed files, lines of any length, bad bytes, missing files, the default PTB."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import warnings

import pytest

from word2vec_hub.training.corpus import CorpusError, TextCorpus, split_long_lines

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
