"""Training with fastText's subwords (`--subwords`): the numba kernel against the update written plainly, the
compiled n-gram hashing against the plain one, what a trained folder holds and gives unknown words, continuing
training from a folder, and the refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from word2vec_hub.modeling.modeling_word2vec import huffman_tree
from word2vec_hub.modeling.subwords import ngram_buckets
from word2vec_hub.tokenization.ngram_hashing import vocabulary_ngram_buckets
from word2vec_hub.training import numba_engine
from word2vec_hub.training.sampling import SamplingTables, alias_table
from word2vec_hub.training.subword_rows import SubwordRows

# The kernel tests' vocabulary: [PAD], [UNK], then words 2..7; every negative is NOISE_WORD.
COUNTS = torch.tensor([0, 0, 40, 25, 12, 9, 5, 2])
NOISE_WORD = 7
BUCKET = 9
# Each word's n-gram rows, one listed twice (fastText keeps repeats), rows shared between words.
WORD_NGRAMS = [[], [], [0, 1, 1], [2, 3], [1, 4, 5, 6], [7], [8, 2], []]
HS_MAX_EXP = 6.0


def sigmoid(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-score))


def plain_subword_training(sentence, embeddings, ngrams, context, nodes, cbow, cbow_mean, hs, negative, rate):
    """The common update rule (docs/subwords.md, "Training") over one sentence, window 1, every word kept, in plain
    numpy: skip-gram's center input is the mean of its own and n-gram rows, predicting each neighbour in turn, and
    its rows get the window's summed gradient after it; CBOW's input is the neighbours' rows summed (divided by
    their number under cbow_mean), and each of those rows gets the gradient (divided by their number otherwise)."""
    tree = huffman_tree(COUNTS)

    def output_update(hidden, word):
        gradient = np.zeros_like(hidden)
        rows = []
        if hs:
            length = int(tree.lengths[word])
            points, labels = tree.points[word, :length].tolist(), (1 - tree.codes[word, :length]).tolist()
            rows += [(nodes[point], label, True) for point, label in zip(points, labels, strict=True)]
        if negative:
            rows += [(context[word], 1.0, False)] + [(context[NOISE_WORD], 0.0, False)] * negative
        for row, label, saturates in rows:
            score = float(hidden @ row)
            if saturates and abs(score) >= HS_MAX_EXP:
                continue
            step = np.float32((label - sigmoid(score)) * rate)
            gradient += step * row
            row += step * hidden
        return gradient

    def word_rows(word):
        return [embeddings[word]] + [ngrams[row] for row in WORD_NGRAMS[word]]

    for i, word in enumerate(sentence):
        window = [sentence[j] for j in (i - 1, i + 1) if 0 <= j < len(sentence)]
        if cbow:
            rows = [row for other in window for row in word_rows(other)]
            hidden = np.sum(rows, axis=0, dtype=np.float32)
            if cbow_mean:
                hidden /= np.float32(len(rows))
            gradient = output_update(hidden, word)
            if not cbow_mean:
                gradient /= np.float32(len(rows))
            for other in window:
                for row in word_rows(other):
                    row += gradient
        else:
            rows = word_rows(word)
            hidden = np.sum(rows, axis=0, dtype=np.float32) / np.float32(len(rows))
            gradient = sum(output_update(hidden, other) for other in window)
            for row in rows:
                row += gradient


def run_subword_kernel(sentence, embeddings, ngrams, context, nodes, cbow, cbow_mean, hs, negative, rate):
    tables = SamplingTables.from_counts(COUNTS, [0, 1], sample=0.0, ns_exponent=0.75)
    paths = (
        numba_engine.flat_paths(tables.huffman_tree)
        if hs
        else (np.zeros(9, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    )
    starts = np.zeros(len(WORD_NGRAMS) + 1, np.int64)
    np.cumsum([len(rows) for rows in WORD_NGRAMS], out=starts[1:])
    rows = np.array([row for word_rows in WORD_NGRAMS for row in word_rows], np.int32)
    return numba_engine.train_block_subwords(
        np.asarray(sentence, dtype=np.int32), np.array([0, len(sentence)], np.int64), embeddings, ngrams, starts,
        rows, context, nodes, *paths, np.ones(8, np.float32), alias_table(np.eye(8)[NOISE_WORD]), 1, negative, cbow,
        cbow_mean, rate, rate, 0.0, 0.0, np.array([1], np.uint64), 1,
    )  # fmt: skip


MODES = {
    "skipgram-ns": {"cbow": False, "cbow_mean": True, "hs": False, "negative": 2},
    "skipgram-hs": {"cbow": False, "cbow_mean": True, "hs": True, "negative": 0},
    "cbow-ns-mean": {"cbow": True, "cbow_mean": True, "hs": False, "negative": 2},
    "cbow-ns-sum": {"cbow": True, "cbow_mean": False, "hs": False, "negative": 2},
    "cbow-hs-ns": {"cbow": True, "cbow_mean": True, "hs": True, "negative": 1},
}


@pytest.mark.parametrize("mode", MODES)
def test_subword_kernel_applies_the_common_rule_and_reaches_every_ngram_row(mode):
    settings = MODES[mode]
    rng = np.random.default_rng(0)
    embeddings = rng.normal(0, 0.5, (8, 8)).astype(np.float32)
    embeddings[:2] = 0
    ngrams = rng.normal(0, 0.5, (BUCKET, 8)).astype(np.float32)
    context = rng.normal(0, 0.5, (8, 8)).astype(np.float32)
    nodes = rng.normal(0, 0.5, (7, 8)).astype(np.float32)
    before = [table.copy() for table in (embeddings, ngrams, context, nodes)]
    expected = [table.copy() for table in before]
    sentence = [2, 5, 3, 6, 2, 4]
    results = run_subword_kernel(sentence, embeddings, ngrams, context, nodes, rate=0.1, **settings)
    plain_subword_training(sentence, *expected, rate=0.1, **settings)
    names = ("embeddings", "ngrams", "context", "nodes")
    for name, table, reference in zip(names, (embeddings, ngrams, context, nodes), expected, strict=True):
        np.testing.assert_allclose(table, reference, rtol=1e-4, atol=1e-5, err_msg=name)
    # Every input row of the sentence's words moved: their own rows and each n-gram row.
    for word in set(sentence):
        assert not np.allclose(embeddings[word], before[0][word]), f"word {word}'s own row"
        for row in WORD_NGRAMS[word]:
            assert not np.allclose(ngrams[row], before[1][row]), f"n-gram row {row} of word {word}"
    assert np.array_equal(embeddings[[0, 1, 7]], before[0][[0, 1, 7]]), "rows of words outside the sentence"
    examples = len(sentence) if settings["cbow"] else 2 * (len(sentence) - 1)
    assert results[0, 2] == examples


WORDS = ["where", "naïve", "straße", "电脑桌", "日本語のテキスト", "a", "ab", "été", "x" * 40, "🙂ok"]


@pytest.mark.parametrize(("min_n", "max_n", "bucket"), [(3, 6, 2_000_000), (1, 1, 1000), (1, 3, 97), (2, 5, 10)])
def test_compiled_ngram_buckets_equal_the_plain_ones_on_ascii_non_ascii_and_han_words(min_n, max_n, bucket):
    starts, rows = vocabulary_ngram_buckets(WORDS, min_n, max_n, bucket)
    for index, word in enumerate(WORDS):
        expected = ngram_buckets(word, min_n, max_n, bucket)
        assert expected, word
        assert rows[starts[index] : starts[index + 1]].tolist() == expected, word


def test_subword_rows_leave_out_the_special_words():
    rows = SubwordRows.from_words(["[PAD]", "[UNK]", "where"], 3, 6, 1000, without=(0, 1, None))
    assert rows.counts().tolist() == [0, 0, len(ngram_buckets("where", 3, 6, 1000))]
    assert rows.starts.dtype == np.int64 and rows.rows.dtype == np.int32
