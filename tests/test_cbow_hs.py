"""CBOW and hierarchical softmax: the numba kernel against word2vec's update written plainly, the model's losses
against it, the Huffman tree a folder keeps, every mode learning the planted structure, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from word2vec_hub.folders.model_card import build_model_card
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import huffman_tree
from word2vec_hub.training import numba_engine
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import CorpusError, TextCorpus
from word2vec_hub.training.sampling import SamplingTables, alias_table
from word2vec_hub.training.trainer import train_word2vec, training_memory_bytes

from .conftest import exact_sigmoid, one_line_error, plain_output_update, planted_partner_hits

# Word counts of the kernel tests' vocabulary: [PAD], [UNK], then words 2..7 (a tree of 6 leaves, depths 2 to 4).
COUNTS = torch.tensor([0, 0, 40, 25, 12, 9, 5, 2])
NOISE_WORD = 7  # every negative of the kernel tests: the alias table puts all its weight there


def path_of(tree, word):
    length = int(tree.lengths[word])
    return tree.points[word, :length].tolist(), (1 - tree.codes[word, :length]).tolist()


def plain_training(sentence, embeddings, context, nodes, cbow, cbow_mean, hs, negative, rate):
    """word2vec.c's loop over one sentence with window 1, every word kept: skip-gram trains each neighbour's input
    vector to predict the word, CBOW the mean or sum of the neighbours' vectors, each of which gets the whole
    gradient. Returns how many hierarchical-softmax nodes were trained and left alone, then how many negative
    sampling rows."""
    tree = huffman_tree(COUNTS)
    counted = [0, 0, 0, 0]

    def update(hidden, word):
        # The path's nodes first, then the negatives, as gensim orders them.
        gradient = np.zeros_like(hidden)
        if hs:
            points, labels = path_of(tree, word)
            rows = [(nodes[point], label) for point, label in zip(points, labels, strict=True)]
            part, trained, skipped = plain_output_update(hidden, rows, rate)
            gradient += part
            counted[0] += trained
            counted[1] += skipped
        if negative:
            rows = [(context[word], 1.0)] + [(context[NOISE_WORD], 0.0)] * negative
            part, trained, skipped = plain_output_update(hidden, rows, rate)
            gradient += part
            counted[2] += trained
            counted[3] += skipped
        return gradient

    for i, word in enumerate(sentence):
        window = [sentence[j] for j in (i - 1, i + 1) if 0 <= j < len(sentence)]
        if cbow:
            hidden = np.sum([embeddings[other] for other in window], axis=0, dtype=np.float32)
            if cbow_mean:
                hidden /= np.float32(len(window))
            gradient = update(hidden, word)
            for other in window:
                embeddings[other] += gradient
        else:
            for other in window:
                embeddings[other] += update(embeddings[other].copy(), word)
    return counted


def run_modes_kernel(sentence, embeddings, context, nodes, cbow, cbow_mean, hs, negative, rate):
    tables = SamplingTables.from_counts(COUNTS, [0, 1], sample=0.0, ns_exponent=0.75, huffman_ties="hashed")
    paths = (
        numba_engine.flat_paths(tables.huffman_tree)
        if hs
        else (np.zeros(9, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    )
    noise = numba_engine.packed_noise_table(alias_table(np.eye(8)[NOISE_WORD]))
    return numba_engine.train_block_modes(
        np.asarray(sentence, dtype=np.int32), np.array([0, len(sentence)], np.int64), embeddings, context, nodes,
        *paths, np.ones(8, np.float32), noise, 1, negative, cbow, cbow_mean, rate, rate, 0.0, 0.0,
        np.array([1], np.uint64), 1,
    )  # fmt: skip


MODES = {
    "cbow-ns-mean": {"cbow": True, "cbow_mean": True, "hs": False, "negative": 2},
    "cbow-ns-sum": {"cbow": True, "cbow_mean": False, "hs": False, "negative": 2},
    "skipgram-hs": {"cbow": False, "cbow_mean": True, "hs": True, "negative": 0},
    "cbow-hs": {"cbow": True, "cbow_mean": True, "hs": True, "negative": 0},
    "skipgram-hs-ns": {"cbow": False, "cbow_mean": True, "hs": True, "negative": 2},
    "cbow-hs-ns": {"cbow": True, "cbow_mean": False, "hs": True, "negative": 1},
}


@pytest.mark.parametrize("mode", MODES)
def test_kernel_applies_word2vec_updates_example_by_example(mode):
    settings = MODES[mode]
    rng = np.random.default_rng(0)
    # Large enough that some output rows saturate (|score| >= 6) and are left alone, as word2vec leaves them.
    embeddings = rng.normal(0, 1.2, (8, 8)).astype(np.float32)
    context = rng.normal(0, 1.6, (8, 8)).astype(np.float32)
    nodes = rng.normal(0, 1.2, (7, 8)).astype(np.float32)
    expected = [table.copy() for table in (embeddings, context, nodes)]
    sentence = [2, 5, 3, 6, 2, 4]
    results = run_modes_kernel(sentence, embeddings, context, nodes, rate=0.1, **settings)
    nodes_trained, nodes_skipped, rows_trained, rows_skipped = plain_training(sentence, *expected, rate=0.1, **settings)
    for name, table, reference in zip(
        ("embeddings", "context", "nodes"), (embeddings, context, nodes), expected, strict=True
    ):
        np.testing.assert_allclose(table, reference, rtol=1e-4, atol=1e-5, err_msg=name)
    if settings["hs"]:
        assert nodes_trained > 0 and nodes_skipped > 0, "the sentence exercises both sides of the saturation rule"
    if settings["negative"]:
        assert rows_trained > 0 and rows_skipped > 0, "the sentence exercises both sides of the saturation rule"
    examples = len(sentence) if settings["cbow"] else 2 * (len(sentence) - 1)
    assert results[0, 2] == examples


def test_flat_paths_are_the_trees_paths_word_after_word():
    tree = huffman_tree(COUNTS)
    path_starts, path_nodes, path_labels = numba_engine.flat_paths(tree)
    assert path_starts.tolist() == [0, *np.cumsum(tree.lengths.numpy()).tolist()]
    for word in range(8):
        points, labels = path_of(tree, word)
        span = slice(path_starts[word], path_starts[word + 1])
        assert path_nodes[span].tolist() == points and path_labels[span].tolist() == labels
    assert path_nodes.flags.c_contiguous and path_nodes.dtype == np.int32


def model_with_random_tables(hs: bool, cbow_mean: bool = True) -> Word2VecModel:
    config = Word2VecConfig(vocab_size=8, hidden_size=6, architecture="cbow", hs=hs, cbow_mean=cbow_mean)
    model = Word2VecModel(config)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model.counts.copy_(COUNTS)
        for table in (model.embeddings, model.context, *([model.nodes] if hs else [])):
            table.copy_(torch.randn(table.shape, generator=generator) * 0.4)
    return model


@pytest.mark.parametrize(
    ("loss_name", "cbow_mean"),
    [
        ("cbow_loss", True),
        ("cbow_loss", False),
        ("skipgram_hs_loss", True),
        ("cbow_hs_loss", True),
        ("cbow_hs_loss", False),
    ],
)
def test_each_losss_gradient_is_the_kernels_update(loss_name, cbow_mean):
    """One example: the loss's gradient step is word2vec's update, except that CBOW gives every window row the
    gradient of its combined input (the window's size times the mean's gradient)."""
    model = model_with_random_tables(hs=loss_name != "cbow_loss", cbow_mean=cbow_mean)
    rate, window, center = 0.05, [3, 6], 4
    if loss_name == "cbow_loss":
        loss = model.cbow_loss(torch.tensor([window]), torch.tensor([center]), torch.tensor([[NOISE_WORD]]))
    elif loss_name == "skipgram_hs_loss":
        window = [3]
        loss = model.skipgram_hs_loss(torch.tensor(window), torch.tensor([center]))
    else:
        loss = model.cbow_hs_loss(torch.tensor([window]), torch.tensor([center]))
    loss.backward()
    embeddings, context = model.embeddings.detach().numpy().copy(), model.context.detach().numpy().copy()
    nodes = model.nodes.detach().numpy().copy() if model.nodes is not None else np.zeros((7, 6), np.float32)
    hidden = embeddings[window].sum(0) / (len(window) if cbow_mean else 1)
    if loss_name == "cbow_loss":
        rows = [(context[center], 1.0), (context[NOISE_WORD], 0.0)]
        output, grad = context, model.context.grad
    else:
        points, labels = path_of(model.huffman_tree(), center)
        rows = [(nodes[point], label) for point, label in zip(points, labels, strict=True)]
        output, grad = nodes, model.nodes.grad
    before = output.copy()
    # The update with the exact sigmoid: negative sampling's table approximates it to within 0.003.
    gradient, _, skipped = plain_output_update(hidden, rows, rate, sigmoid=exact_sigmoid)
    assert skipped == 0, "scores stay in the range where the update is the gradient"
    np.testing.assert_allclose(-rate * grad.numpy(), output - before, rtol=1e-4, atol=1e-7)
    # Every window row gets `gradient`; the loss's gradient for each is that over the window's size (mean).
    scale = len(window) if cbow_mean else 1
    for row in window:
        np.testing.assert_allclose(-rate * scale * model.embeddings.grad[row].numpy(), gradient, rtol=1e-4, atol=1e-7)


def test_the_huffman_tree_leaves_out_the_special_tokens_and_follows_the_counts():
    model = model_with_random_tables(hs=True)
    tree = model.huffman_tree()
    assert tree.lengths[:2].tolist() == [0, 0]
    assert torch.equal(tree.lengths, huffman_tree(COUNTS).lengths)
    with torch.no_grad():
        model.counts[7] = 1000  # the rarest word becomes the most frequent: the cached tree is rebuilt
    assert model.huffman_tree().lengths[7] < tree.lengths[7]
    with pytest.raises(ValueError, match="word id 1 has no count"):
        model.skipgram_hs_loss(torch.tensor([2]), torch.tensor([1]))


def test_cbow_on_the_mean_starts_at_word2vecs_learning_rate_unless_alpha_is_given():
    assert TrainingArguments(cbow=True).alpha == 0.05
    assert TrainingArguments().alpha == TrainingArguments(hs=True, negative=0).alpha == 0.025
    # The sum of the window (gensim's cbow_mean=0) is no word2vec mode: gensim's rate.
    assert TrainingArguments(cbow=True, cbow_mean=False).alpha == 0.025
    assert TrainingArguments(cbow=True, alpha=0.01).alpha == 0.01


PLANTED_MODES = {
    "cbow-ns": {"cbow": True},
    "cbow-ns-sum": {"cbow": True, "cbow_mean": False, "alpha": 0.005},
    "skipgram-hs": {"hs": True, "negative": 0},
    "cbow-hs": {"cbow": True, "hs": True, "negative": 0},
    "skipgram-hs-ns": {"hs": True},
}


@pytest.fixture(scope="module")
def planted_runs(planted_lines):
    corpus = TextCorpus.from_text("\n".join(planted_lines), name="planted")
    runs = {}
    for mode, settings in PLANTED_MODES.items():
        args = TrainingArguments(dim=32, epochs=5, seed=3, progress=False, device="cpu", workers=2, **settings)
        runs[mode] = train_word2vec(corpus, args)
    return runs


@pytest.mark.parametrize("mode", PLANTED_MODES)
def test_every_mode_learns_the_planted_structure(planted_runs, mode):
    result = planted_runs[mode]
    assert planted_partner_hits(result.model) >= 18
    losses = [record["loss"] for record in result.history]
    assert losses[-1] < losses[0], losses
    model = result.model
    assert (model.context is not None) == (PLANTED_MODES[mode].get("negative", 5) > 0)
    assert (model.nodes is not None) == PLANTED_MODES[mode].get("hs", False)


def test_a_saved_folder_keeps_the_nodes_and_reloads_to_the_same_tree(planted_runs, tmp_path):
    result = planted_runs["cbow-hs"]
    folder = save_model_folder(result.model, result.tokenizer, tmp_path / "cbow-hs")
    with safe_open(folder / "model.safetensors", "pt") as weights:
        assert set(weights.keys()) == {"embeddings", "nodes", "counts"}
        assert torch.equal(weights.get_tensor("nodes"), result.model.nodes.detach())
    config = json.loads((folder / "config.json").read_text())
    assert (config["architecture"], config["hs"], config["negative"], config["has_context_vectors"]) == (
        "cbow", True, 0, False,
    )  # fmt: skip
    assert config["huffman_ties"] == "hashed"
    reloaded = Word2VecModel.from_pretrained(folder)
    tree, trained_tree = (
        reloaded.huffman_tree(),
        SamplingTables.from_counts(
            result.model.counts, [0, 1], 1e-3, 0.75, huffman_ties=result.model.config.huffman_ties
        ).huffman_tree,
    )
    for name in ("codes", "points", "lengths"):
        assert torch.equal(getattr(tree, name), getattr(trained_tree, name)), name
    card = (folder / "README.md").read_text()
    assert "Architecture: CBOW (the mean of each window's vectors) with hierarchical softmax." in card
    assert "hierarchical softmax's inner-node vectors (`nodes`" in card and "(`context`)" not in card


def old_release_folder(result, folder):
    """`result`'s model saved as releases before `huffman_ties` wrote it: the key absent, the tree of ids in order
    (the nodes are the trained ones; what matters is which tree the folder is read with)."""
    save_model_folder(result.model, result.tokenizer, folder)
    config = json.loads((folder / "config.json").read_text())
    del config["huffman_ties"]
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def trained_counts(model):
    counts = model.counts.detach().clone()
    counts[[0, 1]] = 0
    return counts


def trees_trained_on(monkeypatch) -> list:
    """The Huffman trees the numba engine is given from now on, as they are given."""
    trees = []
    flat_paths = numba_engine.flat_paths
    monkeypatch.setattr(numba_engine, "flat_paths", lambda tree: trees.append(tree) or flat_paths(tree))
    return trees


def test_a_folder_saved_before_the_tie_rule_was_recorded_reloads_to_the_tree_of_ids_in_order(planted_runs, tmp_path):
    result = planted_runs["cbow-hs"]
    counts = trained_counts(result.model)
    by_id, hashed = huffman_tree(counts, "id"), huffman_tree(counts, "hashed")
    assert not torch.equal(by_id.points, hashed.points), "the fixture's counts must tell the two rules apart"
    reloaded = Word2VecModel.from_pretrained(old_release_folder(result, tmp_path / "old"))
    assert reloaded.config.huffman_ties == "id"
    assert torch.equal(reloaded.huffman_tree().points, by_id.points)
    assert torch.equal(reloaded.huffman_tree().codes, by_id.codes)


def test_init_from_an_old_folder_trains_on_the_tree_it_was_trained_on(
    planted_runs, planted_lines, tmp_path, monkeypatch
):
    result = planted_runs["cbow-hs"]
    folder = old_release_folder(result, tmp_path / "old")
    trees = trees_trained_on(monkeypatch)
    corpus = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="more")
    args = TrainingArguments(dim=32, epochs=1, progress=False, device="cpu", cbow=True, hs=True, negative=0)
    continued = train_word2vec(corpus, args, init_from=folder).model
    assert continued.config.huffman_ties == "id"
    expected = huffman_tree(trained_counts(continued), "id")
    assert trees and all(torch.equal(tree.points, expected.points) for tree in trees)


def test_the_card_names_both_output_layers(planted_runs):
    card = str(build_model_card(planted_runs["skipgram-hs-ns"].model, "alice/planted"))
    assert (
        "Word2vec word vectors: skip-gram with hierarchical softmax and negative sampling (5 noise words a pair)"
        in card
    )
    assert "| `hs` | True |" in card


def test_init_from_continues_a_model_of_the_same_kind_and_refuses_another(planted_runs, planted_lines, tmp_path):
    result = planted_runs["cbow-hs"]
    folder = save_model_folder(result.model, result.tokenizer, tmp_path / "cbow-hs")
    corpus = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="more")
    same = TrainingArguments(dim=32, epochs=1, progress=False, device="cpu", cbow=True, hs=True, negative=0)
    continued = train_word2vec(corpus, same, init_from=folder).model
    assert not torch.equal(continued.nodes, result.model.nodes), "the nodes trained on"
    with pytest.raises(CorpusError, match=r"--init-from .*: the model was trained as CBOW with hierarchical softmax, "
                       r"but this run asks for skip-gram with negative sampling; continue it with --cbow --hs "
                       r"--negative 0 \(its own\)"):  # fmt: skip
        train_word2vec(corpus, TrainingArguments(dim=32, epochs=1, progress=False, device="cpu"), init_from=folder)


@pytest.mark.parametrize("negative", [5, 0], ids=["hs-ns", "hs-alone"])
def test_resume_refuses_a_checkpoint_of_another_kind_and_resumes_its_own(
    planted_lines, tmp_path, monkeypatch, negative
):
    monkeypatch.setattr("word2vec_hub.training.epochs.BLOCK_TOKENS", 8192)
    corpus = TextCorpus.from_text("\n".join(planted_lines[:3000]), name="planted")
    kind = {"cbow": True, "hs": True, "negative": negative}
    args = TrainingArguments(dim=16, epochs=2, progress=False, device="cpu", seed=5, workers=1, **kind)
    uninterrupted = train_word2vec(corpus, args)
    checkpoint = tmp_path / "checkpoint"
    train_word2vec(corpus, args, checkpoint_dir=checkpoint, checkpoint_every=20_000)
    layers = "hierarchical softmax and negative sampling" if negative else "hierarchical softmax"
    with pytest.raises(CorpusError, match=rf"--resume .*checkpoint: the checkpoint trains CBOW with {layers}, but "
                       r"this run asks for skip-gram with negative sampling; resume with --cbow --hs"):  # fmt: skip
        train_word2vec(corpus, TrainingArguments(progress=False), resume=checkpoint)
    resumed = train_word2vec(corpus, TrainingArguments(progress=False, **kind), resume=checkpoint)
    assert (resumed.model.context is None) == (negative == 0)
    for name in ("embeddings", "nodes", *(["context"] if negative else [])):
        assert torch.equal(getattr(resumed.model, name), getattr(uninterrupted.model, name)), name


def test_resume_from_a_checkpoint_saved_before_the_tie_rule_trains_on_its_tree(planted_lines, tmp_path, monkeypatch):
    monkeypatch.setattr("word2vec_hub.training.epochs.BLOCK_TOKENS", 8192)
    corpus = TextCorpus.from_text("\n".join(planted_lines[:3000]), name="planted")
    args = TrainingArguments(dim=16, epochs=2, progress=False, device="cpu", seed=5, workers=1, cbow=True, hs=True)
    checkpoint = tmp_path / "checkpoint"
    train_word2vec(corpus, args, checkpoint_dir=checkpoint, checkpoint_every=20_000)
    config = json.loads((checkpoint / "config.json").read_text())
    del config["huffman_ties"]  # as releases before the rule was recorded wrote it
    (checkpoint / "config.json").write_text(json.dumps(config))
    trees = trees_trained_on(monkeypatch)
    resumed = train_word2vec(corpus, args, resume=checkpoint).model
    assert resumed.config.huffman_ties == "id"
    counts = trained_counts(resumed)
    by_id, hashed = huffman_tree(counts, "id"), huffman_tree(counts, "hashed")
    assert not torch.equal(by_id.points, hashed.points), "the fixture's counts must tell the two rules apart"
    assert trees and all(torch.equal(tree.points, by_id.points) for tree in trees)


def run_train_command(tmp_path, *arguments):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "train", "--no-progress", "--device", "cpu", *arguments],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip


def test_a_converted_folder_is_refused_by_init_from_hs(tmp_path, planted_lines):
    from word2vec_hub.conversion.convert import convert_vector_file

    vectors = tmp_path / "vectors.txt"
    vectors.write_text("".join(f"{word} 0.1 0.2\n" for word in ("a0", "b0", "t0_1", "w1")))
    convert_vector_file(vectors, "glove", tmp_path / "converted")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a0 b0 t0_1 w1\n" * 50)
    completed = run_train_command(
        tmp_path, "--corpus", str(corpus), "--init-from", "converted", "--hs", "--output", "out", "--dim", "2"
    )
    error = one_line_error(completed)
    assert "--init-from converted: the folder holds converted vectors without output vectors" in error
    assert "continue with negative sampling (without --hs)" in error
    # No model, checkpoint or staging folder: only what the test wrote.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["converted", "corpus.txt", "vectors.txt"]


def test_the_train_command_refuses_init_from_and_resume_of_another_kind_in_one_line_writing_nothing(
    planted_runs, planted_lines, tmp_path, monkeypatch
):
    result = planted_runs["cbow-hs"]
    save_model_folder(result.model, result.tokenizer, tmp_path / "cbow-hs")
    monkeypatch.setattr("word2vec_hub.training.epochs.BLOCK_TOKENS", 8192)
    checkpoint = tmp_path / "cbow-hs-checkpoint"
    args = TrainingArguments(dim=16, epochs=1, progress=False, device="cpu", cbow=True, hs=True, negative=0)
    corpus_text = "\n".join(planted_lines[:2000])
    train_word2vec(TextCorpus.from_text(corpus_text, "planted"), args, checkpoint_dir=checkpoint, checkpoint_every=8192)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(corpus_text + "\n")
    before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    completed = run_train_command(tmp_path, "--corpus", "corpus.txt", "--init-from", "cbow-hs", "--output", "out")
    error = one_line_error(completed)
    assert "--init-from cbow-hs: the model was trained as CBOW with hierarchical softmax" in error
    assert "continue it with --cbow --hs --negative 0" in error
    completed = run_train_command(tmp_path, "--corpus", "corpus.txt", "--resume", checkpoint.name, "--output", "out")
    error = one_line_error(completed)
    assert f"--resume {checkpoint.name}" in error and "resume with --cbow --hs" in error, error
    # Nothing written beside the folders, nothing in them changed.
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == before


def test_the_torch_engine_trains_cbow_with_both_output_layers_through_the_trainer(planted_lines):
    corpus = TextCorpus.from_text("\n".join(planted_lines), name="planted")
    args = TrainingArguments(dim=32, epochs=5, seed=3, progress=False, device="cpu", backend="torch", cbow=True,
                             hs=True, batch_size=256)  # fmt: skip
    result = train_word2vec(corpus, args)
    assert planted_partner_hits(result.model) >= 16
    assert result.model.context is not None and result.model.nodes is not None
    assert result.model.nodes.detach().abs().sum() > 0 and result.model.context.detach().abs().sum() > 0


def test_the_memory_estimate_counts_the_tables_each_mode_trains():
    table = 1000 * 100 * 4
    base = training_memory_bytes(1000, 100, "numba")
    assert training_memory_bytes(1000, 100, "numba", negative=0, hs=True) == base
    assert training_memory_bytes(1000, 100, "numba", negative=5, hs=True) == base + table
    assert training_memory_bytes(1000, 100, "torch", negative=0, hs=True) == base + table


def test_a_model_with_hierarchical_softmax_keeps_one_node_row_fewer_than_words():
    model = Word2VecModel(Word2VecConfig(vocab_size=10, hidden_size=4, hs=True, has_context_vectors=False))
    assert model.nodes.shape == (9, 4) and not model.nodes.detach().any(), "word2vec starts the nodes at zero"
    assert model.context is None
    model.resize_token_embeddings(12)
    assert model.nodes.shape == (11, 4)
    with pytest.raises(RuntimeError, match=r"no context vectors .* hierarchical softmax alone"):
        model.cbow_loss(torch.tensor([[2, 3]]), torch.tensor([4]), torch.tensor([[5]]))


@pytest.mark.parametrize("mode", ["skipgram-ns", "cbow-hs-ns", "skipgram-hs"])
def test_one_worker_with_hot_rows_trains_as_without(mode):
    """A worker's copies of the hot output rows, merged every MERGE_EVERY tokens and at the end, change nothing
    where no other worker writes the tables: every read and write of a hot row went to the copy and came back."""
    vocab, dim = 40, 8
    rng = np.random.default_rng(1)
    ids = rng.integers(2, vocab, 3 * numba_engine.MERGE_EVERY).astype(np.int32)
    sentence_starts = np.arange(0, ids.shape[0] + 1, 50, dtype=np.int64)
    sentence_starts[-1] = ids.shape[0]
    counts = torch.tensor([0, 0, *range(vocab, 2, -1)])
    tables = SamplingTables.from_counts(counts, [0, 1], sample=0.0, ns_exponent=0.75, huffman_ties="hashed")
    cbow, hs, negative = mode.startswith("cbow"), "hs" in mode, 0 if mode == "skipgram-hs" else 3
    embeddings = rng.normal(0, 0.3, (vocab, dim)).astype(np.float32)
    context = rng.normal(0, 0.3, (vocab, dim)).astype(np.float32)
    nodes = rng.normal(0, 0.3, (vocab - 1, dim)).astype(np.float32)
    hot_rows = np.array([2, 10, vocab - 1 - 10, 10], np.int64)
    trained = []
    for hot in (numba_engine.NO_HOT_ROWS, hot_rows):
        tables_now = [table.copy() for table in (embeddings, context, nodes)]
        common = (ids, sentence_starts, tables_now[0], tables_now[1])
        rest = (
            tables.keep_probability.float().numpy(),
            numba_engine.packed_noise_table(tables.noise_alias_table),
            3,
            negative,
        )
        if mode == "skipgram-ns":
            numba_engine.train_block(*common, *rest, 0.05, 0.05, 0.0, 0.0, np.array([1], np.uint64), 1, hot)
        else:
            paths = numba_engine.flat_paths(tables.huffman_tree)
            numba_engine.train_block_modes(
                *common, tables_now[2], *paths, *rest, cbow, True, 0.05, 0.05, 0.0, 0.0, np.array([1], np.uint64),
                1, hot,
            )  # fmt: skip
        trained.append(tables_now)
    trained_tables = {"embeddings": slice(2, vocab)}
    if negative:
        trained_tables["context"] = slice(2, 12)  # the hot context rows
    if hs:
        trained_tables["nodes"] = slice(vocab - 11, vocab - 1)  # the hot node rows
    for name, hot_span in trained_tables.items():
        index = ("embeddings", "context", "nodes").index(name)
        without, with_hot = trained[0][index], trained[1][index]
        before = (embeddings, context, nodes)[index]
        assert not np.allclose(with_hot[hot_span], before[hot_span]), f"the hot {name} rows were trained"
        np.testing.assert_allclose(with_hot, without, rtol=1e-5, atol=1e-6, err_msg=name)


def test_merging_adds_each_workers_changes_to_the_shared_rows():
    shared = np.arange(12, dtype=np.float32).reshape(4, 3)
    start = shared.copy()
    first_copy, second_copy = shared[1:3].copy(), shared[1:3].copy()
    first_seen, second_seen = first_copy.copy(), second_copy.copy()
    first_copy += 1.0
    second_copy[0] -= 0.5
    numba_engine._merge_hot_rows(shared, first_copy, first_seen, 1)
    numba_engine._merge_hot_rows(shared, second_copy, second_seen, 1)
    expected = start.copy()
    expected[1:3] += 1.0
    expected[1] -= 0.5
    np.testing.assert_array_equal(shared, expected)
    # Each worker goes on from the rows as they were when it merged: the second saw the first's changes.
    np.testing.assert_array_equal(second_copy, expected[1:3])
    np.testing.assert_array_equal(second_seen, expected[1:3])
    np.testing.assert_array_equal(first_seen, start[1:3] + 1.0)


def test_hot_rows_are_the_root_end_of_the_tree_and_the_most_frequent_words():
    counts = np.array([0, 0, 50, 30, 20, 10, 5])
    context, nodes = np.zeros((7, 4), np.float32), np.zeros((6, 4), np.float32)
    assert numba_engine.hot_rows_of(counts, context, nodes, workers=1).tolist() == [0, 0, 0, 0]
    assert numba_engine.hot_rows_of(counts, context, nodes, workers=2).tolist() == [2, 5, 0, 6]
    no_context = np.zeros((0, 4), np.float32)
    many_nodes = np.zeros((200, 4), np.float32)
    hot = numba_engine.HOT_ROWS
    assert numba_engine.hot_rows_of(counts, no_context, many_nodes, 2).tolist() == [2, 0, 200 - hot, hot]
