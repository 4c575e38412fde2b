"""Existing vectors in (word2vec binary/text, GloVe, fastText .vec) and ours out, exactly."""

from __future__ import annotations

import errno
import io
import shutil
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from word2vec_hub.conversion.convert import convert_vector_file
from word2vec_hub.conversion.vector_files import VectorFile, VectorFileError
from word2vec_hub.folders.checks import OutputError
from word2vec_hub.modeling import Word2VecModel

from .conftest import REPO_ROOT, one_line_error


def read_vectors(path, file_format: str, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Every word and vector of a file, read by `VectorFile` block by block as `word2vec convert` reads it."""
    with VectorFile(path, file_format, limit) as vectors:
        blocks = list(vectors)
    return [word for words, _ in blocks for word in words], np.concatenate([block for _, block in blocks])


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
    long_rows = [("a-rather-long-word", [0.1, 0.2]), ("another-long-word", [1.0, -1.0])]
    # Long words: the file has room for the 5 vectors declared, so the header may be only miscounted.
    write_text_vectors(tmp_path / "more.txt", long_rows, declared=5)
    with pytest.warns(UserWarning, match="declares 5 vectors but the file holds 2"):
        words, _ = read_vectors(tmp_path / "more.txt", "word2vec-txt")
    assert words == ["a-rather-long-word", "another-long-word"]
    write_binary_vectors(tmp_path / "short.bin", long_rows, declared=3)
    with pytest.warns(UserWarning, match="declares 3 vectors but the file holds 2"):
        words, _ = read_vectors(tmp_path / "short.bin", "word2vec-bin")
    assert words == ["a-rather-long-word", "another-long-word"]
    write_binary_vectors(tmp_path / "longer.bin", long_rows, declared=1)
    with pytest.warns(UserWarning, match="goes on after the 1 vectors its header declares; the rest was not read"):
        words, _ = read_vectors(tmp_path / "longer.bin", "word2vec-bin")
    assert words == ["a-rather-long-word"]
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
    (tmp_path / "bad.txt").write_text("1 3\nthe 0.1\n")
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "convert.py"), str(tmp_path / "bad.txt"), "--from",
         "word2vec-txt", "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: {tmp_path / 'bad.txt'}:2: word 'the' has 1 values, expected 3"
    assert not (tmp_path / "out").exists()


def run_python(script: str, *arguments) -> subprocess.CompletedProcess:
    """`script` in a fresh Python process, `arguments` as its sys.argv[1:]."""
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, arguments)], capture_output=True, text=True, timeout=120
    )


def test_the_convert_command_imports_torch_and_transformers_while_the_vectors_are_written(tmp_path):
    write_text_vectors(tmp_path / "vectors.txt", [(f"word{index}", [index, 1.0, -1.0]) for index in range(50)])
    # `word2vec convert` in a fresh process, recording whether torch was imported before the command and, when the
    # vectors start to be written, whether the thread importing it runs.
    script = (
        "import sys, threading\n"
        "from word2vec_hub.conversion import convert\n"
        "from word2vec_hub.cli import run_command\n"
        "write = convert._write_vectors\n"
        "def recording(*arguments):\n"
        "    threads = [thread.name for thread in threading.enumerate()]\n"
        "    print('importing in a thread:', 'import-model-libraries' in threads)\n"
        "    return write(*arguments)\n"
        "convert._write_vectors = recording\n"
        "print('torch imported before:', 'torch' in sys.modules)\n"
        "sys.exit(run_command(['convert', sys.argv[1], '--from', 'word2vec-txt', '--output', sys.argv[2]]))\n"
    )
    completed = run_python(script, tmp_path / "vectors.txt", tmp_path / "model")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[:2] == ["torch imported before: False", "importing in a thread: True"]
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    assert model.get_vector("word7").tolist() == [7.0, 1.0, -1.0]


def test_a_conversion_that_fails_after_the_import_started_returns_only_once_the_import_is_done(tmp_path):
    (tmp_path / "bad.txt").write_text("3 2\nthe 0.1 0.2\ncat 1\ndog 1 2\n")
    # After the error, a caller's own import of transformers must not run beside the conversion's thread.
    script = (
        "import sys, threading\n"
        "from word2vec_hub.conversion import convert\n"
        "from word2vec_hub.conversion.vector_files import VectorFileError\n"
        "try:\n"
        "    convert.convert_vector_file(sys.argv[1], 'word2vec-txt', sys.argv[2])\n"
        "except VectorFileError as error:\n"
        "    print('refused:', error)\n"
        "print('importing after:', [t.name for t in threading.enumerate() if t.name == 'import-model-libraries'])\n"
        "print('imported after:', 'word2vec_hub.modeling' in sys.modules)\n"
    )
    completed = run_python(script, tmp_path / "bad.txt", tmp_path / "model")
    assert completed.returncode == 0, completed.stderr
    refused, importing, imported = completed.stdout.splitlines()
    assert refused.startswith("refused: ") and "word 'cat' has 1 values, expected 2" in refused
    assert (importing, imported) == ("importing after: []", "imported after: True")
    assert not (tmp_path / "model").exists()


def test_a_refused_conversion_into_a_new_nested_path_leaves_no_empty_folders(tmp_path):
    (tmp_path / "bad.txt").write_text("1 3\nthe 0.1\n")
    with pytest.raises(VectorFileError):
        convert_vector_file(tmp_path / "bad.txt", "word2vec-txt", tmp_path / "new" / "nested" / "model")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.txt"]
    # The same path is made when the conversion succeeds.
    (tmp_path / "good.txt").write_text("1 3\nthe 0.1 0.2 0.3\n")
    convert_vector_file(tmp_path / "good.txt", "word2vec-txt", tmp_path / "new" / "nested" / "model")
    assert Word2VecModel.from_pretrained(tmp_path / "new" / "nested" / "model")["the"].shape == (3,)


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
    words, table = read_vectors(path, "word2vec-bin")
    keyed = KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert words == keyed.index_to_key == [word for word, _ in rows]
    assert np.array_equal(table, keyed.vectors)


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


def test_a_max_vocab_below_one_is_refused(tmp_path):
    write_binary_vectors(tmp_path / "vectors.bin", [(f"w{i}", [0.5] * 100) for i in range(10)])
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
    with pytest.raises(OutputError, match=r"the weights need 4.8 KiB but 1,000 bytes is free where .* goes; choose an"):
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


def run_convert(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "convert.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(folder):
    """Every file under `folder` (and beside it: leftovers of a write show there) with its bytes."""
    return {
        str(path.relative_to(folder.parent)): path.read_bytes() for path in folder.parent.rglob("*") if path.is_file()
    }


SMALL_ROWS = [(f"w{i}", [round(float(x), 5) for x in np.random.default_rng(i).standard_normal(20)]) for i in range(30)]


@pytest.fixture(scope="module")
def converted_folder(tmp_path_factory):
    """A model folder converted earlier, which a failed conversion to the same output must leave as it is."""
    source = tmp_path_factory.mktemp("earlier") / "vectors.txt"
    write_text_vectors(source, SMALL_ROWS)
    folder = source.parent / "model"
    convert_vector_file(source, "word2vec-txt", folder)
    return folder


def text_as_binary(path):
    write_text_vectors(path, SMALL_ROWS)


def binary_with_a_space_in_a_word(path):
    rows = list(SMALL_ROWS)
    rows[3] = ("new york", rows[3][1])
    write_binary_vectors(path, rows)


def binary_with_nan(path):
    rows = list(SMALL_ROWS)
    rows[7] = ("bad", [float("nan"), *rows[7][1][1:]])
    write_binary_vectors(path, rows)


def text_beyond_float32(path):
    path.write_text("2 3\nthe 1 2 3\ncat 1 1e39 3\n")


def text_header_beyond_the_file(path):
    path.write_text("1000000000 3\n" + "".join(f"w{i} 0.1 0.2 0.3\n" for i in range(10)))


def binary_as_text(path):
    write_binary_vectors(path, SMALL_ROWS)


def glove_with_a_header(path):
    write_text_vectors(path, SMALL_ROWS)


def glove_without_a_header(path):
    write_text_vectors(path, SMALL_ROWS, header=False)


@pytest.mark.parametrize(
    ("make_file", "file_format", "message"),
    [
        (text_as_binary, "word2vec-bin", "this looks like a text file; use --from word2vec-txt"),
        (binary_with_a_space_in_a_word, "word2vec-bin", "word 4 ('new') has the value 2.93e+26 (value 1), which no"),
        (binary_with_nan, "word2vec-bin", "word 8 ('bad') has the value nan (value 1); a vector must be finite"),
        (text_beyond_float32, "word2vec-txt", ":3: word 'cat' has the value 1e+39 (value 2), beyond the range of"),
        (text_header_beyond_the_file, "word2vec-txt", "declares 1,000,000,000 vectors of 3 values, but the file has"),
        (binary_as_text, "word2vec-txt", "holds bytes that are not text: a binary file? use --from word2vec-bin"),
        (glove_with_a_header, "glove", "is a word2vec header (COUNT DIMENSION), which GloVe files do not have; use "),
        (glove_without_a_header, "word2vec-txt", "a file without a header is GloVe format (--from glove)"),
    ],
)
def test_a_bad_vector_file_is_one_error_line_and_leaves_the_output_as_it_was(
    tmp_path, converted_folder, make_file, file_format, message
):
    make_file(tmp_path / "vectors")
    output = tmp_path / "models" / "model"
    shutil.copytree(converted_folder, output)
    before = snapshot(output)
    error = one_line_error(run_convert(str(tmp_path / "vectors"), "--from", file_format, "--output", str(output)))
    assert message in error
    assert snapshot(output) == before, "the folder is byte-identical and no staging folder is left"


def test_bad_values_late_in_a_file_leave_nothing_of_the_blocks_before(tmp_path, converted_folder, monkeypatch):
    from word2vec_hub.conversion import vector_files

    rows = [(f"w{i}", [0.25, -0.5, float(i)]) for i in range(40)]
    rows[33] = ("late", [0.25, float("inf"), 1.0])
    write_binary_vectors(tmp_path / "vectors.bin", rows)
    output = tmp_path / "models" / "model"
    shutil.copytree(converted_folder, output)
    before = snapshot(output)
    monkeypatch.setattr(vector_files, "CHUNK_BYTES", 64)  # blocks of 3 or 4 vectors: 8 blocks written before
    with pytest.raises(VectorFileError, match=r"word 34 \('late'\) has the value inf \(value 2\)"):
        convert_vector_file(tmp_path / "vectors.bin", "word2vec-bin", output)
    assert snapshot(output) == before


@pytest.mark.parametrize("value", ["nan", "-inf", "3.5e38", "1e400"])
@pytest.mark.parametrize("file_format", ["word2vec-txt", "glove"])
def test_a_text_value_that_is_not_a_finite_float32_names_its_word_and_line(tmp_path, value, file_format):
    header = "3 2\n" if file_format == "word2vec-txt" else ""
    path = tmp_path / "vectors.txt"
    path.write_text(f"{header}the 0.5 3.4e38\ncat 1 2\ndog {value} 1\n")
    with pytest.raises(
        VectorFileError, match=rf"vectors\.txt:{3 + bool(header)}: word 'dog' has the value \S+ \(value 1\)"
    ):
        read_vectors(path, file_format)


@pytest.mark.parametrize("chunk_bytes", [7, 2**20])
def test_a_text_file_read_as_binary_is_refused_naming_the_text_format(tmp_path, monkeypatch, chunk_bytes):
    from word2vec_hub.conversion import vector_files

    write_text_vectors(tmp_path / "vectors.txt", SMALL_ROWS)
    monkeypatch.setattr(vector_files, "CHUNK_BYTES", chunk_bytes)  # 7: the first line is never whole in a chunk
    with pytest.raises(VectorFileError, match="use --from word2vec-txt"):
        read_vectors(tmp_path / "vectors.txt", "word2vec-bin")


@pytest.mark.parametrize("file_format", ["word2vec-txt", "fasttext-vec", "glove"])
def test_a_binary_file_read_as_text_is_refused_naming_the_binary_format(tmp_path, file_format):
    write_binary_vectors(tmp_path / "vectors.bin", SMALL_ROWS)
    with pytest.raises(VectorFileError, match=r"vectors\.bin:2: .*a binary file\? use --from word2vec-bin$"):
        read_vectors(tmp_path / "vectors.bin", file_format)


@pytest.mark.parametrize(("word", "reported"), [("new york", 4), ("a b", 4), ("a bcd", 5)])
def test_a_binary_word_with_a_space_is_refused_where_the_records_go_wrong(tmp_path, word, reported):
    rows = list(SMALL_ROWS)
    rows[3] = (word, rows[3][1])
    write_binary_vectors(tmp_path / "vectors.bin", rows)
    with pytest.raises(VectorFileError, match=rf"word {reported} \(.*a word up to here holds a space"):
        read_vectors(tmp_path / "vectors.bin", "word2vec-bin")


def test_large_but_finite_binary_values_are_kept(tmp_path):
    rows = [("big", [9.9e5, -9.9e5]), ("tiny", [1e-30, 0.0])]
    write_binary_vectors(tmp_path / "vectors.bin", rows)
    words, vectors = read_vectors(tmp_path / "vectors.bin", "word2vec-bin")
    assert words == ["big", "tiny"]
    assert np.array_equal(vectors, np.array([vector for _, vector in rows], dtype=np.float32))


@pytest.mark.parametrize("file_format", ["word2vec-txt", "fasttext-vec", "glove"])
def test_non_utf8_words_in_text_files_warn_as_in_binary_ones(tmp_path, file_format):
    header = b"2 2\n" if file_format != "glove" else b""
    path = tmp_path / "latin.txt"
    path.write_bytes(header + b"the 1 2\ncaf\xe9 3 4\n")
    with pytest.warns(UnicodeWarning, match="latin.txt: 1 word\\(s\\) are not valid UTF-8; undecodable bytes were"):
        words, vectors = read_vectors(path, file_format)
    assert words == ["the", "caf\ufffd"]
    assert np.array_equal(vectors, np.array([[1, 2], [3, 4]], dtype=np.float32))


def test_a_non_utf8_word_in_a_text_file_is_one_warning_line_from_the_command(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"2 2\nthe 1 2\ncaf\xe9 3 4\n")
    completed = run_convert(str(path), "--from", "word2vec-txt", "--output", str(tmp_path / "model"))
    assert completed.returncode == 0, completed.stderr
    assert f"warning: {path}: 1 word(s) are not valid UTF-8; undecodable bytes were replaced by U+FFFD" in (
        completed.stderr.splitlines()
    )
    assert Word2VecModel.from_pretrained(tmp_path / "model").index_to_key[2:] == ["the", "caf\ufffd"]


def test_a_glove_file_of_one_value_per_word_is_not_taken_for_a_header(tmp_path):
    (tmp_path / "numbers.txt").write_text("3 300\n4 500\n")
    words, vectors = read_vectors(tmp_path / "numbers.txt", "glove")
    assert words == ["3", "4"]
    assert np.array_equal(vectors, np.array([[300], [500]], dtype=np.float32))


def test_a_text_header_the_file_cannot_hold_is_not_taken_for_a_lack_of_disk_space(tmp_path):
    path = tmp_path / "liar.txt"
    path.write_text("1000000000 3\n" + "".join(f"w{i} 0.1 0.2 0.3\n" for i in range(10)))
    expected = (
        r"declares 1,000,000,000 vectors of 3 values, but the file has room for at most 21 \(it has only 163 bytes\); "
        "the header is wrong or the file is truncated"
    )
    with pytest.raises(VectorFileError, match=expected):
        convert_vector_file(path, "word2vec-txt", tmp_path / "out")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["liar.txt"]


def test_export_refuses_an_existing_file_unless_overwrite(trained_folder, tmp_path):
    existing = tmp_path / "vectors.txt"
    existing.write_text("the user's own file\n")
    arguments = [str(trained_folder), "--to", "word2vec-txt", "--output", str(existing)]
    error = one_line_error(run_convert(*arguments))
    assert error == (
        f"error: {existing} exists, so it is not replaced (nothing was changed); add --overwrite to replace it, "
        "or choose another file"
    )
    assert existing.read_text() == "the user's own file\n"
    completed = run_convert(*arguments, "--overwrite")
    assert completed.returncode == 0, completed.stderr
    keyed = KeyedVectors.load_word2vec_format(str(existing), binary=False)
    assert keyed.index_to_key == Word2VecModel.from_pretrained(trained_folder).index_to_key[2:]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["vectors.txt"], "no temporary file left"


def test_overwrite_is_refused_with_from(tmp_path):
    write_text_vectors(tmp_path / "vectors.txt", SMALL_ROWS)
    completed = run_convert(str(tmp_path / "vectors.txt"), "--from", "word2vec-txt", "--output", str(tmp_path / "m"),
                            "--overwrite")  # fmt: skip
    assert "--overwrite is for --to (a vector file)" in one_line_error(completed)
    assert not (tmp_path / "m").exists()


def test_an_interrupted_export_leaves_the_old_file_and_no_temporary(trained, tmp_path, monkeypatch):
    from word2vec_hub.conversion.convert import export_word2vec_format

    existing = tmp_path / "vectors.bin"
    existing.write_bytes(b"old")
    model = trained.model

    def write_half_then_fail(path, binary=False):
        with open(path, "wb") as handle:
            handle.write(b"10 32\nthe ")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save_word2vec_format", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        export_word2vec_format(model, existing, binary=True, overwrite=True)
    assert existing.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["vectors.bin"]
    with pytest.raises(OutputError, match="is a folder; choose a file path"):
        export_word2vec_format(model, tmp_path, binary=True, overwrite=True)
    with pytest.raises(OutputError, match="/dev/null is not a regular file, so it is not replaced"):
        export_word2vec_format(model, "/dev/null", binary=True, overwrite=True)


def test_a_full_disk_during_conversion_names_the_free_space_and_keeps_the_folder(trained_folder, tmp_path, monkeypatch):
    from word2vec_hub.folders import model_folder

    output = tmp_path / "model"
    shutil.copytree(trained_folder, output)
    before = {path.name: path.read_bytes() for path in output.iterdir()}
    (tmp_path / "vectors.txt").write_text("apple 1.0 0.5\npear 0.9 0.4\n")

    def disk_full(*arguments, **keywords):
        raise OSError(errno.ENOSPC, "No space left on device")

    # Imported by the conversion when it gets there (after the vectors are written), so patched where it lives.
    monkeypatch.setattr(model_folder, "save_config_and_code", disk_full)
    with pytest.raises(OutputError, match=r"cannot save .*the disk is full \(.* free of .*\); nothing was saved"):
        convert_vector_file(tmp_path / "vectors.txt", "glove", output)
    assert {path.name: path.read_bytes() for path in output.iterdir()} == before
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []
