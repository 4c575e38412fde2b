"""Subword (fastText) training on the torch and Triton engines: the torch engine against fastText's update written
plainly (`conftest.subword_reference`; the Triton kernels' comparison is in tests/test_gpu_engine.py, beside their
noise draws), its step bound on n-gram rows, and a short planted run per engine in which an unseen word made of
seen pieces ends near its topic.

The update (the common rule of every engine): a word's input rows are its own row of `embeddings` and its n-gram
rows of `ngrams` (repeats kept). Skip-gram (fastText's direction and per-pair update): a center's rows, averaged,
are the input vector of each context word of its window in turn; the output layers move at once, the input vector
by each pair's change before the next pair, and after the window every input row moves by the summed change (the
reference moves every row after each pair: the same where a word lists no row twice). CBOW: the rows of all the
window's words, averaged (or summed), predict the center; every row moves by the change (divided by the number of
rows when summed, as gensim's fastText does).

conftest sets TRITON_INTERPRET=1 unless it is set, so the Triton run takes CPU tensors here.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
import torch

from word2vec_hub.modeling.modeling_word2vec import huffman_tree
from word2vec_hub.modeling.subwords import ngram_buckets
from word2vec_hub.training import torch_engine
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.devices import triton_available, triton_interpreted
from word2vec_hub.training.engine import EngineInputs, build_engine
from word2vec_hub.training.sampling import SamplingTables
from word2vec_hub.training.schedule import Schedule
from word2vec_hub.training.subword_rows import SubwordRows

from .conftest import (
    SUBWORD_COUNTS,
    SUBWORD_MAX_N,
    SUBWORD_MIN_N,
    SUBWORD_MODES,
    SUBWORD_WORDS,
    assert_every_input_row_moved,
    subword_bucket,
    subword_reference,
    subword_tables,
    tiny_subword_rows,
    window_examples,
)

TRITON_ON_CPU = pytest.mark.skipif(
    not (triton_available() and triton_interpreted()), reason="needs Triton under TRITON_INTERPRET=1"
)


@pytest.mark.parametrize("batch_size", [1, 12])
@pytest.mark.parametrize("mode", SUBWORD_MODES)
def test_torch_engine_applies_fasttexts_update_batch_by_batch(mode, batch_size, monkeypatch):
    """The torch engine's batch semantics: every update of a batch is computed from the tables as the batch found
    them and summed, batch after batch, except that a skip-gram window's pairs move its input vector one after
    another, as fastText's per-pair update does. A skip-gram batch holds batch_size / (window + 1) windows; at batch
    size 1 each window is a batch of its own."""
    cbow, mean, hs, negative = SUBWORD_MODES[mode]
    window, dim, bucket = 2, 5, subword_bucket(cbow)
    subword_rows, rows_of = tiny_subword_rows(bucket)
    tables = subword_tables(negative, hs, dim, bucket=bucket)
    rng = np.random.default_rng(1)
    block = rng.integers(2, len(SUBWORD_WORDS), 60).astype(np.int32)
    sentence_starts = np.array([0, 7, 8, 20, 33, 41, 50])  # a sentence of one word: no window
    # A constant rate, so that the reference needs no schedule.
    args = TrainingArguments(dim=dim, window=window, cbow=cbow, cbow_mean=mean, hs=hs, negative=negative, sample=0,
                             subwords=True, min_n=SUBWORD_MIN_N, max_n=SUBWORD_MAX_N, bucket=bucket,
                             batch_size=batch_size, alpha=0.02, min_alpha=0.02)  # fmt: skip
    sampling_tables = SamplingTables.from_counts(torch.tensor(SUBWORD_COUNTS), [0, 1], 0.0, 0.75, huffman_ties="hashed")
    tensors = [None if table is None else torch.tensor(table) for table in tables]
    inputs = EngineInputs(tensors[0], tensors[2], sampling_tables, args, torch.device("cpu"),
                          torch.Generator().manual_seed(0), nodes=tensors[3], ngrams=tensors[1],
                          subword_rows=subword_rows)  # fmt: skip
    engine = build_engine("torch", inputs)
    recorded = {"windows": [], "negatives": []}
    block_windows = torch_engine.block_windows

    def recording_windows(*arguments):
        recorded["windows"].append(block_windows(*arguments))
        return recorded["windows"][-1]

    monkeypatch.setattr(torch_engine, "block_windows", recording_windows)
    if negative:
        sample = engine.noise.sample

        def recording_sample(shape, generator):
            recorded["negatives"].append(sample(shape, generator))
            return recorded["negatives"][-1]

        monkeypatch.setattr(engine.noise, "sample", recording_sample)
    schedule = Schedule(args.alpha, args.min_alpha, epochs=1, epoch_words=block.shape[0])

    result = engine.train_block(block, sentence_starts, 0, schedule)

    (windows,) = recorded["windows"]
    negatives = torch.cat(recorded["negatives"]).numpy() if negative else None
    examples = window_examples(windows, window, cbow, negatives)
    if negative:
        outputs = [slot for _, slots in examples for slot in slots if slot is not None]
        assert any(word in negatives for word, negatives in outputs), "a negative equals its output word"
    per_batch = batch_size if cbow else max(1, batch_size // (window + 1))
    rates = np.full(len(examples), args.alpha)
    expected = subword_reference(tables, examples, rows_of, huffman_tree(torch.tensor(SUBWORD_COUNTS)) if hs else None,
                                 rates, mean or not cbow, per_batch, simultaneous=True)  # fmt: skip
    for name, table, reference in zip(("embeddings", "ngrams", "context", "nodes"), tensors, expected, strict=False):
        if reference is not None:
            np.testing.assert_allclose(table.numpy(), reference, rtol=1e-5, atol=1e-6, err_msg=name)
    assert result.loss == pytest.approx(expected[4], rel=1e-5)
    pairs = sum(slot is not None for _, slots in examples for slot in slots)
    assert result.pairs == result.loss_pairs == pairs
    assert_every_input_row_moved(tables, [tensors[0].numpy(), tensors[1].numpy()], examples, rows_of)


@pytest.mark.parametrize("chunk_floats", [torch_engine.PROJECTION_CHUNK_FLOATS, 64])
def test_the_ngram_rows_summed_step_is_bounded_as_a_word_rows_is(chunk_floats, monkeypatch):
    """An n-gram row in many windows of one batch takes the bounded step of a word row in as many (its loss curves
    alike along the step), while a row of a single window keeps its plain update; also when the bound's projections
    are computed 16 entries at a time."""
    monkeypatch.setattr(torch_engine, "PROJECTION_CHUNK_FLOATS", chunk_floats)
    dim, rate = 4, 0.025
    context = torch.zeros(6, dim)
    context[3] = torch.tensor([1.0, 0, 0, 0])
    context[5] = torch.tensor([0, 0, 0, 0.3])
    # 2,000 centers (word 2, n-gram rows 7 and 7 again) predict word 3; one center (word 4, n-gram row 9) word 5.
    inputs = torch.tensor([[2]] * 2000 + [[4]])
    used = torch.ones_like(inputs, dtype=torch.bool)
    outputs = torch.tensor([3] * 2000 + [5])
    no_negatives = torch.zeros(inputs.shape[0], 0, dtype=torch.long)
    steps = {}
    for bound in (False, True):
        embeddings, ngrams, output = torch.zeros(6, dim), torch.zeros(12, dim), context.clone()
        embeddings[2] = torch.tensor([1.0, 0, 0, 0])
        ngrams[7] = torch.tensor([0.5, 0, 0, 0])
        embeddings[4] = torch.tensor([0, 0.5, 0, 0])
        ngrams[9] = torch.tensor([0, 0, 0.5, 0])
        subword_inputs = torch_engine.NgramInputs(
            ngrams, torch.tensor([7, 7] * 2000 + [9]), torch.tensor([*np.repeat(np.arange(2000), 2), 2000]),
            torch.tensor([2.0] * 2000 + [1.0]),
        )  # fmt: skip
        terms = [torch_engine.negative_sampling_terms(output, outputs, no_negatives)]
        torch_engine.train_step(embeddings, inputs, used, terms, rate, mean=True, bound_steps=bound,
                                ngrams=subword_inputs)  # fmt: skip
        steps[bound] = embeddings.clone(), ngrams.clone()
    plain_words, plain_ngrams = steps[False]
    bounded_words, bounded_ngrams = steps[True]
    # Each window's h is the mean of 3 rows (scale 1/3); its rows move by the whole error. Along u = context[3] the
    # weighted loss curves by at most L = 2000 * (1/4) * (1/3) * m^2 for a row m times in the window: m = 1 for the
    # word row, m = 2 for n-gram row 7. The step is cut to 1 / (rate * L) of the sum.
    torch.testing.assert_close(bounded_words[2] - torch.tensor([1.0, 0, 0, 0]),
                               (plain_words[2] - torch.tensor([1.0, 0, 0, 0])) * 12 / (rate * 2000),
                               rtol=1e-4, atol=0)  # fmt: skip
    torch.testing.assert_close(bounded_ngrams[7] - torch.tensor([0.5, 0, 0, 0]),
                               (plain_ngrams[7] - torch.tensor([0.5, 0, 0, 0])) * 3 / (rate * 2000),
                               rtol=1e-4, atol=0)  # fmt: skip
    torch.testing.assert_close(bounded_ngrams[9], plain_ngrams[9])
    torch.testing.assert_close(bounded_words[4], plain_words[4])
    assert not torch.equal(plain_ngrams[9], torch.tensor([0, 0, 0.5, 0])), "the single window's n-gram row moved"


def topic_corpus(topics: int = 8, sentences: int = 600, seed: int = 0) -> tuple[list[list[str]], list[str], list]:
    """Sentences on one topic each: three words of the topic's family (its stem and a suffix: `stem` + a, o, u, er,
    ing) and three of its own words (random letters, sharing no n-gram with the stem), among fillers. Returns the
    sentences, an unseen word per topic (its stem + "i", made of seen pieces) and each topic's own words."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def random_word(length):
        return "".join(rng.choice(letters) for _ in range(length))

    stems = [random_word(4) for _ in range(topics)]
    own = [[random_word(5) for _ in range(4)] for _ in range(topics)]
    fillers = [random_word(3) for _ in range(12)]
    lines = []
    for _ in range(sentences):
        topic = rng.randrange(topics)
        family = [stems[topic] + suffix for suffix in rng.choices(["a", "o", "u", "er", "ing"], k=3)]
        words = family + rng.choices(own[topic], k=3) + rng.choices(fillers, k=2)
        rng.shuffle(words)
        lines.append(words)
    return lines, [stem + "i" for stem in stems], own


PLANTED_MODES = {"skipgram-ns": (False, 5, False), "cbow-ns": (True, 5, False), "skipgram-hs": (False, 0, True)}


def train_planted(engine_name: str, mode: str, epochs: int = 3):
    """A short run on `topic_corpus` through `engine.train_block`; returns how many topics' unseen word has, of all
    the topics' own words, one of its own topic's nearest (and the same count before training)."""
    cbow, negative, hs = PLANTED_MODES[mode]
    lines, unseen, own = topic_corpus()
    counts = Counter(word for line in lines for word in line)
    words = ["[PAD]", "[UNK]", *sorted(counts, key=lambda word: (-counts[word], word))]
    word_id = {word: index for index, word in enumerate(words)}
    assert not set(unseen) & set(word_id), "the unseen words never occur"
    block = np.array([word_id[word] for line in lines for word in line], dtype=np.int32)
    sentence_starts = np.cumsum([0] + [len(line) for line in lines[:-1]])
    args = TrainingArguments(dim=24, window=3, cbow=cbow, hs=hs, negative=negative, sample=0, alpha=0.05,
                             batch_size=256, subwords=True, min_n=3, max_n=5, bucket=4096)  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    vocab_size = len(words)
    embeddings = (torch.rand(vocab_size, args.dim, generator=generator) - 0.5) / args.dim
    ngrams = (torch.rand(args.bucket, args.dim, generator=generator) - 0.5) / args.dim
    context = torch.zeros(vocab_size, args.dim) if negative else None
    nodes = torch.zeros(vocab_size - 1, args.dim) if hs else None
    subword_rows = SubwordRows.from_words(words, args.min_n, args.max_n, args.bucket, without=(0, 1))
    sampling_tables = SamplingTables.from_counts(torch.tensor([0, 0] + [counts[word] for word in words[2:]]), [0, 1],
                                                 args.sample, args.ns_exponent, huffman_ties="hashed")  # fmt: skip
    engine = build_engine(engine_name, EngineInputs(embeddings, context, sampling_tables, args, torch.device("cpu"),
                                                    generator, nodes=nodes, ngrams=ngrams,
                                                    subword_rows=subword_rows))  # fmt: skip
    schedule = Schedule(args.alpha, args.min_alpha, epochs, epoch_words=block.shape[0], writers=engine.threads)

    def hits() -> int:
        starts, rows = torch.from_numpy(subword_rows.starts), torch.from_numpy(subword_rows.rows.astype(np.int64))
        own_ids = [[word_id[word] for word in topic_words] for topic_words in own]
        composed = torch.stack([(embeddings[w] + ngrams[rows[starts[w] : starts[w + 1]]].sum(0))
                                / (1 + starts[w + 1] - starts[w]) for topic in own_ids for w in topic])  # fmt: skip
        found = 0
        for topic, word in enumerate(unseen):
            vector = ngrams[ngram_buckets(word, args.min_n, args.max_n, args.bucket)].mean(0)
            similarity = torch.nn.functional.cosine_similarity(composed, vector.unsqueeze(0))
            found += int(similarity.argmax()) // len(own[0]) == topic
        return found

    before = hits()
    losses = []
    for epoch in range(epochs):
        result = engine.train_block(block, sentence_starts, epoch * block.shape[0], schedule)
        losses.append(result.loss / result.loss_pairs)
    assert losses[-1] < losses[0], losses
    # Counted as pairs for skip-gram (a word pairs with window + 1 neighbours on average, fewer at sentence ends).
    examples_per_word = 1 if cbow else args.window + 1
    assert 0.75 * examples_per_word * block.shape[0] < result.pairs <= examples_per_word * block.shape[0]
    for table in (embeddings, ngrams, context, nodes):
        assert table is None or torch.isfinite(table).all()
    return hits(), before, len(unseen)


# The interpreter takes seconds a run: Triton trains the two kernels with negative sampling (hierarchical
# softmax's subword steps are checked against the reference in tests/test_gpu_engine.py).
PLANTED_RUNS = [
    *(("torch", mode) for mode in PLANTED_MODES),
    *(pytest.param("triton", mode, marks=TRITON_ON_CPU) for mode in ("skipgram-ns", "cbow-ns")),
]


@pytest.mark.parametrize(("name", "mode"), PLANTED_RUNS)
def test_every_engine_puts_an_unseen_word_near_its_topic(name, mode, monkeypatch):
    if name == "triton":
        # Programs of 1,024 windows side by side, as the interpreter pays per operation, not per window; they read
        # the rows as they were before the chunk, as that many windows in flight on a GPU would.
        monkeypatch.setattr("word2vec_hub.training.triton_engine.TILE_ELEMENTS", 1 << 15)
    found, before, topics = train_planted(name, mode)
    assert before <= 3, "before training the unseen words are not yet near their topics"
    assert found >= topics - 1, f"{found} of {topics} unseen words have their own topic's words nearest"
