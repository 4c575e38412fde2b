"""The vectorised skip-gram pieces match word2vec's definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import huffman_tree
from word2vec_hub.training import numba_engine
from word2vec_hub.training.sampling import (
    NoiseSampler,
    alias_table,
    block_windows,
    keep_probabilities,
    noise_distribution,
    shuffled_windows,
    skipgram_pairs,
)
from word2vec_hub.training.torch_engine import (
    SoftmaxPaths,
    negative_sampling_terms,
    sgns_step,
    train_step,
    window_inputs,
)

from .conftest import plain_output_update, word2vec_reference


def test_keep_probabilities_follow_word2vec_formula():
    counts = torch.tensor([0, 1, 10, 1000, 100000])
    sample = 1e-3
    keep = keep_probabilities(counts, sample)
    threshold = sample * counts.sum().item()
    for count, probability in zip(counts.tolist(), keep.tolist(), strict=True):
        expected = 0.0 if count == 0 else min(1.0, (math.sqrt(count / threshold) + 1) * threshold / count)
        assert probability == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert keep[-1] < 0.5, "the most frequent word is subsampled"
    assert torch.equal(keep_probabilities(counts, 0.0), torch.tensor([0.0, 1, 1, 1, 1], dtype=torch.float64))


def test_subsampling_keeps_words_at_the_formula_rate():
    counts = torch.tensor([0, 0, 50000, 5000, 500, 50])
    keep = keep_probabilities(counts, 1e-3).float()
    generator = torch.Generator().manual_seed(0)
    tokens = torch.tensor([2, 3, 4, 5]).repeat(100000)
    kept = torch.rand(tokens.shape[0], generator=generator) < keep[tokens]
    for word in (2, 3, 4, 5):
        rate = kept[tokens == word].float().mean().item()
        assert abs(rate - keep[word].item()) < 0.005, (word, rate, keep[word].item())


def test_subsampling_and_noise_distributions_equal_gensims_on_the_same_counts():
    gensim_word2vec = pytest.importorskip("gensim.models.word2vec", reason="gensim not installed")
    counts = {"the": 50_000, "of": 20_000, "cat": 300, "sat": 40, "mat": 5}
    sample = 1e-3
    peer = gensim_word2vec.Word2Vec(vector_size=4, min_count=1, sample=sample, negative=5)
    peer.build_vocab_from_freq(counts)
    # Our ids 0 and 1 are the pad and unknown words, which are never trained.
    our_counts = torch.tensor([0, 0, *counts.values()])
    keep = keep_probabilities(our_counts, sample)
    noise = noise_distribution(our_counts, 0.75)
    peer_noise = np.diff(peer.cum_table, prepend=0) / peer.cum_table[-1]
    assert keep[2] < 0.1 and keep[-1] == 1.0, "the counts span subsampled and kept words"
    for our_id, word in enumerate(counts, start=2):
        peer_keep = peer.wv.get_vecattr(word, "sample_int") / (2**32 - 1)
        assert keep[our_id].item() == pytest.approx(peer_keep, abs=1e-9), word
        assert noise[our_id].item() == pytest.approx(peer_noise[peer.wv.key_to_index[word]], abs=1e-8), word


def test_noise_distribution_is_the_unigram_to_the_power_075():
    counts = torch.tensor([0, 0, 16, 81, 1])
    distribution = noise_distribution(counts, 0.75)
    expected = torch.tensor([0, 0, 8.0, 27.0, 1.0], dtype=torch.float64) / 36.0
    torch.testing.assert_close(distribution, expected)


def test_noise_sampler_draws_from_the_distribution():
    counts = torch.tensor([0, 0, 16, 81, 1, 256])
    distribution = noise_distribution(counts, 0.75)
    sampler = NoiseSampler(distribution, torch.device("cpu"))
    draws = sampler.sample((400000,), torch.Generator().manual_seed(1))
    frequencies = torch.bincount(draws, minlength=6).double() / draws.numel()
    assert frequencies[0] == 0 and frequencies[1] == 0, "special tokens are never drawn"
    torch.testing.assert_close(frequencies, distribution, atol=0.003, rtol=0)


def test_windows_are_dynamic_and_stay_inside_sentences():
    window = 5
    n = 200000
    tokens = torch.arange(n)
    sentences = torch.zeros(n, dtype=torch.long)
    centers, contexts = skipgram_pairs(tokens, sentences, window, torch.Generator().manual_seed(2))
    distances = (contexts - centers).abs()
    assert distances.min() >= 1 and distances.max() <= window
    # With b uniform on 1..window, a word at distance d is used with probability (window - d + 1) / window.
    for distance in range(1, window + 1):
        share = (distances == distance).sum().item() / (2 * n)
        assert abs(share - (window - distance + 1) / window) < 0.01, (distance, share)


def sentences_of_their_own_words(count: int = 400, longest: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Token ids 2, 3, ... one word per token, so no two sentences share a word, and the sentence of each token;
    sentences of 1 to `longest` words. Ignoring the boundaries would pair each sentence's last word with the next
    sentence's first word whatever window is drawn."""
    lengths = np.random.default_rng(0).integers(1, longest + 1, size=count)
    sentence_of = np.repeat(np.arange(count), lengths)
    return np.arange(sentence_of.shape[0]) + 2, sentence_of


@pytest.mark.parametrize("keep_share", [1.0, 0.5], ids=["all-words", "subsampled"])
def test_pairs_stay_inside_sentences(keep_share):
    ids, sentence_of = sentences_of_their_own_words()
    generator = torch.Generator().manual_seed(0)
    # Subsampling drops words before pairing, as the trainer does, so that sentences are no longer contiguous runs.
    kept = torch.rand(ids.shape[0], generator=generator) < keep_share
    tokens, sentence_ids = torch.from_numpy(ids)[kept], torch.from_numpy(sentence_of)[kept]
    centers, contexts = skipgram_pairs(tokens, sentence_ids, 5, generator)
    sentence_of_word = torch.from_numpy(np.append([-1, -1], sentence_of))
    crossing = sentence_of_word[centers] != sentence_of_word[contexts]
    assert not crossing.any(), f"{int(crossing.sum())} of {centers.shape[0]} pairs cross a sentence boundary"
    # Within a sentence, neighbours always pair (the smallest window reaches them): pairs are not just missing.
    neighbours = (sentence_ids[1:] == sentence_ids[:-1]).nonzero().squeeze(1)
    made = set(zip(centers.tolist(), contexts.tolist(), strict=True))
    for left, right in zip(tokens[neighbours].tolist(), tokens[neighbours + 1].tolist(), strict=True):
        assert (left, right) in made and (right, left) in made
    alone = torch.bincount(sentence_ids, minlength=int(sentence_ids.max()) + 1)[sentence_ids] == 1
    assert not torch.isin(centers, tokens[alone]).any(), "a one-word sentence has no pairs"


def test_windows_are_dynamic_and_each_kept_word_has_one():
    window, n = 5, 200_000
    tokens = torch.arange(n) + 2
    windows = shuffled_windows(tokens, torch.zeros(n, dtype=torch.long), torch.ones(n + 2), window,
                               torch.Generator().manual_seed(2))  # fmt: skip
    assert torch.equal(windows.tokens, tokens)
    assert torch.equal(windows.centers.sort().values, torch.arange(n)), "every word of a long sentence, once"
    assert not torch.equal(windows.centers, torch.arange(n)), "in random order"
    inner = (windows.centers >= window) & (windows.centers < n - window)
    before, after = windows.centers - windows.starts, windows.ends - 1 - windows.centers
    assert torch.equal(before[inner], after[inner]), "a window reaches as far on either side"
    # Word2vec's dynamic window: the reach b is uniform on 1..window.
    shares = torch.bincount(before[inner], minlength=window + 1)[1:].double() / inner.sum()
    torch.testing.assert_close(shares, torch.full((window,), 1 / window, dtype=torch.float64), atol=0.005, rtol=0)


@pytest.mark.parametrize("keep_share", [1.0, 0.5], ids=["all-words", "subsampled"])
def test_windows_stay_inside_sentences(keep_share):
    ids, sentence_of = sentences_of_their_own_words()
    sentence_starts = np.flatnonzero(np.diff(sentence_of, prepend=-1))
    keep = torch.full((ids.shape[0] + 2,), keep_share)
    windows = block_windows(ids, sentence_starts, keep, 3, torch.Generator().manual_seed(0))
    sentence_of_word = torch.from_numpy(np.append([-1, -1], sentence_of))
    kept_sentences = sentence_of_word[windows.tokens]
    if keep_share < 1:
        assert 0.4 < windows.tokens.shape[0] / ids.shape[0] < 0.6, "subsampling keeps its share of the words"
    for bound in (windows.starts, windows.ends - 1):
        assert torch.equal(kept_sentences[bound], kept_sentences[windows.centers]), "a window crosses a sentence"
    assert (windows.starts <= windows.centers).all() and (windows.centers < windows.ends).all()
    # Only a word alone among its sentence's kept words has no window; and a window reaches at least its neighbours.
    alone = torch.bincount(kept_sentences)[kept_sentences] == 1
    assert torch.equal(windows.centers.sort().values, torch.nonzero(~alone).flatten())
    first = (windows.centers == 0) | (kept_sentences[windows.centers] != kept_sentences[windows.centers - 1])
    assert (windows.starts[~first] < windows.centers[~first]).all()
    ids_tile, used = window_inputs(windows, 3)
    for row in range(0, len(windows), 97):
        center, start, end = windows.centers[row], windows.starts[row], windows.ends[row]
        expected = [windows.tokens[at].item() for at in range(start, end) if at != center]
        assert ids_tile[row][used[row]].tolist() == expected, "window_inputs holds the window's words in order"


# The models besides skip-gram with negative sampling: (cbow, cbow_mean, hs, negative).
MODES = {
    "skipgram-hs": (False, False, True, 0),
    "skipgram-hs-ns": (False, False, True, 2),
    "cbow-mean-ns": (True, True, False, 2),
    "cbow-sum-ns": (True, False, False, 2),
    "cbow-mean-hs": (True, True, True, 0),
    "cbow-sum-hs-ns": (True, False, True, 2),
}
COUNTS = [0, 0, 40, 3, 9, 1, 25, 7, 12, 2]


def mode_examples(cbow: bool, rng: np.random.Generator, examples: int) -> tuple[list[list[int]], np.ndarray]:
    """Input rows and output words of `examples` examples over COUNTS' words: one input word (skip-gram), or 1 to 4
    (CBOW, with repeats, as a window may hold a word twice)."""
    sizes = rng.integers(1, 5, examples) if cbow else np.ones(examples, int)
    inputs = [rng.integers(2, len(COUNTS), size).tolist() for size in sizes]
    return inputs, rng.integers(2, len(COUNTS), examples)


def padded(inputs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(words) for words in inputs)
    ids = torch.tensor([words + [0] * (width - len(words)) for words in inputs])
    return ids, torch.tensor([[True] * len(words) + [False] * (width - len(words)) for words in inputs])


def mode_terms(hs, negative, tables, outputs, negatives):
    terms = [SoftmaxPaths(huffman_tree(torch.tensor(COUNTS)), tables[2]).terms(outputs)] if hs else []
    if negative:
        terms.append(negative_sampling_terms(tables[1], outputs, negatives))
    return terms


@pytest.mark.parametrize("mode", MODES)
def test_train_step_applies_word2vec_updates_example_by_example(mode):
    cbow, mean, hs, negative = MODES[mode]
    rng = np.random.default_rng(0)
    vocab_size, dim, examples = len(COUNTS), 6, 30
    tables = [rng.normal(0, 0.5, (rows, dim)).astype(np.float32) for rows in (vocab_size, vocab_size, vocab_size - 1)]
    inputs, outputs = mode_examples(cbow, rng, examples)
    # Distinct negatives within an example (a batch reads them all from the same starting row, word2vec one after
    # the other), one of them the output word, which must be skipped.
    negatives = np.stack([rng.choice(np.arange(2, vocab_size), negative, replace=False) for _ in range(examples)])
    if negative:
        negatives[0, 0] = outputs[0]
    rates = np.linspace(0.05, 0.01, examples)
    tree = huffman_tree(torch.tensor(COUNTS)) if hs else None
    expected = word2vec_reference(tables[0], tables[1] if negative else None, tables[2] if hs else None, inputs,
                                  outputs, negatives if negative else None, tree, rates, mean)  # fmt: skip

    tensors = [torch.tensor(table) for table in tables]
    loss = 0.0
    for example in range(examples):
        ids, used = padded(inputs[example : example + 1])
        terms = mode_terms(hs, negative, tensors, torch.tensor(outputs[example : example + 1]),
                           torch.tensor(negatives[example : example + 1]))  # fmt: skip
        loss += train_step(tensors[0], ids, used, terms, rates[example], mean).item()
    for name, table, reference in zip(("embeddings", "context", "nodes"), tensors, expected[:3], strict=True):
        if reference is not None:
            np.testing.assert_allclose(table.numpy(), reference, rtol=1e-5, atol=1e-6, err_msg=name)
    assert loss == pytest.approx(expected[3], rel=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_train_step_is_a_gradient_step_on_the_loss(mode):
    """A batch's step is the gradient step of its summed loss, for the output tables and (sum, or one input row)
    the input rows; under cbow_mean each window's rows move by its size times its loss's gradient."""
    cbow, mean, hs, negative = MODES[mode]
    generator = torch.Generator().manual_seed(0)
    vocab_size, dim, examples, learning_rate = len(COUNTS), 6, 40, 0.05
    tables = [(torch.randn(rows, dim, generator=generator) * 0.5).requires_grad_()
              for rows in (vocab_size, vocab_size, vocab_size - 1)]  # fmt: skip
    inputs, outputs = mode_examples(cbow, np.random.default_rng(1), examples)
    ids, used = padded(inputs)
    outputs = torch.tensor(outputs)
    negatives = torch.randint(2, vocab_size, (examples, negative), generator=generator)
    assert not negative or (negatives == outputs.unsqueeze(1)).any(), "a negative equal to its output word is skipped"
    tree = huffman_tree(torch.tensor(COUNTS))

    weights = used.float()
    counts = weights.sum(1)
    hidden = (tables[0][ids] * weights.unsqueeze(2)).sum(1) / (counts.unsqueeze(1) if mean else 1)
    losses = torch.zeros(examples)
    if hs:
        path = torch.arange(tree.codes.shape[1]) < tree.lengths[outputs].unsqueeze(1)
        scores = (tables[2][tree.points[outputs]] * hidden.unsqueeze(1)).sum(2)
        signs = 1 - 2 * tree.codes[outputs].float()
        losses = losses - (F.logsigmoid(signs * scores) * path).sum(1)
    if negative:
        losses = losses - F.logsigmoid((hidden * tables[1][outputs]).sum(1))
        scores = (tables[1][negatives] * hidden.unsqueeze(1)).sum(2)
        losses = losses - (F.logsigmoid(-scores) * (negatives != outputs.unsqueeze(1))).sum(1)
    output_gradients = torch.autograd.grad(losses.sum(), tables[1:], allow_unused=True, retain_graph=True)
    input_gradient = torch.autograd.grad((losses * (counts if mean else 1)).sum(), tables[0])[0]
    expected = [table.detach() - learning_rate * gradient if gradient is not None else table.detach()
                for table, gradient in zip(tables, [input_gradient, *output_gradients], strict=True)]  # fmt: skip

    steps = [table.detach().clone() for table in tables]
    terms = mode_terms(hs, negative, steps, outputs, negatives)
    loss = train_step(steps[0], ids, used, terms, learning_rate, mean, bound_steps=False)
    torch.testing.assert_close(loss, losses.sum().detach())
    for name, table, reference in zip(("embeddings", "context", "nodes"), steps, expected, strict=True):
        torch.testing.assert_close(table, reference, msg=name)


def test_sgns_step_is_a_gradient_step_on_the_skipgram_loss():
    torch.manual_seed(0)
    model = Word2VecModel(Word2VecConfig(vocab_size=30, hidden_size=8))
    with torch.no_grad():
        model.embeddings.normal_(0, 0.5)
        model.context.normal_(0, 0.5)
    centers = torch.tensor([2, 3, 2, 7, 9, 3])
    contexts = torch.tensor([4, 5, 6, 4, 11, 12])
    negatives = torch.tensor([[13, 14], [15, 13], [16, 17], [18, 19], [13, 20], [21, 22]])
    learning_rate = 0.05

    loss = model.skipgram_loss(centers, contexts, negatives, reduction="sum")
    loss.backward()
    expected_embeddings = model.embeddings.detach() - learning_rate * model.embeddings.grad
    expected_context = model.context.detach() - learning_rate * model.context.grad

    embeddings, context = model.embeddings.detach().clone(), model.context.detach().clone()
    step_loss = sgns_step(embeddings, context, centers, contexts, negatives, learning_rate)
    torch.testing.assert_close(step_loss, loss.detach())
    torch.testing.assert_close(embeddings, expected_embeddings)
    torch.testing.assert_close(context, expected_context)


def test_sgns_step_skips_a_negative_equal_to_the_context_word():
    embeddings = torch.full((5, 2), 0.5)
    context = torch.full((5, 2), 0.5)
    before = context.clone()
    sgns_step(embeddings, context, torch.tensor([2]), torch.tensor([3]), torch.tensor([[3, 3]]), 0.1)
    positive_gain = (1 - torch.sigmoid(torch.tensor(0.5))) * 0.1
    torch.testing.assert_close(context[3], before[3] + positive_gain * 0.5)


def test_noise_table_draws_follow_the_distribution():
    probabilities = noise_distribution(torch.tensor([0, 0, 16, 81, 1, 256, 3]), 0.75).numpy()
    threshold, alias = alias_table(probabilities)
    # What the alias table implies exactly: a column keeps itself with its threshold, else gives its alias.
    implied = threshold.copy()
    np.add.at(implied, alias, 1.0 - threshold)
    np.testing.assert_allclose(implied / len(probabilities), probabilities, atol=1e-12)
    draws = numba_engine.sample_noise(numba_engine.packed_noise_table((threshold, alias)), 400_000, 5)
    shares = np.bincount(draws, minlength=len(probabilities)) / draws.shape[0]
    np.testing.assert_allclose(shares, probabilities, atol=3e-3)
    assert shares[0] == shares[1] == 0


def run_kernel(ids, sentence_starts, embeddings, context, keep, table, window, negative, alpha=0.025, workers=1):
    return numba_engine.train_block(
        np.asarray(ids, dtype=np.int32), np.asarray(sentence_starts, dtype=np.int64), embeddings, context,
        keep.astype(np.float32), numba_engine.packed_noise_table(table), window, negative, alpha, alpha, 0.0, 0.0,
        np.arange(1, workers + 1, dtype=np.uint64), workers,
    )  # fmt: skip


def test_kernel_applies_word2vecs_negative_sampling_update_pair_by_pair():
    """Each pair's update, in order: the context word's input vector scores the center word (label 1) and the noise
    words (label 0; skipped where one is the center word); a row moves by (label - sigmoid) * rate * vector, with
    word2vec's sigmoid table, and not at all where |score| >= 6; the vector moves by the rows' summed gradient."""
    vocab, noise_word, negative, rate = 7, 6, 2, 0.1
    rng = np.random.default_rng(0)
    # Large enough that some rows saturate and are left alone.
    embeddings = rng.normal(0, 1.2, (vocab, 8)).astype(np.float32)
    context = rng.normal(0, 1.6, (vocab, 8)).astype(np.float32)
    expected_embeddings, expected_context = embeddings.copy(), context.copy()
    sentence = [2, 5, 3, 6, 2, 4]
    table = alias_table(np.eye(vocab)[noise_word])
    run_kernel(sentence, [0, len(sentence)], embeddings, context, np.ones(vocab), table, 1, negative, alpha=rate)
    trained = saturated = 0
    for i, center in enumerate(sentence):
        for j in (i - 1, i + 1):
            if not 0 <= j < len(sentence):
                continue
            vector = expected_embeddings[sentence[j]]
            targets = [(center, 1.0)] + ([(noise_word, 0.0)] * negative if center != noise_word else [])
            rows = [(expected_context[target], label) for target, label in targets]
            gradient, pair_trained, pair_saturated = plain_output_update(vector, rows, rate)
            trained, saturated = trained + pair_trained, saturated + pair_saturated
            vector += gradient
    assert trained > 0 and saturated > 0, "the sentence exercises both sides of the saturation rule"
    np.testing.assert_allclose(embeddings, expected_embeddings, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-5)


def test_kernel_windows_are_dynamic_and_subsampling_keeps_the_formula_share():
    window, n = 5, 200_000
    vocab = 10
    ids = np.arange(n) % (vocab - 2) + 2
    embeddings = np.zeros((vocab, 4), np.float32)
    context = np.zeros((vocab, 4), np.float32)
    table = alias_table(np.eye(vocab)[2])
    keep_all = np.ones(vocab)
    pairs = run_kernel(ids, [0, n], embeddings, context, keep_all, table, window, negative=0)[:, 2].sum()
    # b uniform on 1..window gives 2 * E[b] = window + 1 pairs a word, less the sentence ends.
    assert abs(pairs / n - (window + 1)) < 0.02
    keep = np.full(vocab, 0.3)
    pairs = run_kernel(ids, [0, n], embeddings, context, keep, table, window, negative=0, workers=2)[:, 2].sum()
    assert abs(pairs / (0.3 * n) - (window + 1)) < 0.05


@pytest.mark.parametrize(("workers", "keep_share"), [(1, 1.0), (2, 1.0), (2, 0.5)])
def test_kernel_pairs_stay_inside_sentences(workers, keep_share):
    ids, sentence_of = sentences_of_their_own_words()
    sentences = sentence_of[-1] + 1
    sentence_starts = np.searchsorted(sentence_of, np.arange(sentences + 1))
    # An input vector starts as its sentence's unit vector and every context vector at zero: an update moves a
    # vector only along the sentences of the words it was paired with, so a crossing pair leaves a foreign mark.
    embeddings = np.zeros((ids.shape[0] + 2, sentences), np.float32)
    embeddings[ids, sentence_of] = 1.0
    context = np.zeros_like(embeddings)
    table = alias_table(np.append([0.0, 0.0], np.ones(ids.shape[0])))
    keep = np.full(ids.shape[0] + 2, keep_share)
    run_kernel(ids, sentence_starts, embeddings, context, keep, table, window=5, negative=0, workers=workers)
    marked = (embeddings[ids] != 0) | (context[ids] != 0)
    own = np.zeros_like(marked)
    own[np.arange(ids.shape[0]), sentence_of] = True
    assert not (marked & ~own).any(), f"words of {np.unique(np.nonzero(marked & ~own)[0]).size} were paired across"
    if keep_share == 1.0:
        # Each worker takes an equal share of the tokens, cutting the sentence at its boundary in two.
        cuts = np.union1d(sentence_starts, [ids.shape[0] * worker // workers for worker in range(workers + 1)])
        piece = np.searchsorted(cuts, np.arange(ids.shape[0]), side="right") - 1
        with_neighbour = np.bincount(piece)[piece] > 1
        assert (context[ids, sentence_of] != 0)[with_neighbour].all(), "every word with a neighbour is trained"
