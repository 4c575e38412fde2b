"""The GPU engines without a GPU: the fused Triton kernel under Triton's interpreter, the torch engine's batches.

conftest sets TRITON_INTERPRET=1 unless it is set: the Triton kernel then runs on CPU tensors, one program after
another, and its arithmetic is checked against word2vec's update written out in numpy
(conftest.word2vec_reference), and its subword kernels' against fastText's (conftest.subword_reference). On a CUDA
machine, TRITON_INTERPRET=0 runs the same tests on the compiled kernel.
"""

from __future__ import annotations

import functools
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as multiprocessing

from word2vec_hub.modeling.modeling_word2vec import huffman_tree
from word2vec_hub.training import sampling, torch_engine
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import TextCorpus
from word2vec_hub.training.devices import choose_backend, triton_interpreted
from word2vec_hub.training.distributed import Distributed
from word2vec_hub.training.trainer import train_word2vec

from .conftest import (
    SUBWORD_COUNTS,
    SUBWORD_MODES,
    assert_every_input_row_moved,
    planted_corpus,
    planted_partner_hits,
    subword_bucket,
    subword_reference,
    subword_tables,
    tiny_subword_rows,
    window_examples,
    word2vec_reference,
)

triton = pytest.importorskip("triton", reason="Triton is not installed (pip install 'word2vec-hub[gpu]')")
tl = pytest.importorskip("triton.language")
triton_engine = pytest.importorskip("word2vec_hub.training.triton_engine")

draw_noise = triton_engine.draw_noise
DEVICE = torch.device("cpu" if triton_interpreted() or not torch.cuda.is_available() else "cuda")
SMALL_PLANTED_ARGS = {
    "dim": 16, "window": 3, "epochs": 3, "min_count": 1, "sample": 0, "alpha": 0.05, "seed": 3, "progress": False,
    "device": str(DEVICE), "backend": "triton",
}  # fmt: skip


@triton.jit
def _draw_noise_kernel(seed, threshold, alias, vocab_size, draws, count, BLOCK: tl.constexpr):
    streams = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    live = streams < count
    tl.store(draws + streams, draw_noise(seed, streams, vocab_size, threshold, alias, live), mask=live)


def noise_draws(noise: triton_engine.NoiseTable, count: int, seed: int) -> np.ndarray:
    """The draws `train_pairs` makes with `seed`: draw p * negative + k is negative k of pair p."""
    draws = torch.empty(count, dtype=torch.int64, device=DEVICE)
    block = 1024
    _draw_noise_kernel[(triton.cdiv(count, block),)](
        seed, noise.threshold, noise.alias, noise.vocab_size, draws, count, BLOCK=block
    )
    return draws.cpu().numpy()


def noise_table(counts: list[int]) -> tuple[np.ndarray, triton_engine.NoiseTable]:
    probabilities = sampling.noise_distribution(torch.tensor(counts), 0.75).numpy()
    return probabilities, triton_engine.NoiseTable(*sampling.alias_table(probabilities), DEVICE)


@pytest.mark.skipif(
    DEVICE.type == "cuda",
    reason="pairs here share rows, and on a GPU the programs run concurrently: their order is the interpreter's only",
)
@pytest.mark.parametrize("group", [1, 4])
def test_kernel_applies_word2vec_updates(group):
    rng = np.random.default_rng(0)
    # Eight words, so that pairs share rows and negatives often equal the context word (which must be skipped);
    # dim 5 is not a power of two, so the kernel's padded columns must stay out of the tables.
    vocab_size, dim, negative, num_pairs = 8, 5, 3, 37
    embeddings = rng.normal(0, 0.5, (vocab_size, dim)).astype(np.float32)
    context = rng.normal(0, 0.5, (vocab_size, dim)).astype(np.float32)
    inputs = rng.integers(2, vocab_size, num_pairs)
    outputs = rng.integers(2, vocab_size, num_pairs)
    _, noise = noise_table([0, 0, 40, 3, 9, 1, 25, 7])
    seed, first_rate, last_rate = 12345, 0.05, 0.01
    negatives = noise_draws(noise, num_pairs * negative, seed).reshape(num_pairs, negative)
    assert (negatives == outputs[:, None]).any(), "the fixture must hold a negative equal to its context word"
    rates = np.linspace(first_rate, last_rate, num_pairs, dtype=np.float32).astype(np.float64)
    expected_embeddings, expected_context, _, expected_loss = word2vec_reference(
        embeddings, context, None, inputs[:, None], outputs, negatives, None, rates, group=group
    )

    embeddings_tensor = torch.tensor(embeddings, device=DEVICE)
    context_tensor = torch.tensor(context, device=DEVICE)
    loss = triton_engine.train_pairs(
        embeddings_tensor, context_tensor, torch.tensor(inputs, device=DEVICE), torch.tensor(outputs, device=DEVICE),
        noise, negative, first_rate, last_rate, seed, pairs_per_program=group,
    )  # fmt: skip
    np.testing.assert_allclose(embeddings_tensor.cpu().numpy(), expected_embeddings, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context_tensor.cpu().numpy(), expected_context, rtol=1e-5, atol=1e-6)
    assert loss.item() == pytest.approx(expected_loss, rel=1e-5)
    assert not np.allclose(embeddings_tensor.cpu().numpy(), embeddings), "the input rows moved"


# The models besides skip-gram with negative sampling: (cbow, cbow_mean, hs, negative).
MODES = {
    "skipgram-hs": (False, False, True, 0),
    "skipgram-hs-ns": (False, False, True, 3),
    "cbow-mean-ns": (True, True, False, 3),
    "cbow-sum-ns": (True, False, False, 3),
    "cbow-mean-hs": (True, True, True, 0),
    "cbow-sum-hs-ns": (True, False, True, 3),
}


@pytest.mark.skipif(
    DEVICE.type == "cuda",
    reason="examples share rows, and on a GPU the programs run concurrently: their order is the interpreter's only",
)
@pytest.mark.parametrize("group", [1, 4])
@pytest.mark.parametrize("mode", MODES)
def test_kernels_apply_word2vec_updates_in_every_mode(mode, group):
    cbow, mean, hs, negative = MODES[mode]
    rng = np.random.default_rng(0)
    # Eight words (six in the tree, whose paths are 1 to 5 nodes long), so that examples share rows and negatives
    # often equal the output word; dim 5 is not a power of two, so padded columns must stay out of the tables.
    counts = [0, 0, 40, 3, 9, 1, 25, 7]
    vocab_size, dim, window, seed, first_rate, last_rate = len(counts), 5, 2, 12345, 0.05, 0.01
    tree = huffman_tree(torch.tensor(counts))
    assert sorted(set(tree.lengths[2:].tolist())) == [1, 2, 3, 4, 5]
    embeddings = rng.normal(0, 0.5, (vocab_size, dim)).astype(np.float32)
    context = rng.normal(0, 0.5, (vocab_size, dim)).astype(np.float32) if negative else None
    nodes = rng.normal(0, 0.5, (vocab_size - 1, dim)).astype(np.float32) if hs else None
    _, noise = noise_table(counts)
    if cbow:
        # Sentences of 1 to 6 words: windows cut at their ends hold 1 to 2 * window words.
        tokens = torch.tensor(rng.integers(2, vocab_size, 40), device=DEVICE)
        sentence_ids = torch.tensor(np.repeat(np.arange(12), rng.integers(1, 7, 12))[:40], device=DEVICE)
        keep = torch.ones(vocab_size, device=DEVICE)
        windows = sampling.shuffled_windows(tokens, sentence_ids, keep, window, torch.Generator(DEVICE).manual_seed(0))
        spans = zip(windows.centers.tolist(), windows.starts.tolist(), windows.ends.tolist(), strict=True)
        inputs = [[tokens[at].item() for at in range(start, end) if at != center] for center, start, end in spans]
        assert len({len(words) for words in inputs}) >= 3, "windows of several sizes, so that mean and sum differ"
        outputs = tokens[windows.centers].cpu().numpy()
    else:
        inputs = rng.integers(2, vocab_size, (37, 1))
        outputs = rng.integers(2, vocab_size, 37)
    examples = len(outputs)
    negatives = noise_draws(noise, examples * negative, seed).reshape(examples, negative) if negative else None
    if negative:
        assert (negatives == outputs[:, None]).any(), "the fixture must hold a negative equal to its output word"
    rates = np.linspace(first_rate, last_rate, examples, dtype=np.float32).astype(np.float64)
    expected = word2vec_reference(
        embeddings, context, nodes, inputs, outputs, negatives, tree if hs else None, rates, mean, group
    )

    tables = [None if table is None else torch.tensor(table, device=DEVICE) for table in (embeddings, context, nodes)]
    softmax = triton_engine.SoftmaxTree(tree, tables[2]) if hs else None
    noise_or_none = noise if negative else None
    if cbow:
        loss = triton_engine.train_windows(
            tables[0], tables[1], windows, noise_or_none, negative, first_rate, last_rate, seed, window, mean,
            softmax=softmax, windows_per_program=group,
        )  # fmt: skip
    else:
        loss = triton_engine.train_pairs(
            tables[0], tables[1], torch.tensor(inputs[:, 0], device=DEVICE), torch.tensor(outputs, device=DEVICE),
            noise_or_none, negative, first_rate, last_rate, seed, pairs_per_program=group, softmax=softmax,
        )  # fmt: skip
    for name, table, reference in zip(("embeddings", "context", "nodes"), tables, expected[:3], strict=True):
        if reference is not None:
            np.testing.assert_allclose(table.cpu().numpy(), reference, rtol=1e-5, atol=1e-6, err_msg=name)
    assert loss.item() == pytest.approx(expected[3], rel=1e-5)
    assert not np.allclose(tables[0].cpu().numpy(), embeddings), "the input rows moved"


@pytest.mark.skipif(
    DEVICE.type == "cuda",
    reason="windows share rows, and on a GPU the programs run concurrently: their order is the interpreter's only",
)
@pytest.mark.parametrize("group", [1, 4])
@pytest.mark.parametrize("mode", SUBWORD_MODES)
def test_subword_kernels_apply_fasttexts_update(mode, group):
    """fastText's update (`conftest.subword_reference`), `group` windows a program taking each step side by side;
    a skip-gram window's pairs one after another, each moving its output rows and its input vector at once, and its
    center's rows moved by their sum after the window."""
    cbow, mean, hs, negative = SUBWORD_MODES[mode]
    window, seed, first_rate, last_rate = 2, 12345, 0.05, 0.01
    subword_rows, rows_of = tiny_subword_rows(subword_bucket(cbow))
    tables = subword_tables(negative, hs, seed=2, bucket=subword_bucket(cbow))
    rng = np.random.default_rng(0)
    # Sentences of 1 to 6 words: windows cut at their ends.
    tokens = torch.tensor(rng.integers(2, len(SUBWORD_COUNTS), 40), device=DEVICE)
    sentence_lengths = [3, 1, 6, 5, 2, 6, 4, 1, 5, 4, 3]
    sentence_ids = torch.tensor(np.repeat(np.arange(len(sentence_lengths)), sentence_lengths), device=DEVICE)
    keep = torch.ones(len(SUBWORD_COUNTS), device=DEVICE)
    windows = sampling.shuffled_windows(tokens, sentence_ids, keep, window, torch.Generator(DEVICE).manual_seed(0))
    _, noise = noise_table(SUBWORD_COUNTS)
    draws_per_window = negative * (1 if cbow else 2 * window)
    negatives = noise_draws(noise, len(windows) * draws_per_window, seed) if negative else None
    if negative:
        negatives = negatives.reshape(len(windows), negative) if cbow else negatives.reshape(len(windows), -1, negative)
    examples = window_examples(windows, window, cbow, negatives)
    if negative:
        outputs = [slot for _, slots in examples for slot in slots if slot is not None]
        assert any(word in negatives for word, negatives in outputs), "a negative equals its output word"
    rates = np.linspace(first_rate, last_rate, len(examples), dtype=np.float32).astype(np.float64)
    tree = huffman_tree(torch.tensor(SUBWORD_COUNTS))
    expected = subword_reference(tables, examples, rows_of, tree if hs else None, rates, mean, group, False)

    tensors = [None if table is None else torch.tensor(table, device=DEVICE) for table in tables]
    subwords = triton_engine.SubwordTable(tensors[1], subword_rows)
    softmax = triton_engine.SoftmaxTree(tree, tensors[3]) if hs else None
    noise_or_none = noise if negative else None
    if cbow:
        loss = triton_engine.train_windows(
            tensors[0], tensors[2], windows, noise_or_none, negative, first_rate, last_rate, seed, window, mean,
            softmax=softmax, windows_per_program=group, subwords=subwords,
        )  # fmt: skip
    else:
        loss = triton_engine.train_centers(
            tensors[0], tensors[2], windows, subwords, noise_or_none, negative, first_rate, last_rate, seed, window,
            softmax=softmax, centers_per_program=group,
        )  # fmt: skip
    for name, table, reference in zip(("embeddings", "ngrams", "context", "nodes"), tensors, expected, strict=False):
        if reference is not None:
            np.testing.assert_allclose(table.cpu().numpy(), reference, rtol=1e-5, atol=1e-6, err_msg=name)
    assert loss.item() == pytest.approx(expected[4], rel=1e-5)
    assert_every_input_row_moved(tables, [tensors[0].cpu().numpy(), tensors[1].cpu().numpy()], examples, rows_of)


@pytest.mark.parametrize(
    ("group", "one_program", "atomic"), [(1, False, True), (4, False, True), (2, True, True), (1, False, False)]
)
def test_kernel_applies_word2vec_updates_to_pairs_sharing_no_row(group, one_program, atomic, monkeypatch):
    """The compiled kernel's arithmetic on a GPU too: pairs that share no row give the same result in any order;
    also when one program loops over every chunk of pairs, and with plain stores instead of atomic adds."""
    if one_program:
        monkeypatch.setattr(triton_engine, "PAIRS_IN_FLIGHT_PER_WORD", 0)
    vocab_size, dim, negative, num_pairs = 4096, 5, 3, 9
    _, noise = noise_table([0, 0] + [1] * (vocab_size - 2))
    first_rate, last_rate = 0.05, 0.01
    for seed in range(100):
        negatives = noise_draws(noise, num_pairs * negative, seed).reshape(num_pairs, negative)
        if len(np.unique(negatives)) == negatives.size:
            break
    else:
        pytest.fail("no seed draws distinct negatives")
    free = np.setdiff1d(np.arange(2, vocab_size), negatives)
    inputs, outputs = free[:num_pairs], free[num_pairs : 2 * num_pairs]
    outputs[0] = negatives[0, 1]  # pair 0's second negative is its context word, which must be skipped
    rng = np.random.default_rng(1)
    embeddings = rng.normal(0, 0.5, (vocab_size, dim)).astype(np.float32)
    context = rng.normal(0, 0.5, (vocab_size, dim)).astype(np.float32)
    rates = np.linspace(first_rate, last_rate, num_pairs, dtype=np.float32).astype(np.float64)
    expected = word2vec_reference(embeddings, context, None, inputs[:, None], outputs, negatives, None, rates)

    tables = torch.tensor(embeddings, device=DEVICE), torch.tensor(context, device=DEVICE)
    loss = triton_engine.train_pairs(
        *tables, torch.tensor(inputs, device=DEVICE), torch.tensor(outputs, device=DEVICE), noise, negative,
        first_rate, last_rate, seed, pairs_per_program=group, atomic=atomic,
    )  # fmt: skip
    if one_program:
        assert triton_engine.launch_grid(num_pairs, group, vocab_size) == (1, 5)
    np.testing.assert_allclose(tables[0].cpu().numpy(), expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tables[1].cpu().numpy(), expected[1], rtol=1e-5, atol=1e-6)
    assert loss.item() == pytest.approx(expected[3], rel=1e-5)


def test_pairs_in_flight_are_bounded_by_the_vocabulary():
    # The programs' consecutive chunks cover every chunk of pairs, and no program is left without one.
    for num_pairs, pairs, vocab_size in [(37, 1, 8), (5_000_000, 4, 70_000), (15_000, 1024, 60), (3, 4, 10_000)]:
        programs, chunks_per_program = triton_engine.launch_grid(num_pairs, pairs, vocab_size)
        chunks = -(-num_pairs // pairs)
        assert (programs - 1) * chunks_per_program < chunks <= programs * chunks_per_program
        assert programs * pairs <= max(pairs, vocab_size * triton_engine.PAIRS_IN_FLIGHT_PER_WORD)
    # A small vocabulary trains few pairs at once; bench-en's (70,000 words, 3M pairs a block) still gets far more
    # programs than a GPU holds at once (an H200's 132 multiprocessors hold at most 16 programs of four warps each,
    # and 2 of the dim-100 kernel, whose threads hold 195 registers).
    assert triton_engine.launch_grid(15_000, 4, 60) == (15, 250)
    assert triton_engine.launch_grid(3_000_000, 4, 70_000)[0] > 5 * 132 * 16
    # A CBOW window writes window + 1 input rows on average: window + 1 times fewer windows are in flight, which on
    # bench-en is still more programs than an H200 holds at once.
    programs, _ = triton_engine.launch_grid(1_000_000, 4, 70_000, rows_per_item=6)
    assert programs * 4 * 6 <= 70_000 and programs > 132 * 16
    assert triton_engine.launch_grid(1_000_000, 4, 70_000)[0] > 5 * programs


def test_kernel_negatives_follow_the_noise_distribution():
    counts = [0, 0, 16, 81, 1, 256, 3]
    probabilities, noise = noise_table(counts)
    draws = noise_draws(noise, 200_000, seed=7)
    shares = np.bincount(draws, minlength=len(counts)) / draws.shape[0]
    np.testing.assert_allclose(shares, probabilities, atol=4e-3)
    assert shares[0] == shares[1] == 0, "special tokens are never drawn"
    other_seed = noise_draws(noise, 1000, seed=8)
    assert (other_seed != draws[:1000]).mean() > 0.3, "another seed draws other negatives"


def test_short_triton_run_learns_the_planted_pairs(monkeypatch):
    # A small planted corpus (about 5,000 words, 60 in the vocabulary), so that the interpreter takes seconds; and
    # programs of 1,024 pairs, as the interpreter pays per operation, not per pair.
    topics = 8
    lines = planted_corpus(num_pairs=topics, num_fillers=10, sentences=500)
    monkeypatch.setattr(triton_engine, "TILE_ELEMENTS", 1 << 14)
    args = TrainingArguments(**SMALL_PLANTED_ARGS)
    result = train_word2vec(TextCorpus.from_text("\n".join(lines), name="planted"), args)
    losses = [epoch["loss"] for epoch in result.history]
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.75 * losses[0], losses
    partners = 0
    for topic in range(topics):
        scores = [result.model.similarity(f"a{topic}", f"b{other}") for other in range(topics)]
        partners += max(range(topics), key=scores.__getitem__) == topic
    assert partners >= topics - 1


def planted_text(topics: int = 8) -> TextCorpus:
    return TextCorpus.from_text("\n".join(planted_corpus(num_pairs=topics, num_fillers=10, sentences=500)), "planted")


@pytest.fixture
def five_blocks_an_epoch(monkeypatch):
    """`planted_text`'s 5,000 words in blocks of 1,024, trained by programs of many pairs (the interpreter pays per
    operation, not per pair)."""
    from word2vec_hub.training import epochs

    monkeypatch.setattr(triton_engine, "TILE_ELEMENTS", 1 << 14)
    monkeypatch.setattr(epochs, "BLOCK_TOKENS", 1024)


def assert_same_tables(model, other) -> None:
    for name in ("embeddings", "context"):
        assert torch.equal(getattr(model, name), getattr(other, name)), name


def test_the_epoch_loop_launches_each_block_before_counting_the_one_before_and_trains_the_same_model(
    monkeypatch, five_blocks_an_epoch
):
    from word2vec_hub.training import engine, epochs

    events = []
    launch, result = triton_engine.TritonEngine.launch_block, engine.LaunchedBlock.result

    def recorded_launch(self, block, sentence_starts, words_done, schedule):
        events.append(("launch", words_done))
        return launch(self, block, sentence_starts, words_done, schedule)

    def recorded_result(self):
        events.append(("counted", None))
        return result(self)

    monkeypatch.setattr(triton_engine.TritonEngine, "launch_block", recorded_launch)
    monkeypatch.setattr(engine.LaunchedBlock, "result", recorded_result)
    args = TrainingArguments(**{**SMALL_PLANTED_ARGS, "epochs": 1})
    overlapped = train_word2vec(planted_text(), args).model
    blocks = sum(kind == "launch" for kind, _ in events)
    assert blocks >= 4
    # Block k + 1 is launched before block k is counted; each launch's rate is that of the words before it.
    assert [kind for kind, _ in events] == ["launch"] + ["launch", "counted"] * (blocks - 1) + ["counted"]
    starts = [words for kind, words in events if kind == "launch"]
    assert starts[0] == 0 and starts == sorted(starts) and len(set(starts)) == blocks

    monkeypatch.setattr(epochs.EpochLoop, "_may_overlap", lambda *arguments: False)
    events.clear()
    one_at_a_time = train_word2vec(planted_text(), args).model
    assert [kind for kind, _ in events] == ["launch", "counted"] * blocks
    assert [words for kind, words in events if kind == "launch"] == starts
    assert_same_tables(overlapped, one_at_a_time)


def test_a_checkpoint_taken_between_launched_blocks_resumes_to_the_uninterrupted_model(tmp_path, five_blocks_an_epoch):

    args = TrainingArguments(**{**SMALL_PLANTED_ARGS, "epochs": 2})
    uninterrupted = train_word2vec(planted_text(), args).model
    checkpoint = tmp_path / "checkpoint"
    # Every third block or so: the blocks before a checkpoint are counted, none is in flight when it is saved.
    train_word2vec(planted_text(), args, checkpoint_dir=checkpoint, checkpoint_every=3000)
    resumed = train_word2vec(planted_text(), args, resume=checkpoint).model
    assert_same_tables(resumed, uninterrupted)


def test_a_ctrl_c_while_two_blocks_train_saves_a_checkpoint_holding_both(tmp_path, monkeypatch, five_blocks_an_epoch):
    import json
    import signal

    from word2vec_hub.training import epochs

    args = TrainingArguments(**{**SMALL_PLANTED_ARGS, "epochs": 2})
    uninterrupted = train_word2vec(planted_text(), args).model
    launch, launches = triton_engine.TritonEngine.launch_block, []

    def interrupted_at_the_third_launch(self, *arguments):
        launches.append(1)
        if len(launches) == 3:  # block 1 is still to be counted
            os.kill(os.getpid(), signal.SIGINT)
        return launch(self, *arguments)

    monkeypatch.setattr(triton_engine.TritonEngine, "launch_block", interrupted_at_the_third_launch)
    with pytest.raises(epochs.TrainingInterrupted):
        train_word2vec(planted_text(), args, checkpoint_dir=tmp_path / "checkpoint")
    state = json.loads((tmp_path / "checkpoint" / "trainer_state.json").read_text())
    assert state["position"]["block"] == 3, "blocks 1 and 2, both launched, are both counted"
    monkeypatch.setattr(triton_engine.TritonEngine, "launch_block", launch)
    resumed = train_word2vec(planted_text(), args, resume=tmp_path / "checkpoint").model
    assert_same_tables(resumed, uninterrupted)


def test_auto_picks_the_triton_engine_on_cuda_only(monkeypatch):
    assert choose_backend("auto", torch.device("cpu")) == "numba"
    assert choose_backend("auto", torch.device("mps")) == "torch"
    assert choose_backend("auto", torch.device("cuda")) == "triton"
    monkeypatch.setattr("word2vec_hub.training.devices.triton_available", lambda: False)
    assert choose_backend("auto", torch.device("cuda")) == "torch"
    with pytest.raises(ValueError, match=r"pip install 'word2vec-hub\[gpu\]'"):
        choose_backend("triton", torch.device("cuda"))


def test_triton_engine_on_the_cpu_needs_the_interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="runs on CUDA"):
        choose_backend("triton", torch.device("cpu"))
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert choose_backend("triton", torch.device("cpu")) == "triton"


def test_a_frequent_rows_summed_step_is_bounded_and_a_single_update_is_word2vecs():
    embeddings = torch.zeros(7, 4)
    context = torch.zeros(7, 4)
    embeddings[2] = torch.tensor([1.0, 0, 0, 0])  # |v|^2 = 1
    embeddings[5] = torch.tensor([0, 0.5, 0, 0])
    context[4] = torch.tensor([0, 0, 0.3, 0])
    # Context row 3 is the context word of 2,000 pairs with input row 2; row 6 of one pair with input row 5.
    centers = torch.tensor([2] * 2000 + [5])
    contexts = torch.tensor([3] * 2000 + [6])
    negatives = torch.full((2001, 1), 4)
    rate = 0.025
    summed = (embeddings.clone(), context.clone())
    torch_engine.sgns_step(*summed, centers, contexts, negatives, rate, bound_steps=False)
    bounded = (embeddings.clone(), context.clone())
    torch_engine.sgns_step(*bounded, centers, contexts, negatives, rate)
    # Row 3's loss has curvature at most L = 2000 * |v|^2 / 4 along v, so its step is cut to 1 / (rate * L) of the sum.
    torch.testing.assert_close(bounded[1][3], summed[1][3] * 4 / (rate * 2000), rtol=1e-4, atol=0)
    torch.testing.assert_close(bounded[1][6], summed[1][6])
    torch.testing.assert_close(bounded[0][5], summed[0][5])
    assert not torch.equal(summed[1][6], context[6]), "the single pair moved its rows"


def test_a_frequent_window_rows_summed_step_is_bounded_and_a_single_windows_update_is_word2vecs():
    embeddings = torch.zeros(10, 4)
    context = torch.zeros(10, 4)
    embeddings[2] = torch.tensor([1.0, 0, 0, 0])
    embeddings[5] = torch.tensor([0, 0.5, 0, 0])
    embeddings[6] = torch.tensor([0, 0, 0.5, 0])
    embeddings[8] = torch.tensor([0, 0.5, 0.5, 0])
    context[3] = torch.tensor([1.0, 0, 0, 0])  # |u|^2 = 1
    context[7] = torch.tensor([0, 0, 0, 1.0])
    context[9] = torch.tensor([0, 0, 0, 0.3])
    # 2,000 windows (2, 5) predict word 3, 1,000 windows (6, 6) word 7, and one window (8, 8) word 9.
    inputs = torch.tensor([[2, 5]] * 2000 + [[6, 6]] * 1000 + [[8, 8]])
    used = torch.ones_like(inputs, dtype=torch.bool)
    outputs = torch.tensor([3] * 2000 + [7] * 1000 + [9])
    no_negatives = torch.zeros(inputs.shape[0], 0, dtype=torch.long)
    rate = 0.025
    steps = {}
    for bound in (False, True):
        tables = embeddings.clone(), context.clone()
        terms = [torch_engine.negative_sampling_terms(tables[1], outputs, no_negatives)]
        torch_engine.train_step(tables[0], inputs, used, terms, rate, mean=True, bound_steps=bound)
        steps[bound] = tables[0] - embeddings
    # Under cbow_mean a window's rows move by the whole error, the gradient of the window's loss times its size 2.
    # Along u that weighted loss curves by at most L = 2000 * (1/4) * (1/2) * |u|^2 for row 2; for row 6, which
    # enters h twice, by 1000 * (1/4) * 2^2 * (1/2) * |u|^2.
    torch.testing.assert_close(steps[True][2], steps[False][2] * 8 / (rate * 2000), rtol=1e-4, atol=0)
    torch.testing.assert_close(steps[True][6], steps[False][6] * 2 / (rate * 1000), rtol=1e-4, atol=0)
    # A word twice in a single window moves twice, as word2vec moves it, and so little that the bound leaves it.
    error = (1 - torch.sigmoid(embeddings[8] @ context[9])) * rate * context[9]
    torch.testing.assert_close(steps[True][8], 2 * error)
    torch.testing.assert_close(steps[False][8], 2 * error)


def test_large_torch_batches_no_longer_diverge(planted_lines, monkeypatch):
    # At four times the default rate, so that a batch of 16,384 pairs on this small vocabulary overshoots at once.
    corpus = TextCorpus.from_text("\n".join(planted_lines[:3000]), name="planted")
    args = TrainingArguments(
        dim=32, epochs=3, min_count=5, sample=1e-3, seed=3, progress=False, device="cpu", backend="torch",
        batch_size=16384, alpha=0.1,
    )  # fmt: skip
    result = train_word2vec(corpus, args)
    assert [epoch["loss"] for epoch in result.history] == sorted(epoch["loss"] for epoch in result.history)[::-1]
    assert result.final_loss < 2.5
    assert planted_partner_hits(result.model) >= 18
    # The fixture diverges with the plain summed step, as the engine did before the bound.
    unbounded = functools.partial(torch_engine.train_step, bound_steps=False)
    monkeypatch.setattr("word2vec_hub.training.torch_engine.train_step", unbounded)
    diverged = train_word2vec(corpus, replace(args, epochs=1))
    assert not diverged.final_loss < 10, diverged.final_loss


def train_triton_rank(rank: int, rendezvous_file: str, corpus: str, output: str) -> None:
    # A file rendezvous, as tests/test_distributed.py does: no port to pick.
    dist.init_process_group("gloo", init_method=f"file://{rendezvous_file}", rank=rank, world_size=2)
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE="2")
    distributed = Distributed.from_environment(sync_every=8192)
    try:
        args = TrainingArguments(**{**SMALL_PLANTED_ARGS, "epochs": 1})
        result = train_word2vec(TextCorpus.from_files([corpus]), args, distributed=distributed)
        tables = {"embeddings": result.model.embeddings.data, "context": result.model.context.data}
        torch.save(tables, Path(output) / f"rank{rank}.pt")
    finally:
        distributed.stop()


def test_two_gloo_ranks_train_with_the_triton_engine(tmp_path, monkeypatch):
    """The engine under torch.distributed, as torchrun runs it (one process per GPU there): tables stay equal."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(planted_corpus(num_pairs=8, num_fillers=10, sentences=500)) + "\n")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    multiprocessing.spawn(train_triton_rank, args=(str(tmp_path / "rendezvous"), str(corpus), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]
    for name in ("embeddings", "context"):
        assert torch.equal(ranks[0][name], ranks[1][name]), f"{name} differ between the ranks"
    assert ranks[0]["embeddings"].abs().sum() > 0 and ranks[0]["context"].abs().sum() > 0
