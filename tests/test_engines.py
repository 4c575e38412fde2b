"""Every engine trains a block through the one interface (`engine.Engine`), from the one set of sampling tables."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.devices import triton_available, triton_interpreted
from word2vec_hub.training.engine import BlockResult, EngineInputs, build_engine
from word2vec_hub.training.sampling import SamplingTables
from word2vec_hub.training.schedule import Schedule

from .conftest import planted_corpus

TRITON_ON_CPU = pytest.param(
    "triton",
    marks=pytest.mark.skipif(
        not (triton_available() and triton_interpreted()), reason="needs Triton under TRITON_INTERPRET=1"
    ),
)
ENGINES_ON_CPU = ["numba", "torch", TRITON_ON_CPU]
# word2vec's models besides skip-gram with negative sampling (tests/test_gpu_engine.py and tests/test_training.py
# train that one on the planted corpus): (cbow, cbow_mean, hs, negative).
MODES = {
    "skipgram-hs": (False, True, True, 0),
    "skipgram-hs-ns": (False, True, True, 5),
    "cbow-mean-ns": (True, True, False, 5),
    "cbow-sum-ns": (True, False, False, 5),
    "cbow-mean-hs": (True, True, True, 0),
    "cbow-mean-hs-ns": (True, True, True, 5),
}


@pytest.mark.parametrize("name", ENGINES_ON_CPU)
def test_every_engine_trains_a_block_through_the_same_call(name):
    vocab_size, dim, window, negative, tokens = 12, 8, 2, 2, 1500
    rng = np.random.default_rng(0)
    # Words 2 to 10 (0 and 1 are pad and unknown, word 11 is in the vocabulary but not in this block), in sentences
    # of 30 words.
    block = rng.integers(2, vocab_size - 1, tokens).astype(np.int32)
    sentence_starts = np.arange(0, tokens, 30)
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(vocab_size, dim, generator=generator) * 0.1
    context = torch.zeros(vocab_size, dim)
    before = embeddings.clone(), context.clone()
    args = TrainingArguments(dim=dim, window=window, negative=negative, sample=0, workers=1, batch_size=256)
    counts = torch.tensor([0, 0] + [100] * (vocab_size - 2))
    sampling = SamplingTables.from_counts(counts, [0, 1], args.sample, args.ns_exponent, huffman_ties="hashed")
    inputs = EngineInputs(embeddings, context, sampling, args, torch.device("cpu"), generator)
    engine = build_engine(name, inputs)
    schedule = Schedule(args.alpha, args.min_alpha, epochs=1, epoch_words=tokens, writers=engine.threads)

    result = engine.train_block(block, sentence_starts, 0, schedule)

    assert isinstance(result, BlockResult)
    # Without subsampling a word pairs with 1 to `window` neighbours on either side within its sentence: window + 1
    # pairs a word on average, fewer at the ends of sentences.
    assert 0.8 * (window + 1) * tokens < result.pairs <= (window + 1) * tokens
    assert 0 < result.loss_pairs <= result.pairs
    # The context vectors start at zero, so every term of a pair's loss starts at log 2; a block barely lowers it.
    assert result.loss / result.loss_pairs == pytest.approx((1 + negative) * math.log(2), rel=0.2)
    trained = slice(2, vocab_size - 1)
    assert (embeddings[trained] != before[0][trained]).any(dim=1).all(), "every word of the block was trained"
    assert torch.equal(embeddings[vocab_size - 1], before[0][vocab_size - 1]), "a word not in the block was input"
    assert torch.equal(embeddings[:2], before[0][:2]) and torch.equal(context[:2], before[1][:2]), "pad or unk moved"


def test_an_unknown_engine_is_refused():
    sampling = SamplingTables.from_counts(torch.tensor([0, 0, 5]), [], 0.0, 0.75, huffman_ties="hashed")
    inputs = EngineInputs(
        torch.zeros(3, 2), torch.zeros(3, 2), sampling, TrainingArguments(), torch.device("cpu"), torch.Generator()
    )
    with pytest.raises(ValueError, match="no engine is called 'cbow'"):
        build_engine("cbow", inputs)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ENGINES_ON_CPU)
def test_every_mode_learns_the_planted_pairs(name, mode, monkeypatch):
    cbow, cbow_mean, hs, negative = MODES[mode]
    if name == "triton":
        # Programs of 256 examples side by side, as the interpreter pays per operation, not per example; they read
        # the rows as they were before the chunk, as that many examples in flight on a GPU would (1,024 diverge).
        monkeypatch.setattr("word2vec_hub.training.triton_engine.TILE_ELEMENTS", 1 << 12)
    # About 5,000 words over 8 topics (60 words), so that the interpreter takes seconds.
    topics, epochs = 8, 3
    lines = [line.split() for line in planted_corpus(num_pairs=topics, num_fillers=10, sentences=500)]
    counts = Counter(word for line in lines for word in line)
    words = ["[PAD]", "[UNK]", *sorted(counts, key=lambda word: (-counts[word], word))]
    word_id = {word: index for index, word in enumerate(words)}
    block = np.array([word_id[word] for line in lines for word in line], dtype=np.int32)
    sentence_starts = np.cumsum([0] + [len(line) for line in lines[:-1]])
    args = TrainingArguments(dim=16, window=3, cbow=cbow, cbow_mean=cbow_mean, hs=hs, negative=negative, sample=0,
                             alpha=0.05, batch_size=256, workers=1)  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    vocab_size = len(words)
    # word2vec's start: input vectors uniform in +-0.5 / dim, output tables at zero.
    embeddings = (torch.rand(vocab_size, args.dim, generator=generator) - 0.5) / args.dim
    context = torch.zeros(vocab_size, args.dim) if negative else None
    nodes = torch.zeros(vocab_size - 1, args.dim) if hs else None
    sampling = SamplingTables.from_counts(torch.tensor([0, 0] + [counts[word] for word in words[2:]]), [0, 1],
                                          args.sample, args.ns_exponent, huffman_ties="hashed")  # fmt: skip
    engine = build_engine(name, EngineInputs(embeddings, context, sampling, args, torch.device("cpu"), generator,
                                             nodes=nodes))  # fmt: skip
    schedule = Schedule(args.alpha, args.min_alpha, epochs, epoch_words=block.shape[0], writers=engine.threads)

    losses = []
    for epoch in range(epochs):
        result = engine.train_block(block, sentence_starts, epoch * block.shape[0], schedule)
        losses.append(result.loss / result.loss_pairs)
    # CBOW trains one example a word; skip-gram a pair per word and neighbour, 2 * E[b] = window + 1 a word.
    examples_per_word = 1 if cbow else args.window + 1
    assert 0.8 * examples_per_word * block.shape[0] < result.pairs <= examples_per_word * block.shape[0]
    assert losses == sorted(losses, reverse=True), losses
    unit = torch.nn.functional.normalize(embeddings, dim=1)
    partners = sum(
        int(torch.argmax(unit[[word_id[f"b{other}"] for other in range(topics)]] @ unit[word_id[f"a{topic}"]])) == topic
        for topic in range(topics)
    )
    assert partners >= topics - 1, f"{partners} of {topics} aN have bN closest"
    for table in (embeddings, context, nodes):
        assert table is None or (torch.isfinite(table).all() and table[2:].abs().sum() > 0)


@pytest.mark.parametrize(("hs", "negative", "missing"), [(True, 0, "nodes"), (False, 5, "context")])
def test_a_model_without_the_table_its_output_layer_trains_is_refused(hs, negative, missing):
    args = TrainingArguments(hs=hs, negative=negative)
    sampling = SamplingTables.from_counts(torch.tensor([0, 0, 5, 3]), [0, 1], 0.0, 0.75, huffman_ties="hashed")
    with pytest.raises(ValueError, match=f"EngineInputs.{missing}"):
        EngineInputs(torch.zeros(4, 2), None, sampling, args, torch.device("cpu"), torch.Generator())
