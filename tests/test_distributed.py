"""Data-parallel training on torch.distributed: shards, identical tables on every rank, torchrun, rank failure."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as multiprocessing

from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import CorpusError, TextCorpus
from word2vec_hub.training.distributed import Distributed
from word2vec_hub.training.trainer import train_word2vec

from .conftest import REPO_ROOT, planted_partner_hits

ARGS = {"dim": 24, "epochs": 4, "min_count": 5, "sample": 1e-3, "seed": 3, "progress": False, "device": "cpu"}


def write_corpus(folder: Path, lines: list[str]) -> Path:
    path = folder / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("world_size", [2, 3, 5])
def test_plain_file_shards_hold_every_line_once(tmp_path, world_size):
    lines = [f"line {index} " + "word " * (index % 13) for index in range(500)]
    (tmp_path / "a.txt").write_text("\n".join(lines[:120]) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(lines[120:]))
    corpus = TextCorpus.from_files([str(tmp_path)])
    shards = [list(corpus.shard(rank, world_size)) for rank in range(world_size)]
    assert [line for shard in shards for line in shard] == [line.rstrip("\n") for line in lines]
    assert min(map(len, shards)) > 500 / world_size / 2, "byte ranges share the lines out evenly"


def test_one_huge_line_is_shared_out_at_spaces(tmp_path):
    words = [f"w{index}" for index in range(300_000)]
    (tmp_path / "one-line.txt").write_text(" ".join(words))
    corpus = TextCorpus.from_files([str(tmp_path / "one-line.txt")])
    shards = [" ".join(corpus.shard(rank, 2)).split() for rank in range(2)]
    assert shards[0] + shards[1] == words
    assert len(shards[1]) > 100_000


def test_compressed_files_go_whole_and_unsplittable_sources_are_refused(tmp_path):
    for name, lines in (("big.txt.gz", 300), ("small.txt.gz", 100), ("mid.txt.gz", 200)):
        with gzip.open(tmp_path / name, "wt") as handle:
            handle.write("".join(f"{name} {index}\n" for index in range(lines)))
    corpus = TextCorpus.from_files([str(tmp_path)])
    shards = [list(corpus.shard(rank, 2)) for rank in range(2)]
    assert sorted(line for shard in shards for line in shard) == sorted(corpus)
    assert {line.split()[0] for line in shards[0]} == {"big.txt.gz"}, "the largest file alone balances the rest"
    with pytest.raises(CorpusError, match="decompress them or split the corpus into at least 4 files"):
        corpus.shard(0, 4)
    stdin_corpus = TextCorpus(name="standard input", open_lines=lambda: iter(["a b"]))
    with pytest.raises(CorpusError, match="cannot be split among 2 processes; save it to a file"):
        stdin_corpus.shard(0, 2)


def train_rank(rank: int, world_size: int, rendezvous_file: str, corpus: str, output: str, mode: dict) -> None:
    # A file rendezvous: no port to pick, so no other process can take it between picking and binding.
    dist.init_process_group("gloo", init_method=f"file://{rendezvous_file}", rank=rank, world_size=world_size)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    os.environ.update(LOCAL_WORLD_SIZE=str(world_size))
    distributed = Distributed.from_environment(sync_every=4096)
    try:
        args = TrainingArguments(**ARGS, **mode)
        result = train_word2vec(TextCorpus.from_files([corpus]), args, distributed=distributed)
        torch.save({**result.model.state_dict(), "words": result.words_trained}, Path(output) / f"rank{rank}.pt")
    finally:
        distributed.stop()


# CBOW with both output layers, hierarchical softmax alone (no context table), and subwords' compact n-gram table:
# every table a mode can have, or not have, travels between the ranks.
@pytest.mark.parametrize(
    "mode",
    [{}, {"cbow": True, "hs": True}, {"hs": True, "negative": 0}, {"subwords": True, "bucket": 50_000}],
    ids=["skipgram-ns", "cbow-hs-ns", "skipgram-hs", "skipgram-subwords"],
)
def test_two_gloo_ranks_train_one_model_as_well_as_one_process(tmp_path, planted_lines, mode):
    corpus = write_corpus(tmp_path, planted_lines)
    spawn_args = (2, str(tmp_path / "rendezvous"), str(corpus), str(tmp_path), mode)
    multiprocessing.spawn(train_rank, args=spawn_args, nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]
    tables = ("word_embeddings.weight", "counts", *(["context"] if mode.get("negative", 5) else []))
    tables += ("nodes",) if mode.get("hs") else ()
    tables += ("ngrams", "ngram_buckets") if mode.get("subwords") else ()
    for name in tables:
        assert torch.equal(ranks[0][name], ranks[1][name]), f"{name} differ between the ranks"

    single = train_word2vec(TextCorpus.from_files([str(corpus)]), TrainingArguments(**ARGS, **mode))
    assert torch.equal(single.model.counts, ranks[0]["counts"]), "merged counts equal one process's counts"
    assert ranks[0]["words"] == single.words_trained, "the ranks together trained the whole corpus each epoch"
    distributed_model = single.model.__class__(single.model.config)
    distributed_model.load_state_dict({name: ranks[0][name] for name in tables})
    distributed_model.set_tokenizer(single.tokenizer)
    assert planted_partner_hits(distributed_model) >= planted_partner_hits(single.model) - 1 >= 17


def torchrun(tmp_path: Path, *arguments: str) -> subprocess.Popen:
    # --standalone: torchrun's own rendezvous store listens on a port the system gives it, and the workers use it.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               str(REPO_ROOT / "scripts" / "train.py"), *arguments]  # fmt: skip
    return subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def worker_pid(launcher: subprocess.Popen, rank: int) -> int:
    """The process torchrun started for `rank`, found by the RANK in its environment."""
    for task in Path(f"/proc/{launcher.pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
            continue
        for pid in children:
            try:
                environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except (FileNotFoundError, ProcessLookupError):  # a short-lived child gone meanwhile
                continue
            if f"RANK={rank}".encode() in environment:
                return int(pid)
    raise AssertionError(f"torchrun has no worker of rank {rank}")


@pytest.mark.skipif(sys.platform == "win32", reason="sends itself SIGTERM")
def test_a_rank_stopped_by_sigterm_ignores_the_sigterms_after_it():
    from word2vec_hub.commands.train import stop_on_sigterm
    from word2vec_hub.training.distributed import RankFailure

    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        with pytest.raises(RankFailure, match="stopped by SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
        # torchrun's second SIGTERM, while the first one's resume hint is being written: nothing is raised.
        os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds torchrun's workers through /proc (Linux)")
def test_a_dead_rank_stops_the_others_and_resume_finishes_the_run(tmp_path, planted_lines):
    corpus = write_corpus(tmp_path, planted_lines * 4)
    common = ["--corpus", str(corpus), "--dim", "24", "--no-progress", "--device", "cpu", "--output", "model"]
    launcher = torchrun(tmp_path, *common, "--epochs", "30", "--checkpoint-every", "100000")
    state = tmp_path / "model-checkpoint" / "trainer_state.json"
    deadline = time.monotonic() + 240
    while not state.exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.exists(), launcher.communicate()[1][-3000:]
    os.kill(worker_pid(launcher, rank=1), signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=120)
    assert launcher.returncode != 0
    # Rank 0 either finds rank 1 gone in a collective, or gets torchrun's SIGTERM first: either way one error line
    # that names what happened and tells how to resume.
    failures = re.findall(
        r"^error: (rank 0 of 2 lost contact with the other ranks \(.*\): a rank died or the network failed"
        r"|stopped by SIGTERM: torchrun stops the other ranks when one fails)"
        r"; restart the same torchrun command with --resume model-checkpoint$",
        stderr,
        flags=re.MULTILINE,
    )
    assert len(failures) == 1, stderr[-3000:]
    assert not (tmp_path / "model").exists(), "no half-trained model is left as the output"

    resumed = torchrun(tmp_path, *common, "--resume", "model-checkpoint")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr[-3000:]
    assert "saved to model" in stdout
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    assert model.config.epochs == 30
    assert planted_partner_hits(model) >= 18
