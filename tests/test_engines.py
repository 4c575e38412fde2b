"""Every engine trains a block through the one interface (`engine.Engine`), from the one set of sampling tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.devices import triton_available, triton_interpreted
from word2vec_hub.training.engine import BlockResult, EngineInputs, build_engine
from word2vec_hub.training.sampling import SamplingTables
from word2vec_hub.training.schedule import Schedule

ENGINES_ON_CPU = [
    "numba",
    "torch",
    pytest.param(
        "triton",
        marks=pytest.mark.skipif(
            not (triton_available() and triton_interpreted()), reason="needs Triton under TRITON_INTERPRET=1"
        ),
    ),
]


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
    sampling = SamplingTables.from_counts(counts, [0, 1], args.sample, args.ns_exponent)
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
    inputs = EngineInputs(
        torch.zeros(3, 2), torch.zeros(3, 2), SamplingTables.from_counts(torch.tensor([0, 0, 5]), [], 0.0, 0.75),
        TrainingArguments(), torch.device("cpu"), torch.Generator(),
    )  # fmt: skip
    with pytest.raises(ValueError, match="no engine is called 'cbow'"):
        build_engine("cbow", inputs)
