"""Existing vectors in (word2vec binary/text, GloVe, fastText .vec) and ours out, exactly."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from word2vec_hub.conversion.convert import convert_vector_file
from word2vec_hub.conversion.vector_files import VectorFileError, read_vectors
from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.training.output import OutputError

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
    # The same vectors at another memory alignment may round a score differently in the last bit.
    ours, theirs = converted.most_similar("a3", topn=3), model.most_similar("a3", topn=3)
    assert [word for word, _ in ours] == [word for word, _ in theirs]
    assert [score for _, score in ours] == pytest.approx([score for _, score in theirs], abs=1e-6)


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
    assert torch.equal(model.get_vector("pear"), torch.tensor([0.2, 0.1])), "rows after a duplicate move up"
    assert model.embeddings.shape == (4, 2)
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
    long_rows = [("a-rather-long-word", [0.1, 0.2]), ("another-long-word", [1.0, -1.0])]
    write_binary_vectors(tmp_path / "short.bin", long_rows, declared=3)
    with pytest.warns(UserWarning, match="declares 3 vectors but the file holds 2"):
        words, _ = read_vectors(tmp_path / "short.bin", "word2vec-bin")
    assert words == ["a-rather-long-word", "another-long-word"]
    write_binary_vectors(tmp_path / "shorter.bin", rows, declared=3)
    with pytest.raises(VectorFileError, match="declares 3 vectors of 2 values, but the file has room for at most 2"):
        read_vectors(tmp_path / "shorter.bin", "word2vec-bin")
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


# Float32 values whose bytes hold a space and a newline, the separators of the binary format.
AWKWARD_VALUES = [struct.unpack("<f", b" \n \n")[0], struct.unpack("<f", b"\n\n  ")[0], 0.5]


@pytest.mark.parametrize("chunk_bytes", [7, 13, 64, 2**20])
@pytest.mark.parametrize("suffix", [".bin", ".bin.gz"])
def test_binary_records_split_across_chunks_read_exactly_as_gensim_reads_them(
    tmp_path, monkeypatch, chunk_bytes, suffix
):
    import gzip

    from word2vec_hub.conversion import vector_files

    rng = np.random.default_rng(0)
    rows = [(f"w{i}", rng.standard_normal(3).astype(np.float32).tolist()) for i in range(40)]
    rows[5] = ("café", AWKWARD_VALUES)
    rows[6] = ("x", list(reversed(AWKWARD_VALUES)))
    path = tmp_path / "vectors.bin"
    write_binary_vectors(path, rows)
    if suffix == ".bin.gz":
        compressed = tmp_path / "vectors.bin.gz"
        compressed.write_bytes(gzip.compress(path.read_bytes()))
        path = compressed
    monkeypatch.setattr(vector_files, "CHUNK_BYTES", chunk_bytes)
    words, table = read_vectors(path, "word2vec-bin", reserved_rows=2)
    keyed = KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert words == keyed.index_to_key == [word for word, _ in rows]
    assert np.array_equal(table[2:], keyed.vectors)
    assert np.array_equal(table[:2], np.zeros((2, 3), dtype=np.float32)), "the reserved rows are zeros"


def test_max_vocab_reads_the_first_words_and_not_the_rest(tmp_path, monkeypatch):
    from word2vec_hub.conversion import vector_files

    rows = [(f"w{i}", [float(i)] * 50) for i in range(2000)]
    path = tmp_path / "big.bin"
    write_binary_vectors(path, rows)
    path.write_bytes(path.read_bytes()[:-100])  # a broken tail that reading it all would report
    bytes_read = []

    class CountingFile(io.FileIO):
        def read(self, size=-1):
            data = super().read(size)
            bytes_read.append(len(data))
            return data

        def readinto(self, buffer):
            count = super().readinto(buffer)
            bytes_read.append(count)
            return count

    def counting_open(file, mode="r", *args, **kwargs):
        if mode != "rb":
            return open(file, mode, *args, **kwargs)
        return io.BufferedReader(CountingFile(file), buffer_size=4096)

    monkeypatch.setattr(vector_files, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(vector_files, "open", counting_open, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        words, table = read_vectors(path, "word2vec-bin", limit=10)
    assert words == [f"w{i}" for i in range(10)]
    assert np.array_equal(table[:, 0], np.arange(10, dtype=np.float32))
    assert sum(bytes_read) < path.stat().st_size / 50, "reading stops after the first 10 vectors"


@pytest.mark.parametrize("suffix", [".bin", ".bin.gz"])
def test_a_header_the_file_cannot_hold_is_refused_before_allocating(tmp_path, suffix):
    import gzip

    path = tmp_path / f"liar{suffix}"
    body = b"3000000000 300\nthe " + struct.pack("<300f", *([0.5] * 300)) + b"\n"
    path.write_bytes(gzip.compress(body) if suffix == ".bin.gz" else body)
    # The declared table is 3.4 TB: allocating it first would raise MemoryError, not this.
    with pytest.raises(VectorFileError, match=r"declares 3,000,000,000 vectors of 300 values, but the file"):
        read_vectors(path, "word2vec-bin")


def test_a_table_larger_than_memory_is_refused_with_the_way_out(tmp_path, monkeypatch):
    from word2vec_hub.conversion import vector_files

    rows = [(f"w{i}", [0.5] * 100) for i in range(10)]
    write_binary_vectors(tmp_path / "vectors.bin", rows)
    monkeypatch.setattr(vector_files, "available_memory_bytes", lambda: 3000)
    with pytest.raises(
        VectorFileError, match=r"need .* of memory but .* is available; keep only the first N words with --max-vocab N"
    ):
        read_vectors(tmp_path / "vectors.bin", "word2vec-bin")
    words, _ = read_vectors(tmp_path / "vectors.bin", "word2vec-bin", limit=5)
    assert len(words) == 5
    with pytest.raises(VectorFileError, match="--max-vocab must be at least 1, got -5"):
        read_vectors(tmp_path / "vectors.bin", "word2vec-bin", limit=-5)


def test_wrapping_a_tokenizer_shares_its_vocabulary_and_saves_what_a_copy_saves(tmp_path):
    from transformers import PreTrainedTokenizerFast

    from word2vec_hub.tokenization.word_level import empty_word_level_tokenizer, wrap_tokenizer

    vocabulary = {"[PAD]": 0, "[UNK]": 1, **{f"w{i}": i + 2 for i in range(50)}}
    backend = empty_word_level_tokenizer(vocab=vocabulary, lowercase=False)
    copied = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")
    wrapped = wrap_tokenizer(backend)
    assert backend.get_vocab_size() == len(wrapped) == 52, "the tokenizer keeps its vocabulary"
    texts = ["w3 w49 unknown [PAD]", "w0"]
    assert wrapped(texts, padding=True)["input_ids"] == copied(texts, padding=True)["input_ids"]
    assert wrapped.added_tokens_decoder == copied.added_tokens_decoder
    wrapped.save_pretrained(tmp_path / "wrapped")
    copied.save_pretrained(tmp_path / "copied")
    assert (tmp_path / "wrapped" / "tokenizer.json").read_text() == (tmp_path / "copied" / "tokenizer.json").read_text()


def test_convert_streams_the_vectors_without_holding_the_table(tmp_path, monkeypatch):
    import tracemalloc

    from word2vec_hub.conversion import vector_files

    rng = np.random.default_rng(1)
    rows = [(f"w{i}", vector) for i, vector in enumerate(rng.standard_normal((40_000, 200)).astype(np.float32))]
    path = tmp_path / "vectors.bin"
    write_binary_vectors(path, rows)
    table_bytes = 40_000 * 200 * 4
    monkeypatch.setattr(vector_files, "CHUNK_BYTES", 2**18)
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        convert_vector_file(path, "word2vec-bin", tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < table_bytes / 4, f"{peak:,} bytes at the peak for a {table_bytes:,}-byte table"
    converted = Word2VecModel.from_pretrained(tmp_path / "out")
    assert converted.index_to_key[2:] == [word for word, _ in rows]
    assert np.array_equal(converted.embeddings.detach()[2:].numpy(), np.stack([vector for _, vector in rows]))


def test_the_streamed_weights_file_is_read_by_safetensors_like_any_other(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    from word2vec_hub.conversion.weights_writer import ConvertedWeightsWriter

    blocks = [np.zeros((2, 5), dtype=np.float32), np.arange(15, dtype=np.float64).reshape(3, 5), np.ones((1, 5))]
    with ConvertedWeightsWriter(tmp_path / "model.safetensors", dim=5) as writer:
        for block in blocks:
            writer.append(block)
        with pytest.raises(ValueError, match="expected rows of 5 values, got an array of shape \\(2, 4\\)"):
            writer.append(np.zeros((2, 4)))
        assert writer.close() == 6
        assert writer.data_offset() % 8 == 0
    tensors = load_file(tmp_path / "model.safetensors")
    assert np.array_equal(tensors["embeddings"], np.concatenate(blocks).astype(np.float32))
    assert tensors["embeddings"].dtype == np.float32
    assert np.array_equal(tensors["counts"], np.zeros(6, dtype=np.int64))
    with safe_open(tmp_path / "model.safetensors", framework="pt") as weights:
        assert weights.metadata() == {"format": "pt"}


def test_a_conversion_that_cannot_fit_on_disk_is_refused_before_writing(tmp_path, monkeypatch):
    from collections import namedtuple

    from word2vec_hub.conversion import convert

    write_binary_vectors(tmp_path / "vectors.bin", [(f"w{i}", [0.5] * 100) for i in range(10)])
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(convert.shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 1000, 1000))
    (tmp_path / "models").mkdir()
    with pytest.raises(OutputError, match=r"the weights need 0.0 MB but 0.0 MB is free where .* goes; choose an"):
        convert_vector_file(tmp_path / "vectors.bin", "word2vec-bin", tmp_path / "models" / "out")
    assert list((tmp_path / "models").iterdir()) == [], "nothing written, no staging folder left"
    monkeypatch.undo()
    assert convert_vector_file(tmp_path / "vectors.bin", "word2vec-bin", tmp_path / "models" / "out").words_kept == 10


@pytest.mark.parametrize("chunk_bytes", [64, 2**20])
def test_a_run_of_bytes_without_a_space_is_refused_as_not_binary(tmp_path, monkeypatch, chunk_bytes):
    from word2vec_hub.conversion import vector_files

    path = tmp_path / "broken.bin"
    path.write_bytes(b"3 2\nab " + struct.pack("<2f", 1.0, 2.0) + b"\n" + b"x" * 200_000)
    monkeypatch.setattr(vector_files, "CHUNK_BYTES", chunk_bytes)
    with pytest.raises(VectorFileError, match="no space after word 2 within 65,536 bytes; this is not a word2vec"):
        read_vectors(path, "word2vec-bin")
