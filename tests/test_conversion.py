"""Existing vectors in (word2vec binary/text, GloVe, fastText .vec) and ours out, exactly."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from word2vec_hub.conversion.convert import convert_vector_file
from word2vec_hub.conversion.vector_files import VectorFileError, read_vectors
from word2vec_hub.modeling import Word2VecModel

from .conftest import REPO_ROOT


def write_text_vectors(path, rows, header=True, declared=None):
    dim = len(rows[0][1])
    lines = [f"{declared if declared is not None else len(rows)} {dim}"] if header else []
    lines += [" ".join([word, *(f"{value:.9g}" for value in vector)]) for word, vector in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_binary_vectors(path, rows, declared=None):
    dim = len(rows[0][1])
    with open(path, "wb") as handle:
        handle.write(f"{declared if declared is not None else len(rows)} {dim}\n".encode())
        for word, vector in rows:
            raw = word if isinstance(word, bytes) else word.encode()
            handle.write(raw + b" " + struct.pack(f"<{dim}f", *vector) + b"\n")


@pytest.mark.parametrize("binary", [True, False])
def test_export_and_convert_back_is_exact_and_gensim_reads_it(trained, tmp_path, binary):
    model = trained.model
    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    model.save_word2vec_format(path, binary=binary)
    keyed = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert keyed.index_to_key == model.index_to_key[2:]
    assert np.array_equal(keyed.vectors, model.embeddings.detach()[2:].numpy())

    report = convert_vector_file(path, "word2vec-bin" if binary else "word2vec-txt", tmp_path / "back")
    assert (report.words_read, report.duplicates_dropped, report.dimension) == (len(keyed), 0, 32)
    converted = Word2VecModel.from_pretrained(tmp_path / "back")
    assert converted.index_to_key == model.index_to_key, "ids = rows, in file order after [PAD] and [UNK]"
    assert torch.equal(converted.embeddings[2:], model.embeddings[2:])
    assert torch.equal(converted.embeddings[:2], torch.zeros(2, 32))
    assert not converted.config.has_context_vectors and converted.context is None
    with pytest.raises(RuntimeError, match="no context vectors"):
        converted.skipgram_loss(torch.tensor([2]), torch.tensor([3]), torch.tensor([[4]]))
    assert converted.most_similar("a3", topn=3) == model.most_similar("a3", topn=3)


def test_glove_and_fasttext_files_convert(tmp_path):
    rows = [("the", [0.1, 0.2, 0.3]), ("cat", [1.0, -1.0, 0.5]), ("sat", [0.0, 0.25, -0.75])]
    write_text_vectors(tmp_path / "glove.txt", rows, header=False)
    write_text_vectors(tmp_path / "wiki.vec", rows)
    for path, file_format in ((tmp_path / "glove.txt", "glove"), (tmp_path / "wiki.vec", "fasttext-vec")):
        words, vectors = read_vectors(path, file_format)
        assert words == ["the", "cat", "sat"]
        assert np.array_equal(vectors, np.array([vector for _, vector in rows], dtype=np.float32))


def test_duplicates_after_lowercasing_keep_the_first(tmp_path):
    rows = [("Apple", [1.0, 0.0]), ("apple", [0.0, 1.0]), ("APPLE", [0.5, 0.5]), ("Pear", [0.2, 0.1])]
    write_text_vectors(tmp_path / "cased.txt", rows)
    report = convert_vector_file(tmp_path / "cased.txt", "word2vec-txt", tmp_path / "lower", lowercase=True)
    assert (report.words_read, report.words_kept, report.duplicates_dropped) == (4, 2, 2)
    model = Word2VecModel.from_pretrained(tmp_path / "lower")
    assert model.index_to_key[2:] == ["apple", "pear"]
    assert torch.equal(model.get_vector("APPLE"), torch.tensor([1.0, 0.0]))
    kept = convert_vector_file(tmp_path / "cased.txt", "word2vec-txt", tmp_path / "cased", lowercase=False)
    assert kept.duplicates_dropped == 0


def test_a_vector_of_the_wrong_length_names_its_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("2 3\nthe 0.1 0.2 0.3\ncat 1 2\n")
    with pytest.raises(VectorFileError, match=r"bad\.txt:3: word 'cat' has 2 values, expected 3"):
        read_vectors(path, "word2vec-txt")
    glove = tmp_path / "bad-glove.txt"
    glove.write_text("the 0.1 0.2 0.3\ncat 1 2 x\n")
    with pytest.raises(VectorFileError, match="not a number"):
        read_vectors(glove, "glove")


def test_a_header_that_disagrees_with_the_body(tmp_path):
    rows = [("the", [0.1, 0.2]), ("cat", [1.0, -1.0])]
    write_text_vectors(tmp_path / "more.txt", rows, declared=5)
    with pytest.warns(UserWarning, match="declares 5 vectors but the file holds 2"):
        words, _ = read_vectors(tmp_path / "more.txt", "word2vec-txt")
    assert words == ["the", "cat"]
    write_binary_vectors(tmp_path / "short.bin", rows, declared=3)
    with pytest.warns(UserWarning, match="declares 3 vectors but the file holds 2"):
        words, _ = read_vectors(tmp_path / "short.bin", "word2vec-bin")
    assert words == ["the", "cat"]
    (tmp_path / "glove-as-w2v.txt").write_text("the 0.1 0.2\n")
    with pytest.raises(VectorFileError, match="GloVe format"):
        read_vectors(tmp_path / "glove-as-w2v.txt", "word2vec-txt")


def test_truncated_binary_and_non_utf8_words(tmp_path):
    rows = [("the", [0.1, 0.2]), (b"caf\xe9", [1.0, -1.0]), ("cat", [0.5, 0.5])]
    path = tmp_path / "latin.bin"
    write_binary_vectors(path, rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        words, vectors = read_vectors(path, "word2vec-bin")
    assert words == ["the", "caf\ufffd", "cat"]
    assert np.array_equal(vectors[1], np.array([1.0, -1.0], dtype=np.float32))
    assert any("1 word(s) are not valid UTF-8" in str(w.message) for w in caught)
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(VectorFileError, match="ends inside the vector of word 3"):
        read_vectors(path, "word2vec-bin")


def test_convert_script_reports_errors_in_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "bad.txt").write_text("1 3\nthe 0.1\n")
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "convert.py"), str(tmp_path / "bad.txt"), "--from",
         "word2vec-txt", "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: {tmp_path / 'bad.txt'}:2: word 'the' has 1 values, expected 3"
    assert not (tmp_path / "out").exists()
