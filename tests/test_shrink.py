"""Smaller folders: tables stored as float16, bfloat16 or int8, the most frequent words only, PCA to fewer
dimensions; each folder loads in our model, transformers with remote code, sentence-transformers and model2vec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer, models

from word2vec_hub.conversion import formats
from word2vec_hub.conversion.convert import export_word2vec_format
from word2vec_hub.conversion.shrink import shrink_model, shrink_model_folder
from word2vec_hub.folders.model_folder import save_model_folder, weights_bytes
from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.modeling import modeling_word2vec as modeling_module
from word2vec_hub.tokenization.word_level import wrap_tokenizer
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import TextCorpus
from word2vec_hub.training.trainer import train_word2vec

from .conftest import WITHOUT_OUR_PACKAGES, handmade_model, one_line_error

SENTENCES = ["a3 b3 t3_1", "w1 w2 w3 a7", "t5_0 w9"]
# A value's relative rounding error: half a unit in the last place of float16's 11 and bfloat16's 8 significant bits.
RELATIVE_PRECISION = {"float16": 2.0**-11, "bfloat16": 2.0**-8}


@pytest.fixture(scope="module")
def head_free(trained):
    """The trained model without its skip-gram head, as int8 needs it."""
    return shrink_model(trained.model)


@pytest.mark.parametrize("table_dtype", ["float16", "bfloat16"])
def test_a_half_precision_folder_round_trips_within_its_precision_and_keeps_the_head(trained, tmp_path, table_dtype):
    model = trained.model
    model.save_pretrained(tmp_path, table_dtype=table_dtype)
    stored = load_file(tmp_path / "model.safetensors")
    assert stored["embeddings"].dtype == stored["context"].dtype == getattr(torch, table_dtype)
    loaded = Word2VecModel.from_pretrained(tmp_path)
    assert loaded.embeddings.dtype == torch.float32 and loaded.config.table_dtype == table_dtype
    for name in ("embeddings", "context"):
        original = getattr(model, name).detach()
        error = (getattr(loaded, name).detach() - original).abs()
        # Below the smallest normal number the spacing stops shrinking: subnormals have a fixed absolute precision.
        smallest_normal = torch.finfo(getattr(torch, table_dtype)).smallest_normal
        assert torch.all(error <= (original.abs() + smallest_normal) * RELATIVE_PRECISION[table_dtype])
        assert error.max() > 0  # stored in fewer bits, not as float32
    assert torch.equal(loaded.counts, model.counts)
    assert model.config.table_dtype == table_dtype  # the config written says what the file holds


def test_an_int8_folder_is_within_half_a_row_scale_of_each_value_and_its_cosines_within_their_bound(
    head_free, tmp_path
):
    save_model_folder(head_free, head_free.tokenizer, tmp_path, table_dtype="int8")
    stored = load_file(tmp_path / "model.safetensors")
    assert stored["embeddings"].dtype == torch.int8 and stored["weights"].dtype == torch.float32
    original = head_free.embeddings.detach()
    row_scales = original.abs().amax(1) / 127
    loaded, loading_info = Word2VecModel.from_pretrained(tmp_path, output_loading_info=True)
    # What push checks before sharing: every tensor found, none left over.
    assert not loading_info["missing_keys"] and not loading_info["unexpected_keys"]
    error = (loaded.embeddings.detach() - original).abs()
    assert torch.all(error <= row_scales[:, None] / 2 * (1 + 1e-5) + 1e-12)
    assert error.max() > 0
    assert torch.equal(loaded.embeddings[:2], torch.zeros(2, original.shape[1]))  # [PAD] and [UNK] stay zero
    assert "weights" not in loaded.state_dict()  # multiplied in, then dropped
    # Each unit vector moves by at most twice its row's relative error, so each cosine by at most 4x the largest
    # (a nearest neighbour may swap with one as near: in this model a3's three nearest lie within 0.001).
    nonzero = original.norm(dim=1) > 0
    bound = 4 * float((error.norm(dim=1)[nonzero] / original.norm(dim=1)[nonzero]).max())
    assert bound < 0.1
    for word, cosine in head_free.most_similar("a3", topn=20):
        assert abs(loaded.similarity("a3", word) - cosine) <= bound, word


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_an_int8_folder_loads_in_the_dtype_asked_for(head_free, tmp_path, dtype):
    head_free.save_pretrained(tmp_path, table_dtype="int8")
    loaded = Word2VecModel.from_pretrained(tmp_path, dtype=dtype)
    in_float32 = Word2VecModel.from_pretrained(tmp_path).embeddings.detach()
    assert loaded.embeddings.dtype == dtype
    # One rounding, from the float32 product: not the int8 values, nor a product computed in the low precision.
    torch.testing.assert_close(loaded.embeddings.detach(), in_float32.to(dtype), rtol=0, atol=0)


def test_weights_bytes_counts_what_each_dtype_stores(head_free, tmp_path):
    for table_dtype in ("float32", "float16", "int8"):
        head_free.save_pretrained(tmp_path / table_dtype, table_dtype=table_dtype)
        tensors = load_file(tmp_path / table_dtype / "model.safetensors")
        assert weights_bytes(head_free, table_dtype) == sum(t.numel() * t.element_size() for t in tensors.values())


def test_int8_refuses_a_model_with_its_skip_gram_head(trained, tmp_path):
    with pytest.raises(ValueError, match=r"int8 stores the word vectors only.*drop_context_vectors"):
        trained.model.save_pretrained(tmp_path / "out", table_dtype="int8")
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_int8_refuses_a_row_holding_nan():
    model = handmade_model({"x": [1.0, 2.0], "y": [float("nan"), 0.0]}, with_context=False)
    with pytest.raises(ValueError, match="row 3 of the table holds NaN or inf"):
        modeling_module.quantize_rows(model.embeddings.detach())


def test_an_unknown_table_dtype_is_refused(head_free, tmp_path):
    with pytest.raises(ValueError, match="table_dtype must be one of float32, float16, bfloat16, int8"):
        head_free.save_pretrained(tmp_path, table_dtype="int4")


def test_the_command_line_knows_the_dtypes_the_model_stores():
    assert formats.TABLE_DTYPES == modeling_module.TABLE_DTYPES


def test_pruning_keeps_the_most_frequent_words_their_vectors_counts_and_a_tokenizer_in_step(trained):
    model = trained.model
    shrunk = shrink_model(model, max_vocab=20)
    ranked = sorted(model.word_ids(), key=lambda row: -int(model.counts[row]))
    kept = {model.index_to_key[row] for row in ranked[:20]}
    assert set(shrunk.index_to_key[2:]) == kept and shrunk.config.vocab_size == 22
    assert shrunk.index_to_key[:2] == ["[PAD]", "[UNK]"]
    for word in kept:
        old, new = model.key_to_index[word], shrunk.key_to_index[word]
        assert torch.equal(shrunk.embeddings[new], model.embeddings[old])
        assert shrunk.counts[new] == model.counts[old]
    dropped = model.index_to_key[ranked[-1]]
    encoded = shrunk.tokenizer(f"{shrunk.index_to_key[5]} {dropped}")["input_ids"]
    assert encoded == [5, shrunk.config.unk_token_id]
    assert shrunk.context is None and shrunk.config.shrink["max_vocab"] == 20


def test_pruning_ranks_by_counts_not_by_rows():
    model = handmade_model({"rare": [1.0, 0.0], "common": [0.0, 1.0], "middle": [1.0, 1.0]})
    model.counts[2:] = torch.tensor([1, 50, 7])
    shrunk = shrink_model(model, max_vocab=2)
    assert list(shrunk.index_to_key) == ["[PAD]", "[UNK]", "common", "middle"]
    assert shrunk.get_vector("middle").tolist() == [1.0, 1.0]


def test_a_model_trained_with_hierarchical_softmax_shrinks_to_a_folder_of_vectors(planted_lines, tmp_path):
    args = TrainingArguments(dim=16, epochs=1, hs=True, negative=0, seed=3, progress=False, device="cpu")
    model = train_word2vec(TextCorpus.from_text("\n".join(planted_lines[:2000]), name="planted"), args).model
    shrunk = shrink_model(model, max_vocab=20)
    folder = save_model_folder(shrunk, shrunk.tokenizer, tmp_path / "shrunk")
    reloaded = Word2VecModel.from_pretrained(folder)
    assert reloaded.nodes is None and not reloaded.config.hs
    assert set(load_file(folder / "model.safetensors")) == {"embeddings", "counts"}
    torch.testing.assert_close(reloaded.embeddings[2:], model.embeddings[torch.tensor(model.word_ids()[:20])])


def test_a_pruned_folder_loads_with_its_renumbered_tokenizer(trained, tmp_path):
    shrunk = shrink_model(trained.model, max_vocab=30)
    save_model_folder(shrunk, shrunk.tokenizer, tmp_path / "small")
    loaded = Word2VecModel.from_pretrained(tmp_path / "small")
    assert list(loaded.index_to_key) == list(shrunk.index_to_key)
    word = shrunk.index_to_key[17]
    assert loaded.tokenizer(word)["input_ids"] == [17]
    assert torch.equal(loaded.get_vector(word), trained.model.get_vector(word))


def test_pca_matches_scikit_learn_and_records_what_it_kept(trained):
    decomposition = pytest.importorskip("sklearn.decomposition", reason="scikit-learn not installed")
    model = trained.model
    shrunk = shrink_model(model, pca_dims=8)
    assert shrunk.config.hidden_size == 8 and shrunk.embeddings.shape == (model.config.vocab_size, 8)
    words = model.embeddings.detach()[2:].double().numpy()
    reference = decomposition.PCA(n_components=8, svd_solver="full").fit(words)
    ours = shrunk.embeddings.detach()[2:].double().numpy()
    theirs = reference.transform(words)
    np.testing.assert_allclose(np.abs(ours), np.abs(theirs), atol=1e-4)
    assert shrunk.config.shrink["pca_variance_kept"] == pytest.approx(reference.explained_variance_ratio_.sum())
    assert torch.equal(shrunk.embeddings[:2], torch.zeros(2, 8))
    assert shrunk.context is None and not shrunk.config.has_context_vectors


@pytest.mark.parametrize(("pca_dims", "message"), [(32, "not fewer than the vectors' 32"), (0, "1 or more")])
def test_pca_dims_the_table_cannot_have_are_refused(trained, pca_dims, message):
    with pytest.raises(ValueError, match=message):
        shrink_model(trained.model, pca_dims=pca_dims)


def test_the_card_states_dtype_pruning_and_pca(trained_folder, tmp_path):
    shrink_model_folder(trained_folder, tmp_path / "small", table_dtype="int8", max_vocab=25, pca_dims=10)
    card = (tmp_path / "small" / "README.md").read_text()
    assert "## Size" in card and "stored as int8 with a float32 scale a row" in card
    assert "Only the 25 most frequent words of the" in card
    assert "from 32 to 10 dimensions" in card
    assert "output layers were left out when the folder was made smaller" in card
    full_card = (trained_folder / "README.md").read_text()
    assert "## Size" not in full_card


@pytest.mark.parametrize("table_dtype", ["float16", "bfloat16", "int8"])
def test_sentence_transformers_and_model2vec_read_what_the_card_says_they_read(trained_folder, tmp_path, table_dtype):
    sentence_transformers = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    model2vec = pytest.importorskip("model2vec", reason="model2vec not installed")
    folder = tmp_path / table_dtype
    shrink_model_folder(trained_folder, folder, table_dtype=table_dtype)
    ours = Word2VecModel.from_pretrained(folder).encode(SENTENCES).numpy()
    tolerance = {"float16": 1e-3, "bfloat16": 1e-2, "int8": 1e-6}[table_dtype]
    theirs = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(SENTENCES)
    np.testing.assert_allclose(theirs.astype(np.float32), ours, atol=tolerance * np.abs(ours).max())
    card = (folder / "README.md").read_text()
    if table_dtype == "bfloat16":
        assert "model2vec cannot read it" in card
        with pytest.raises(TypeError, match="bfloat16"):
            model2vec.StaticModel.from_pretrained(str(folder))
        return
    static = model2vec.StaticModel.from_pretrained(str(folder)).encode(SENTENCES)
    np.testing.assert_allclose(static.astype(np.float32), ours, atol=tolerance * np.abs(ours).max())


REMOTE_CODE_SCRIPT = WITHOUT_OUR_PACKAGES + textwrap.dedent(
    """
    import json

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
    print(json.dumps({"dtype": str(model.embeddings.dtype), "table": model.embeddings.tolist(),
                      "neighbour": model.most_similar(sys.argv[2], topn=1)[0][0]}))
    """
)


def test_a_shrunk_int8_folder_loads_in_transformers_with_remote_code_in_a_fresh_process(trained_folder, tmp_path):
    folder = tmp_path / "small"
    shrink_model_folder(trained_folder, folder, table_dtype="int8", max_vocab=30, pca_dims=12)
    local = Word2VecModel.from_pretrained(folder)
    word = local.index_to_key[2]
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HOME": str(tmp_path / "home")}
    completed = subprocess.run(
        [sys.executable, "-c", REMOTE_CODE_SCRIPT, str(folder), word],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["dtype"] == "torch.float32"
    assert torch.equal(torch.tensor(report["table"]), local.embeddings.detach())
    assert report["neighbour"] == local.most_similar(word, topn=1)[0][0]


def run_command(*arguments: str, cwd: Path) -> tuple[subprocess.CompletedProcess, bool]:
    """`word2vec ARGUMENTS` in a fresh process, and whether it imported torch."""
    script = (
        "import sys\nfrom word2vec_hub.cli import run_command\ncode = run_command(sys.argv[1:])\n"
        "print('torch imported:', 'torch' in sys.modules)\nsys.exit(code)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, *arguments], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    return completed, "torch imported: True" in completed.stdout


def test_convert_to_folder_writes_a_smaller_folder_that_loads(trained_folder, tmp_path):
    completed, _ = run_command(
        "convert", str(trained_folder), "--to", "folder", "--output", "small", "--dtype", "int8",
        "--max-vocab", "30", "--pca-dims", "12", cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "saved 30 of" in completed.stdout and "12 of 32 dimensions, as int8" in completed.stdout
    small = Word2VecModel.from_pretrained(tmp_path / "small")
    assert small.config.vocab_size == 32 and small.config.hidden_size == 12
    full_bytes = (trained_folder / "model.safetensors").stat().st_size
    assert (tmp_path / "small" / "model.safetensors").stat().st_size < full_bytes / 8


def test_convert_from_a_vector_file_to_int8_leaves_no_float32_folder_behind(trained, tmp_path):
    export_word2vec_format(trained.model, tmp_path / "vectors.bin", binary=True)
    completed, _ = run_command(
        "convert", "vectors.bin", "--from", "word2vec-bin", "--output", "small", "--dtype", "int8", cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["small", "vectors.bin"]
    small = Word2VecModel.from_pretrained(tmp_path / "small")
    assert small.config.table_dtype == "int8"
    assert load_file(tmp_path / "small" / "model.safetensors")["embeddings"].dtype == torch.int8
    assert "converted from a vector file" in (tmp_path / "small" / "README.md").read_text()


@pytest.mark.parametrize(
    ("arguments", "message", "before_torch"),
    [
        (("train", "--corpus", "corpus.txt", "--dtype", "int8"), "--dtype int8 is for sharing a finished model", True),
        (("convert", "{model}", "--to", "word2vec-bin", "--dtype", "int8"), "pass --to folder", True),
        (("convert", "{model}", "--to", "folder", "--pca-dims", "0"), "--pca-dims must be 1 or more", True),
        (("convert", "{model}", "--to", "folder", "--max-vocab", "0"), "--max-vocab must be 1 or more", True),
        (("convert", "{model}", "--to", "folder", "--overwrite"), "--overwrite is for a vector file", True),
        (("convert", "{model}", "--to", "folder", "--pca-dims", "40"), "not fewer than the vectors' 32", False),
    ],
)
def test_bad_shrink_options_are_one_error_line_and_write_nothing(
    trained_folder, tmp_path, arguments, message, before_torch
):
    (tmp_path / "corpus.txt").write_text("a b c\n")
    filled = [argument.format(model=trained_folder) for argument in arguments]
    completed, imported_torch = run_command(*filled, "--output", "out", cwd=tmp_path)
    assert message in one_line_error(completed)
    assert imported_torch != before_torch
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus.txt"]


def test_shrinking_a_folder_into_itself_is_refused(trained_folder, tmp_path):
    before = sorted(path.name for path in trained_folder.iterdir())
    completed, _ = run_command(
        "convert", str(trained_folder), "--to", "folder", "--output", str(trained_folder), "--dtype", "int8",
        cwd=tmp_path,
    )  # fmt: skip
    assert "is the model folder itself" in one_line_error(completed)
    assert sorted(path.name for path in trained_folder.iterdir()) == before
    assert load_file(trained_folder / "model.safetensors")["embeddings"].dtype == torch.float32


def test_pruning_a_segmenting_unigram_vocabulary_keeps_its_pieces_and_scores():
    pieces = [("[PAD]", -20.0), ("[UNK]", 0.0), ("北京", -2.0), ("北", -5.0), ("京", -6.0), ("大学", -3.0)]
    model = handmade_model({piece: [float(row), 1.0] for row, (piece, _) in enumerate(pieces[2:])})
    model.set_tokenizer(wrap_tokenizer(Tokenizer(models.Unigram(pieces, unk_id=1, byte_fallback=False))))
    model.counts[2:] = torch.tensor([40, 3, 1, 20])
    shrunk = shrink_model(model, max_vocab=3)
    assert list(shrunk.index_to_key) == ["[PAD]", "[UNK]", "北京", "北", "大学"]
    serialized = json.loads(shrunk.tokenizer.backend_tokenizer.to_str())["model"]
    assert serialized["vocab"][4] == ["大学", -3.0] and serialized["unk_id"] == 1
    assert shrunk.tokenizer("北京大学")["input_ids"] == [2, 4]
    assert shrunk.get_vector("大学").tolist() == [3.0, 1.0]
