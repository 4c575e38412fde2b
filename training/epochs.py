"""The epochs of skip-gram with negative sampling over an encoded corpus, with checkpoints and Ctrl-C handling."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from word2vec_hub.modeling import Word2VecModel

from . import fast_cpu
from .arguments import TrainingArguments
from .corpus import CorpusError
from .devices import choose_backend, cpu_workers
from .distributed import Distributed
from .encoding import EncodedCorpus
from .sgns import NoiseSampler, keep_probabilities, noise_distribution, sgns_step, shuffled_pairs

BLOCK_TOKENS = 1 << 20


class TrainingInterrupted(Exception):
    """Training stopped on Ctrl-C after saving a checkpoint; `checkpoint` is where (None if none was asked for)."""

    def __init__(self, checkpoint: Path | None):
        super().__init__(f"interrupted; checkpoint saved to {checkpoint}" if checkpoint else "interrupted")
        self.checkpoint = checkpoint


class TrainingDiverged(ArithmeticError):
    """The loss or the vectors stopped being finite numbers: the learning rate is too high for this corpus."""


class SkipGramTrainer:
    """Runs the epochs: subsampling, dynamic windows, negative sampling, linear learning-rate decay.

    Three engines train the same model from the same encoded corpus: on the CPU word2vec's per-pair updates
    compiled with numba on `workers` threads; on CUDA the same updates of each block's shuffled pairs fused into
    one Triton kernel (`triton_sgns`); on any device shuffled batches of pairs as tensors (`sgns_step`).
    """

    def __init__(
        self,
        model: Word2VecModel,
        encoded: EncodedCorpus,
        args: TrainingArguments,
        device: torch.device,
        resume_state: dict | None = None,
        distributed: Distributed | None = None,
        corpus_tokens: int | None = None,
    ):
        self.model = model.to(device=device, dtype=torch.float32)
        self.encoded = encoded
        self.args = args
        self.device = device
        self.backend = choose_backend(args.backend, device)
        self.distributed = distributed
        self.rank = distributed.rank if distributed else 0
        self.world_size = distributed.world_size if distributed else 1
        # Ranks draw different random numbers; rank 0 draws what a single process draws.
        self.generator = torch.Generator(device=device).manual_seed(args.seed + 1_000_003 * self.rank)
        trainable_counts = model.counts.detach().cpu().clone()
        for special_id in (model.config.pad_token_id, model.config.unk_token_id):
            if special_id is not None:
                trainable_counts[special_id] = 0
        keep = keep_probabilities(trainable_counts, args.sample)
        noise = noise_distribution(trainable_counts, args.ns_exponent)
        if self.backend == "triton":
            from .triton_sgns import NoiseTable

            self.keep_probability = keep.float().to(device)
            self.noise_table = NoiseTable(*fast_cpu.noise_table(noise.numpy()), device)
        elif self.backend == "numba":
            self.workers = cpu_workers(args.workers, distributed.local_world_size if distributed else 1)
            numba.set_num_threads(min(self.workers, numba.config.NUMBA_NUM_THREADS))
            self.keep_threshold = keep.float().numpy()
            self.noise_table = fast_cpu.noise_table(noise.numpy())
        else:
            self.keep_probability = keep.float().to(device)
            self.noise = NoiseSampler(noise, device)
        # Every count of words below is over all ranks: each rank trains its share of every block.
        self.epoch_words = encoded.num_tokens if corpus_tokens is None else corpus_tokens
        self.total_words = args.epochs * self.epoch_words
        block_tokens = distributed.sync_every if distributed else BLOCK_TOKENS
        local_blocks = max(1, math.ceil(encoded.num_tokens / block_tokens))
        self.blocks_per_epoch = local_blocks
        if distributed is not None:
            local_blocks = torch.tensor([local_blocks], device=device)
            self.blocks_per_epoch = int(distributed.all_reduce(local_blocks, dist.ReduceOp.MAX).item())
        self.words_trained = 0
        # Where training stands: the next block to train, and the epoch's running sums.
        self.position = {"epoch": 0, "block": 0, "loss": 0.0, "loss_pairs": 0, "pairs": 0}
        self.history: list[dict] = []
        if resume_state is not None:
            self.words_trained = resume_state["words_trained"]
            self.position = resume_state["position"]
            self.history = resume_state["history"]
            generators = resume_state["generators"]
            if len(generators) != self.world_size:
                raise CorpusError(
                    f"the checkpoint was written by {len(generators)} process(es), this run has {self.world_size}; "
                    f"resume with torchrun --nproc-per-node (and --nnodes) giving {len(generators)} in all"
                )
            state = torch.tensor(list(base64.b64decode(generators[self.rank])), dtype=torch.uint8)
            self.generator.set_state(state)
        if distributed is not None:
            distributed.share_tables(self.tables)
        self.words_at_start = self.words_trained
        self.interrupted = False

    @property
    def writers(self) -> int:
        """Threads training side by side over all ranks."""
        return (self.workers if self.backend == "numba" else 1) * self.world_size

    @property
    def tables(self) -> list[torch.Tensor]:
        return [self.model.embeddings.data, self.model.context.data]

    def progress(self, words_done: float, writers: int = 1) -> tuple[float, float]:
        """Training progress (0 to 1, which sets the learning rate) when `words_done` words of all ranks are
        trained, and how much each further word of one of `writers` side-by-side threads adds to it."""
        if self.args.lr_schedule == "linear":
            return words_done / self.total_words, writers / self.total_words
        epoch = min(words_done // self.epoch_words, self.args.epochs - 1)
        within_epoch = (words_done - epoch * self.epoch_words) / writers / self.epoch_words
        return (epoch + within_epoch) / self.args.epochs, 1 / self.total_words

    def learning_rate(self, words_done: float, writers: int = 1) -> float:
        """The rate at `words_done`: alpha decaying linearly with progress to min_alpha (see arguments.LR_SCHEDULES)."""
        progress = min(self.progress(words_done, writers)[0], 1.0)
        return self.args.alpha - (self.args.alpha - self.args.min_alpha) * progress

    def _pairs(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = torch.from_numpy(block.astype(np.int64)).to(self.device)
        sentence_marks = torch.zeros(tokens.shape[0], dtype=torch.int32, device=self.device)
        sentence_marks[torch.from_numpy(sentence_starts).to(self.device)] = 1
        sentence_ids = torch.cumsum(sentence_marks, 0)
        return shuffled_pairs(tokens, sentence_ids, self.keep_probability, self.args.window, self.generator)

    def _train_block_torch(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[float, int, int]:
        embeddings, context = self.model.embeddings.data, self.model.context.data
        centers, contexts = self._pairs(block, sentence_starts)
        num_batches = max(1, math.ceil(centers.shape[0] / self.args.batch_size))
        words_per_batch = block.shape[0] / num_batches
        loss = torch.zeros((), dtype=torch.float64, device=self.device)
        for index in range(num_batches):
            batch = slice(index * self.args.batch_size, (index + 1) * self.args.batch_size)
            words_done = self.words_trained + index * words_per_batch * self.world_size
            learning_rate = self.learning_rate(words_done, self.writers)
            negatives = self.noise.sample((centers[batch].shape[0], self.args.negative), self.generator)
            loss += sgns_step(embeddings, context, centers[batch], contexts[batch], negatives, learning_rate)
        return loss.item(), centers.shape[0], centers.shape[0]

    def _train_block_triton(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[float, int, int]:
        from .triton_sgns import train_pairs

        centers, contexts = self._pairs(block, sentence_starts)
        seed = int(torch.randint(0, 2**31 - 1, (), generator=self.generator, device=self.device))
        block_words = block.shape[0] * self.world_size
        loss = train_pairs(
            self.model.embeddings.data,
            self.model.context.data,
            centers,
            contexts,
            self.noise_table,
            self.args.negative,
            self.learning_rate(self.words_trained, self.writers),
            self.learning_rate(self.words_trained + block_words, self.writers),
            seed,
        )
        return loss.item(), centers.shape[0], centers.shape[0]

    def _train_block_numba(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[float, int, int]:
        seeds = torch.randint(1, 2**62, (self.workers,), generator=self.generator).numpy().astype(np.uint64)
        results = fast_cpu.train_block(
            np.ascontiguousarray(block, dtype=np.int32),
            np.append(sentence_starts, block.shape[0]).astype(np.int64),
            self.model.embeddings.data.numpy(),
            self.model.context.data.numpy(),
            self.keep_threshold,
            self.noise_table,
            self.args.window,
            self.args.negative,
            self.args.alpha,
            self.args.min_alpha,
            *self.progress(self.words_trained, self.writers),
            seeds,
            self.workers,
        )
        return float(results[:, 0].sum()), int(results[:, 1].sum()), int(results[:, 2].sum())

    def state(self) -> dict:
        """What a checkpoint needs besides the model to continue exactly where training stands (a collective
        in a distributed run: every rank's random state goes in)."""
        generator = base64.b64encode(bytes(self.generator.get_state().cpu().tolist())).decode()
        return {
            "words_trained": self.words_trained,
            "position": dict(self.position),
            "history": self.history,
            "generators": self.distributed.gather(generator) if self.distributed else [generator],
        }

    def train(
        self,
        checkpoint: Callable[[dict], Path | None] | None = None,
        checkpoint_every: int = 0,
        log_file: Path | None = None,
    ) -> list[dict]:
        """Train in place; returns one record per epoch (`epoch`, `loss` per pair, `learning_rate`, `words`,
        `pairs`). On the CPU engine the loss is measured on a sample of the pairs.

        `checkpoint(state)` is called every `checkpoint_every` words and on Ctrl-C, which then raises
        `TrainingInterrupted`; `log_file` gets a JSON line per block.
        """
        with open(log_file, "a") if log_file is not None else contextlib.nullcontext() as log:
            return self._run_epochs(checkpoint, checkpoint_every, log)

    def _run_epochs(self, checkpoint, checkpoint_every: int, log) -> list[dict]:
        train_block = {
            "numba": self._train_block_numba,
            "triton": self._train_block_triton,
            "torch": self._train_block_torch,
        }[self.backend]
        bar = tqdm(
            total=self.total_words,
            initial=self.words_trained,
            unit="word",
            unit_scale=True,
            disable=not self.args.progress,
            desc="training",
            dynamic_ncols=True,
        )
        previous_handler = self._catch_interrupts()
        started, next_checkpoint = time.perf_counter(), self.words_trained + checkpoint_every
        try:
            while self.position["epoch"] < self.args.epochs:
                position = self.position
                for index, (block, sentence_starts) in enumerate(self.encoded.blocks(self.blocks_per_epoch)):
                    if index < position["block"]:
                        continue
                    words_before = self.words_trained
                    loss, loss_pairs, pairs = train_block(block, sentence_starts) if block.shape[0] else (0.0, 0, 0)
                    words, interrupted = block.shape[0], self.interrupted
                    if self.distributed is not None:
                        loss, loss_pairs, pairs, words, interrupted = self._synchronise(
                            loss, loss_pairs, pairs, words, interrupted
                        )
                    position.update(
                        block=index + 1,
                        loss=position["loss"] + loss,
                        loss_pairs=position["loss_pairs"] + loss_pairs,
                        pairs=position["pairs"] + pairs,
                    )
                    self.words_trained += words
                    learning_rate = self.learning_rate(self.words_trained, self.writers)
                    self._check_finite(loss, words_before)
                    bar.set_postfix(loss=f"{loss / max(loss_pairs, 1):.4f}", lr=f"{learning_rate:.5f}", refresh=False)
                    if self.words_trained < self.total_words:
                        bar.update(words)
                    else:
                        bar.n = self.words_trained  # drawn by bar.close() alone: the final line prints once
                    if log is not None:
                        elapsed = time.perf_counter() - started
                        record = {
                            "epoch": position["epoch"] + 1,
                            "words": self.words_trained,
                            "loss": loss / max(loss_pairs, 1),
                            "learning_rate": learning_rate,
                            "elapsed_seconds": round(elapsed, 3),
                            "words_per_second": (self.words_trained - self.words_at_start) / max(elapsed, 1e-9),
                        }
                        log.write(json.dumps(record) + "\n")
                        log.flush()
                    if interrupted:
                        raise TrainingInterrupted(checkpoint(self.state()) if checkpoint else None)
                    if checkpoint is not None and checkpoint_every and self.words_trained >= next_checkpoint:
                        checkpoint(self.state())
                        next_checkpoint = self.words_trained + checkpoint_every
                self.history.append(
                    {
                        "epoch": position["epoch"] + 1,
                        "loss": position["loss"] / max(position["loss_pairs"], 1),
                        "learning_rate": self.learning_rate(self.words_trained, self.writers),
                        "words": self.words_trained,
                        "pairs": position["pairs"],
                    }
                )
                self.position = {"epoch": position["epoch"] + 1, "block": 0, "loss": 0.0, "loss_pairs": 0, "pairs": 0}
        finally:
            bar.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        return self.history

    def _check_finite(self, loss: float, words_before: int) -> None:
        """Raise TrainingDiverged where the loss of the block that started at `words_before` or any value of the
        tables is not finite.

        After every block, as a float32 sum of each table (one read of the tables): NaN and infinity carry through a
        sum, which overflows only when values are so large that training has diverged anyway."""
        if math.isfinite(loss) and all(math.isfinite(table.sum().item()) for table in self.tables):
            return
        what = "loss" if not math.isfinite(loss) else "word vectors"
        first_rate = self.learning_rate(words_before, self.writers)
        last_rate = self.learning_rate(self.words_trained, self.writers)
        raise TrainingDiverged(
            f"training diverged: the {what} stopped being finite numbers in words {words_before:,} to "
            f"{self.words_trained:,} of {self.total_words:,}, trained at learning rates {first_rate:.4g} to "
            f"{last_rate:.4g} (--alpha {self.args.alpha:g}); the model was not saved; train again with a smaller "
            f"--alpha, such as {self.args.alpha / 10:g}"
        )

    def _synchronise(
        self, loss: float, loss_pairs: int, pairs: int, words: int, interrupted: bool
    ) -> tuple[float, int, int, int, bool]:
        """Average the tables over the ranks; the block's sums over all ranks, and whether any rank got Ctrl-C."""
        sums = torch.tensor([loss, loss_pairs, pairs, words, interrupted], dtype=torch.float64, device=self.device)
        self.distributed.all_reduce(sums)
        self.distributed.synchronise_tables(self.tables)
        loss, loss_pairs, pairs, words, interrupted = sums.tolist()
        return loss, int(loss_pairs), int(pairs), int(words), interrupted > 0

    def _catch_interrupts(self):
        """On Ctrl-C, finish the block in progress, so that a checkpoint holds a consistent state."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def interrupt(signum, frame):
            if self.interrupted:
                raise KeyboardInterrupt
            self.interrupted = True

        return signal.signal(signal.SIGINT, interrupt)
