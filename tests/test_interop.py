"""The same folder in sentence-transformers, model2vec and gensim gives our vectors."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from word2vec_hub.conversion.convert import to_keyed_vectors
from word2vec_hub.modeling import Word2VecModel

SENTENCES = ["a3 b3 t3_1", "w1 w2 w3 a7", "t5_0 zzzunknown w9"]


def test_our_sentence_vector_is_the_mean_of_known_words(trained):
    model = trained.model
    vectors = model.encode(SENTENCES)
    vocab = model.key_to_index
    expected = model.embeddings.detach()[[vocab["t5_0"], vocab["w9"]]].mean(0)
    torch.testing.assert_close(vectors[2], expected)
    assert torch.equal(model.encode("nothing known here"), torch.zeros(1, 32))


def test_sentence_transformers_loads_the_folder(trained_folder):
    sentence_transformers = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    encoder = sentence_transformers.SentenceTransformer(str(trained_folder), device="cpu")
    ours = Word2VecModel.from_pretrained(trained_folder).encode(SENTENCES).numpy()
    theirs = encoder.encode(SENTENCES)
    np.testing.assert_allclose(theirs[:2], ours[:2], rtol=1e-6, atol=1e-7)
    # It averages the (zero) [UNK] row in, so a sentence with an unknown word is shorter but points the same way.
    np.testing.assert_allclose(theirs[2], ours[2] * 2 / 3, rtol=1e-6, atol=1e-7)


def test_model2vec_loads_the_folder(trained_folder):
    model2vec = pytest.importorskip("model2vec", reason="model2vec not installed")
    static = model2vec.StaticModel.from_pretrained(str(trained_folder))
    ours = Word2VecModel.from_pretrained(trained_folder).encode(SENTENCES).numpy()
    np.testing.assert_allclose(static.encode(SENTENCES), ours, rtol=1e-6, atol=1e-7)


def test_export_to_gensim_keyed_vectors(trained):
    pytest.importorskip("gensim", reason="gensim not installed")
    model = trained.model
    keyed = to_keyed_vectors(model)
    assert keyed.index_to_key == model.index_to_key[2:]
    assert np.array_equal(keyed.vectors, model.embeddings.detach()[2:].numpy())
    assert keyed.get_vecattr("a3", "count") == int(model.counts[model.key_to_index["a3"]])
    ours = model.most_similar("a3", topn=5)
    theirs = keyed.most_similar("a3", topn=5)
    assert [word for word, _ in ours] == [word for word, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)


@pytest.mark.parametrize("name", ["get_mean_vector", "rank_by_centrality", "add_vectors"])
def test_a_gensim_name_the_model_lacks_points_to_to_keyed_vectors(trained, name):
    with pytest.raises(AttributeError, match=rf"no '{name}', a name of gensim's KeyedVectors: `word2vec_hub\.to_keyed"):
        getattr(trained.model, name)


def test_any_other_missing_name_gets_the_plain_attribute_error(trained):
    with pytest.raises(AttributeError) as caught:
        trained.model.no_such_name  # noqa: B018
    assert "to_keyed_vectors" not in str(caught.value)


TOKENIZER_LOADERS = """
import sys
from model2vec import StaticModel
from sentence_transformers import SentenceTransformer
from transformers import PreTrainedTokenizerFast

folder = sys.argv[1]
assert len(PreTrainedTokenizerFast.from_pretrained(folder)("a3 b3")["input_ids"]) == 2
assert SentenceTransformer(folder, device="cpu").encode(["a3 b3"]).shape[0] == 1
assert StaticModel.from_pretrained(folder).encode(["a3 b3"]).shape[0] == 1
import word2vec_hub.modeling  # registers the word2vec model type: AutoTokenizer needs no remote code then

from transformers import AutoTokenizer

assert len(AutoTokenizer.from_pretrained(folder)("a3 b3")["input_ids"]) == 2
print("loaded")
"""


def run_with_terminal(command: list[str], timeout: float) -> str:
    """Run `command` with a pseudo-terminal as its standard input, output and error; what it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            break
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    process.kill()
    process.wait()
    os.close(controller)
    return output.decode(errors="replace")


@pytest.mark.parametrize(
    ("layout", "standard_input"), [("this release", "closed"), ("this release", "a terminal"), ("0.1.0", "a terminal")]
)
def test_the_tokenizer_loads_without_remote_code_and_never_prompts(trained_folder, layout, standard_input):
    """PreTrainedTokenizerFast, sentence-transformers and model2vec read tokenizer.json alone, and AutoTokenizer
    once word2vec_hub.modeling is imported; none asks "Do you wish to run the custom code? [y/N]" (which waits on
    a terminal, and fails with closed input)."""
    pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    pytest.importorskip("model2vec", reason="model2vec not installed")
    folder = trained_folder if layout == "this release" else Path(__file__).parent / "fixtures" / "model-0.1.0"
    command = [sys.executable, "-c", TOKENIZER_LOADERS, str(folder)]
    if standard_input == "closed":
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        output = completed.stdout + completed.stderr
    else:
        output = run_with_terminal(command, timeout=120)
    assert "[y/N]" not in output and "trust_remote_code" not in output, output
    assert "loaded" in output, output
