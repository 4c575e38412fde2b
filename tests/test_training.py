"""Training learns, decays its learning rate, reproduces itself, and refuses unusable corpora."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch

from word2vec_hub.training import numba_engine, torch_engine
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import CorpusError, TextCorpus
from word2vec_hub.training.sampling import alias_table
from word2vec_hub.training.schedule import Schedule
from word2vec_hub.training.trainer import TrainingResult, train_word2vec

from .conftest import numba_thread_counts_at_each_call, planted_partner_hits


def test_planted_structure_is_learned(trained):
    model = trained.model
    assert planted_partner_hits(model) >= 19
    for topic in (0, 7, 13):
        neighbours = [word for word, _ in model.most_similar(f"a{topic}", topn=5)]
        assert all(word.startswith((f"t{topic}_", f"b{topic}")) for word in neighbours), neighbours
    assert model.similarity("a0", "b0") > model.similarity("a0", "w0") + 0.3


def test_loss_falls_and_counts_are_recorded(trained, planted_lines):
    losses = [record["loss"] for record in trained.history]
    assert len(losses) == 5
    assert losses[-1] < losses[0] - 0.1, losses
    config = trained.model.config
    assert config.corpus_word_count == sum(len(line.split()) for line in planted_lines)
    assert int(trained.model.counts.sum()) == config.corpus_word_count
    rates = [record["learning_rate"] for record in trained.history]
    assert rates == sorted(rates, reverse=True) and rates[-1] < config.alpha / 2, "the rate decays epoch by epoch"
    assert list(trained.phases) == ["reading", "vocabulary and encoding", "training"]
    assert all(seconds > 0 for seconds in trained.phases.values())
    assert sum(trained.phases.values()) <= trained.seconds


def test_learning_rate_decays_linearly_from_alpha_to_min_alpha():
    schedule = Schedule(alpha=0.03, min_alpha=0.001, epochs=1, epoch_words=1000)
    assert schedule.learning_rate(0) == pytest.approx(0.03)
    assert schedule.learning_rate(500) == pytest.approx(0.0155)
    assert schedule.learning_rate(1000) == pytest.approx(0.001)
    assert schedule.learning_rate(1500) == 0.001, "past the end, min_alpha exactly"
    four_threads = replace(schedule, writers=4)
    assert four_threads.learning_rate(500) == pytest.approx(0.0155), "threads share one count"
    assert four_threads.progress(500) == (0.5, 4 / 1000)


def test_gensim_schedule_restarts_each_epoch_and_decays_by_each_threads_share():
    schedule = Schedule(alpha=0.03, min_alpha=0.001, epochs=2, epoch_words=1000, kind="gensim", writers=2)
    assert schedule.learning_rate(0) == pytest.approx(0.03)
    # Half of epoch 1 done by 2 threads: each thread has done a quarter of the epoch's words.
    assert schedule.progress(500) == (pytest.approx(0.125), 1 / 2000)
    assert schedule.learning_rate(999.9) == pytest.approx(0.03 - 0.029 * 0.25, abs=1e-5)
    assert schedule.learning_rate(1000) == pytest.approx(0.0155), "epoch 2 starts halfway down"
    assert schedule.learning_rate(2000) == pytest.approx(0.03 - 0.029 * 0.75)
    one_thread = replace(schedule, writers=1)
    assert one_thread.learning_rate(500) == replace(one_thread, kind="linear").learning_rate(500)


@pytest.mark.parametrize("kind", ["linear", "gensim"])
def test_numba_kernel_trains_at_the_schedules_rate(kind):
    """The kernel's rate after a block (it reports its last) is the schedule's at the words done by then."""
    schedule = Schedule(alpha=0.03, min_alpha=0.001, epochs=2, epoch_words=5000, kind=kind, writers=2)
    ids = np.arange(4000, dtype=np.int32) % 8 + 2
    sentence_starts = np.arange(0, 4001, 20, dtype=np.int64)
    embeddings, context = np.zeros((10, 4), np.float32), np.zeros((10, 4), np.float32)
    table = numba_engine.packed_noise_table(alias_table(np.append([0.0, 0.0], np.ones(8))))
    words_done = 5000 + 1000  # into epoch 2, where the two schedules differ
    results = numba_engine.train_block(
        ids, sentence_starts, embeddings, context, np.ones(10, np.float32), table, 2, 1, schedule.alpha,
        schedule.min_alpha, *schedule.progress(words_done), np.array([1, 2], np.uint64), 2,
    )  # fmt: skip
    # Each of the two threads has done its 2,000 words: together 4,000 words of the block.
    assert results[:, 3] == pytest.approx([schedule.learning_rate(words_done + 4000)] * 2, rel=1e-9)
    assert replace(schedule, kind="linear" if kind == "gensim" else "gensim").learning_rate(
        words_done + 4000
    ) != pytest.approx(results[0, 3], rel=1e-3), "the schedules differ there, so the kernel followed this one"


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_same_seed_same_model_on_cpu(planted_lines, backend):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:1500]), name="planted")

    def train(seed: int) -> torch.Tensor:
        # One worker: several numba threads race on shared rows (Hogwild), which is fast but not reproducible.
        args = TrainingArguments(dim=16, epochs=2, progress=False, device="cpu", seed=seed, backend=backend, workers=1)
        return train_word2vec(corpus, args).model.embeddings

    first = train(7)
    assert torch.equal(first, train(7))
    assert not torch.equal(first, train(8))


# One setting for every engine's run. batch_size only concerns the torch engine (4096 keeps it fast on a CPU),
# workers only the numba engine (fixed, so that the reference is the same on a machine with more cores).
ENGINE_SETTINGS = {"dim": 32, "seed": 3, "batch_size": 4096, "workers": 2, "progress": False}


def train_counting_engine_steps(lines: list[str], device: str, backend: str) -> tuple[TrainingResult, Counter]:
    """Train on `lines`, counting the calls of each engine's step: `train_step` (torch), `train_block` (numba)."""
    calls = Counter()

    def counted(name: str, step):
        def step_and_count(*args, **kwargs):
            calls[name] += 1
            return step(*args, **kwargs)

        return step_and_count

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(torch_engine, "train_step", counted("torch", torch_engine.train_step))
        monkeypatch.setattr(numba_engine, "train_block", counted("numba", numba_engine.train_block))
        corpus = TextCorpus.from_text("\n".join(lines), name="planted")
        result = train_word2vec(corpus, TrainingArguments(device=device, backend=backend, **ENGINE_SETTINGS))
    return result, calls


def test_training_leaves_the_callers_torch_generator_as_it_was_and_its_seed_alone_sets_the_tables(planted_lines):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:500]), name="planted")
    args = TrainingArguments(dim=8, epochs=1, workers=1, seed=5, progress=False, device="cpu")
    tables = []
    for callers_seed in (123, 999):
        torch.manual_seed(callers_seed)
        callers_state = torch.get_rng_state()
        tables.append(train_word2vec(corpus, args).model.embeddings.detach().clone())
        assert torch.equal(torch.get_rng_state(), callers_state), "training reseeded or drew from the caller's RNG"
    torch.testing.assert_close(tables[0], tables[1], rtol=0, atol=0)


def test_the_numba_engine_trains_on_its_workers_and_gives_the_caller_its_thread_count_back(planted_lines, monkeypatch):
    import numba

    counts_in_blocks = numba_thread_counts_at_each_call(monkeypatch, numba_engine, "train_block")
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    corpus = TextCorpus.from_text("\n".join(planted_lines[:500]), name="planted")
    train_word2vec(corpus, TrainingArguments(dim=8, epochs=1, workers=1, progress=False, device="cpu"))
    assert counts_in_blocks and set(counts_in_blocks) == {1}
    # The caller's later numba work (a .bin's conversion, n-gram hashing) runs on its own count, not on one thread.
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS


@pytest.fixture(scope="module")
def cpu_engine_runs(planted_lines) -> dict[str, tuple[TrainingResult, Counter]]:
    return {backend: train_counting_engine_steps(planted_lines, "cpu", backend) for backend in ("numba", "torch")}


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_both_cpu_engines_learn_the_planted_structure(cpu_engine_runs, backend):
    result, calls = cpu_engine_runs[backend]
    other = "torch" if backend == "numba" else "numba"
    assert calls[backend] > 0 and calls[other] == 0, f"the {backend} engine trained, and only it: {dict(calls)}"
    assert result.model.device.type == "cpu"
    assert planted_partner_hits(result.model) >= 19
    assert result.history[-1]["loss"] < result.history[0]["loss"] - 0.5


def planted_quality(model) -> dict[str, float]:
    """How well a model learnt the planted corpus: partner hits, and the mean similarity of each `aN` to its
    partner `bN`, to the other `b` words and to the filler words."""
    topics, fillers = range(20), range(0, 100, 5)
    return {
        "partner hits": planted_partner_hits(model),
        "partner": sum(model.similarity(f"a{topic}", f"b{topic}") for topic in topics) / len(topics),
        "other partners": sum(model.similarity(f"a{topic}", f"b{other}") for topic in topics for other in topics
                              if other != topic) / (len(topics) * (len(topics) - 1)),
        "fillers": sum(model.similarity(f"a{topic}", f"w{filler}") for topic in topics for filler in fillers)
        / (len(topics) * len(fillers)),
    }  # fmt: skip


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"))],
)
def test_torch_engine_reaches_cpu_engine_quality(cpu_engine_runs, planted_lines, device):
    """The torch engine (batched tensors, on the CPU and on CUDA) against the numba engine on the CPU, same corpus
    and settings: within one partner hit, 0.03 of each mean similarity and 3% of the final loss."""
    if device == "cpu":
        result, calls = cpu_engine_runs["torch"]
    else:
        result, calls = train_counting_engine_steps(planted_lines, device, "torch")
    assert calls["torch"] > 0 and result.model.device.type == device
    reference, _ = cpu_engine_runs["numba"]
    quality, reference_quality = planted_quality(result.model), planted_quality(reference.model)
    assert quality["partner hits"] >= reference_quality["partner hits"] - 1
    for measure in ("partner", "other partners", "fillers"):
        assert quality[measure] == pytest.approx(reference_quality[measure], abs=0.03), (measure, quality)
    assert result.final_loss == pytest.approx(reference.final_loss, rel=0.03)


def test_an_empty_corpus_is_refused():
    with pytest.raises(CorpusError, match="is empty"):
        train_word2vec(TextCorpus.from_text("\n \n", name="blank"), TrainingArguments(progress=False))


def test_a_corpus_below_min_count_is_refused():
    with pytest.raises(CorpusError, match=r"occurs at least min_count=5 times.*lower --min-count"):
        train_word2vec(TextCorpus.from_text("one two three\nfour", name="tiny"), TrainingArguments(progress=False))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dim", 0, "dim must be at least 1"),
        ("min_alpha", 0.5, "min_alpha <= alpha"),
        ("sample", -1, "sample"),
        ("segmentation", "words", "segmentation must be one of auto, word, character, none"),
        ("word_discovery", "pkuseg", "word_discovery must be one of auto, jieba, corpus"),
    ],
)
def test_bad_hyperparameters_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainingArguments(**{field: value})


@pytest.mark.skipif(not torch.backends.mps.is_available(), reason="needs Apple MPS")
def test_mps_training_learns(planted_lines):
    corpus = TextCorpus.from_text("\n".join(planted_lines), name="planted")
    model = train_word2vec(corpus, TrainingArguments(dim=32, progress=False, device="mps", seed=3)).model
    assert planted_partner_hits(model) >= 19


def test_asking_for_a_missing_accelerator_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present, so asking for it is not an error here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        train_word2vec(TextCorpus.from_text("a b", name="x"), TrainingArguments(device="cuda", progress=False))
