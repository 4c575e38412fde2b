"""The epochs of training over an encoded corpus: `EpochLoop` walks the blocks and hands each to the run's engine
(`engine.Engine`); small collaborators take the loop's other concerns: the progress bar (`ProgressBar`), the JSON
log (`BlockLog`), when to save a checkpoint (`CheckpointTimer`), combining the ranks of a torchrun job
(`RankSync`), the user's callbacks (`CallbackRunner`) and Ctrl-C (`InterruptCatcher`)."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from word2vec_hub.modeling import Word2VecModel

from .arguments import TrainingArguments
from .callbacks import TrainerCallback, TrainerState
from .corpus import CorpusError
from .distributed import Distributed
from .encoding import EncodedCorpus
from .engine import BlockResult, EngineInputs, LaunchedBlock, LaunchingEngine, build_engine
from .sampling import SamplingTables
from .schedule import Schedule
from .subword_rows import SubwordRows

BLOCK_TOKENS = 1 << 20


class TrainingInterrupted(Exception):
    """Training stopped on Ctrl-C after saving a checkpoint; `checkpoint` is where (None if none was asked for)."""

    def __init__(self, checkpoint: Path | None):
        super().__init__(f"interrupted; checkpoint saved to {checkpoint}" if checkpoint else "interrupted")
        self.checkpoint = checkpoint


class TrainingDiverged(ArithmeticError):
    """The loss or the vectors stopped being finite numbers: the learning rate is too high for this corpus."""


class ProgressBar:
    """A tqdm bar of the words trained, with the last block's loss and the learning rate."""

    def __init__(self, total_words: int, words_trained: int, enabled: bool):
        self.total_words = total_words
        self.bar = tqdm(
            total=total_words,
            initial=words_trained,
            unit="word",
            unit_scale=True,
            disable=not enabled,
            desc="training",
            dynamic_ncols=True,
        )

    def advance(self, words: int, words_trained: int, loss_per_pair: float, learning_rate: float) -> None:
        self.bar.set_postfix(loss=f"{loss_per_pair:.4f}", lr=f"{learning_rate:.5f}", refresh=False)
        if words_trained < self.total_words:
            self.bar.update(words)
        else:
            self.bar.n = words_trained  # drawn by close() alone: the final line prints once

    def close(self) -> None:
        self.bar.close()


class BlockLog:
    """One JSON line a block (epoch, words, loss per pair, learning rate, elapsed seconds, words/s) in an open
    file, or nothing without one."""

    def __init__(self, file: TextIO | None, words_at_start: int):
        self.file, self.words_at_start = file, words_at_start
        self.started = time.perf_counter()

    def write(self, epoch: int, words_trained: int, loss_per_pair: float, learning_rate: float) -> None:
        if self.file is None:
            return
        elapsed = time.perf_counter() - self.started
        record = {
            "epoch": epoch,
            "words": words_trained,
            "loss": loss_per_pair,
            "learning_rate": learning_rate,
            "elapsed_seconds": round(elapsed, 3),
            "words_per_second": (words_trained - self.words_at_start) / max(elapsed, 1e-9),
        }
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()


class CheckpointTimer:
    """Says when a checkpoint is due: every `every` words from `words_trained` on (never with 0)."""

    def __init__(self, every: int, words_trained: int):
        self.every = every
        self.next_at = words_trained + every

    def due(self, words_trained: int) -> bool:
        if not self.due_at(words_trained):
            return False
        self.next_at = words_trained + self.every
        return True

    def due_at(self, words_trained: int) -> bool:
        """Whether `due(words_trained)` would be true, without starting the next interval."""
        return bool(self.every) and words_trained >= self.next_at


@dataclass
class InFlightBlock:
    """A block whose training has started: its number in the epoch, its words, and the engine's handle on it."""

    index: int
    words: int
    launched: LaunchedBlock


class RankSync:
    """After each block of a torchrun job: the tables combined over the ranks (`Distributed.synchronise_tables`),
    and the block's sums over all ranks; a single process passes everything through."""

    def __init__(self, distributed: Distributed | None, tables: list[torch.Tensor], device: torch.device):
        self.distributed, self.tables, self.device = distributed, tables, device

    def combine(self, result: BlockResult, words: int, interrupted: bool) -> tuple[BlockResult, int, bool]:
        """The block's result and words over all ranks, and whether any rank got Ctrl-C."""
        if self.distributed is None:
            return result, words, interrupted
        sums = torch.tensor(
            [result.loss, result.loss_pairs, result.pairs, words, interrupted], dtype=torch.float64, device=self.device
        )
        self.distributed.all_reduce(sums)
        self.distributed.synchronise_tables(self.tables)
        loss, loss_pairs, pairs, words, interrupted = sums.tolist()
        return BlockResult(loss, int(loss_pairs), int(pairs)), int(words), interrupted > 0

    def agree(self, flag: bool) -> bool:
        """Whether `flag` is set on any rank."""
        if self.distributed is None:
            return flag
        flags = torch.tensor([float(flag)], dtype=torch.float64, device=self.device)
        self.distributed.all_reduce(flags)
        return flags.item() > 0


class CallbackRunner:
    """Calls the run's `TrainerCallback`s with its `TrainerState` and says whether one asked training to stop (in
    a torchrun job: whether one on any rank did, so that every rank stops at the same block). `before` runs before
    the callbacks of each hook, where there are any (it brings the model up to date for them)."""

    def __init__(
        self,
        callbacks: list[TrainerCallback],
        state: TrainerState,
        sync: RankSync,
        before: Callable[[], None] | None = None,
    ):
        self.callbacks, self.state, self.sync = callbacks, state, sync
        self.before = before

    def call(self, hook: str) -> bool:
        if self.callbacks and self.before is not None:
            self.before()
        for callback in self.callbacks:
            getattr(callback, hook)(self.state)
        return self.sync.agree(self.state.should_training_stop)


class InterruptCatcher:
    """While active, a first Ctrl-C only sets `requested`, so that the block in progress finishes and a checkpoint
    holds a consistent state; a second one interrupts at once. Only the main thread can catch signals."""

    def __init__(self):
        self.requested = False

    @contextlib.contextmanager
    def active(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def interrupt(signum, frame):
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True

        previous_handler = signal.signal(signal.SIGINT, interrupt)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous_handler)


class EpochLoop:
    """Runs the epochs with the engine `engine_name` (as `devices.choose_backend` chose it): subsampling, dynamic
    windows, negative sampling and the learning-rate schedule are the engine's and the schedule's, resuming,
    checkpoints and the record of each epoch are the loop's.

    With subwords (`args.subwords`, `subword_rows` each word's n-gram rows) the model's `embeddings` hold the
    composed vectors (each word's fastText vector) before and after training, as a folder holds them: the engine
    trains the words' own rows (`own_rows`, recovered from the composed vectors at the start) and the model's
    `ngrams`, and the composed vectors are written back (`compose`) before callbacks, checkpoints and the end."""

    def __init__(
        self,
        model: Word2VecModel,
        encoded: EncodedCorpus,
        args: TrainingArguments,
        device: torch.device,
        engine_name: str,
        resume_state: dict | None = None,
        distributed: Distributed | None = None,
        corpus_tokens: int | None = None,
        subword_rows: SubwordRows | None = None,
    ):
        self.model = model.to(device=device, dtype=torch.float32)
        if args.subwords and (subword_rows is None or model.ngrams is None):
            raise ValueError("subwords (args.subwords) need a model with an n-gram table and the words' subword_rows")
        self.subword_rows = subword_rows if args.subwords else None
        self.own_rows = None
        if self.subword_rows is not None:
            self.own_rows = self.subword_rows.own_rows(self.model.embeddings.data, self.model.ngrams.data)
        self.encoded = encoded
        self.args = args
        self.device = device
        self.distributed = distributed
        self.rank = distributed.rank if distributed else 0
        self.world_size = distributed.world_size if distributed else 1
        # Ranks draw different random numbers; rank 0 draws what a single process draws.
        self.generator = torch.Generator(device=device).manual_seed(args.seed + 1_000_003 * self.rank)
        config = model.config
        sampling = SamplingTables.from_counts(
            model.counts,
            [config.pad_token_id, config.unk_token_id],
            args.sample,
            args.ns_exponent,
            huffman_ties=config.huffman_ties,
        )
        self.engine = build_engine(
            engine_name,
            EngineInputs(
                embeddings=self.model.embeddings.data if self.own_rows is None else self.own_rows,
                ngrams=self.model.ngrams.data if self.own_rows is not None else None,
                subword_rows=self.subword_rows,
                context=None if args.negative == 0 else self.model.context.data,
                nodes=self.model.nodes.data if args.hs else None,
                sampling=sampling,
                args=args,
                device=device,
                generator=self.generator,
                world_size=self.world_size,
                local_world_size=distributed.local_world_size if distributed else 1,
            ),
        )
        # Every count of words below is over all ranks: each rank trains its share of every block.
        self.schedule = Schedule(
            alpha=args.alpha,
            min_alpha=args.min_alpha,
            epochs=args.epochs,
            epoch_words=encoded.num_tokens if corpus_tokens is None else corpus_tokens,
            kind=args.lr_schedule,
            writers=self.engine.threads * self.world_size,
        )
        self.total_words = self.schedule.total_words
        block_tokens = distributed.sync_every if distributed else BLOCK_TOKENS
        self.blocks_per_epoch = max(1, math.ceil(encoded.num_tokens / block_tokens))
        if distributed is not None:
            local_blocks = torch.tensor([self.blocks_per_epoch], device=device)
            self.blocks_per_epoch = int(distributed.all_reduce(local_blocks, dist.ReduceOp.MAX).item())
        self.words_trained = 0
        # Where training stands: the next block to train, and the epoch's running sums.
        self.position = {"epoch": 0, "block": 0, "loss": 0.0, "loss_pairs": 0, "pairs": 0}
        self.history: list[dict] = []
        if resume_state is not None:
            self._resume(resume_state)
        if distributed is not None:
            distributed.share_tables(self.tables)
        self.words_at_start = self.words_trained
        # The model's composed vectors are those of this count of words trained (a folder's, at the start).
        self.composed_at = self.words_trained
        # Whether a callback ended training before its last epoch.
        self.stopped_early = False

    @property
    def tables(self) -> list[torch.Tensor]:
        """The tables training changes: the input vectors (with subwords: the words' own rows and the n-gram table)
        and the output layers the run trains."""
        output_layers = [self.model.context if self.args.negative else None, self.model.nodes if self.args.hs else None]
        inputs = [self.model.embeddings.data] if self.own_rows is None else [self.own_rows, self.model.ngrams.data]
        return [*inputs, *(layer.data for layer in output_layers if layer is not None)]

    def compose(self) -> None:
        """With subwords, write each word's fastText vector (the mean of its own and n-gram rows) into the model's
        `embeddings`, so that queries, callbacks and saved folders see what a folder holds; else nothing."""
        if self.own_rows is None or self.composed_at == self.words_trained:
            return
        self.subword_rows.compose(self.own_rows, self.model.ngrams.data, self.model.embeddings.data)
        self.model.forget_row_norms()
        self.composed_at = self.words_trained

    def _resume(self, state: dict) -> None:
        self.words_trained = state["words_trained"]
        self.position = state["position"]
        self.history = state["history"]
        generators = state["generators"]
        if len(generators) != self.world_size:
            raise CorpusError(
                f"the checkpoint was written by {len(generators)} process(es), this run has {self.world_size}; "
                f"resume with torchrun --nproc-per-node (and --nnodes) giving {len(generators)} in all"
            )
        self.generator.set_state(torch.tensor(list(base64.b64decode(generators[self.rank])), dtype=torch.uint8))

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
        callbacks: list[TrainerCallback] | None = None,
    ) -> list[dict]:
        """Train in place; returns one record per epoch (`epoch`, `loss` per pair, `learning_rate`, `words`,
        `pairs`). On the numba engine the loss is measured on a sample of the pairs.

        `checkpoint(state)` is called every `checkpoint_every` words, on Ctrl-C, which then raises
        `TrainingInterrupted`, and when a callback stops training (`stopped_early` is then set); `log_file` gets a
        JSON line per block; `callbacks` are called as `training.callbacks` describes.
        """
        bar = ProgressBar(self.total_words, self.words_trained, self.args.progress)
        checkpoint_timer = CheckpointTimer(checkpoint_every if checkpoint is not None else 0, self.words_trained)
        sync = RankSync(self.distributed, self.tables, self.device)
        state = TrainerState(
            model=self.model,
            args=self.args,
            epoch=self.position["epoch"] + 1,
            words_trained=self.words_trained,
            total_words=self.total_words,
            history=self.history,
        )
        hooks = CallbackRunner(callbacks or [], state, sync, before=self.compose)
        with (
            open(log_file, "a") if log_file is not None else contextlib.nullcontext() as log_handle,
            InterruptCatcher().active() as interrupts,
        ):
            log = BlockLog(log_handle, self.words_at_start)

            def finish(in_flight: InFlightBlock, alone: bool) -> bool:
                """Count a trained block, report it and do what is due after it; whether training stops. A Ctrl-C
                waits for the block after it (`alone` False: one is still training), so that a checkpoint holds
                both."""
                words_before = self.words_trained
                result = in_flight.launched.result()
                interrupted = interrupts.requested and alone
                result, words, interrupted = sync.combine(result, in_flight.words, interrupted)
                # The engines write the table through `.data`, which the model's kept row norms cannot see.
                self.model.forget_row_norms()
                self._count(in_flight.index, result, words)
                learning_rate = self.schedule.learning_rate(self.words_trained)
                checkpoint_due = checkpoint_timer.due(self.words_trained)
                # The tables are read in full only before they are saved: the loss shows a divergence first.
                self._check_finite(result.loss, words_before, tables=interrupted or checkpoint_due)
                loss_per_pair = result.loss / max(result.loss_pairs, 1)
                bar.advance(words, self.words_trained, loss_per_pair, learning_rate)
                log.write(self.position["epoch"] + 1, self.words_trained, loss_per_pair, learning_rate)
                if interrupted:
                    raise TrainingInterrupted(self._save(checkpoint) if checkpoint else None)
                self._update(state, loss_per_pair, learning_rate)
                if hooks.call("on_block_end"):
                    return True
                if checkpoint_due:
                    self._save(checkpoint)
                return False

            try:
                stop = hooks.call("on_train_begin")
                while not stop and self.position["epoch"] < self.args.epochs:
                    epoch_start = self.words_trained
                    state.epoch = self.position["epoch"] + 1
                    if stop := hooks.call("on_epoch_begin"):
                        break
                    in_flight: InFlightBlock | None = None
                    for index, (block, sentence_starts) in enumerate(self.encoded.blocks(self.blocks_per_epoch)):
                        if index < self.position["block"]:
                            continue
                        if in_flight is not None and not self._may_overlap(
                            in_flight, hooks, interrupts, checkpoint_timer
                        ):
                            stop, in_flight = finish(in_flight, alone=True), None
                            if stop:
                                break
                        ahead = in_flight.words if in_flight is not None else 0
                        launched = InFlightBlock(
                            index, block.shape[0], self._launch_block(block, sentence_starts, ahead)
                        )
                        if in_flight is not None:
                            # The block before, while this one trains: it ends nothing (`_may_overlap`).
                            finish(in_flight, alone=False)
                        in_flight = launched
                        if not self._keeps_a_block_in_flight(hooks):
                            # Counted at once, before the next block is read, where none may run ahead of it.
                            stop, in_flight = finish(in_flight, alone=True), None
                            if stop:
                                break
                    if in_flight is not None and not stop:
                        stop = finish(in_flight, alone=True)
                    if stop:
                        break
                    self._check_finite(0.0, epoch_start, tables=True)
                    self._end_epoch()
                    stop = hooks.call("on_epoch_end")
                if stop:
                    self.stopped_early = True
                    self._check_finite(0.0, self.words_trained, tables=True)
                    if checkpoint is not None:
                        self._save(checkpoint)
                self.compose()
                hooks.call("on_train_end")
            finally:
                bar.close()
        return self.history

    def _save(self, checkpoint: Callable[[dict], Path | None]) -> Path | None:
        self.compose()  # a checkpoint is a model folder: it holds the composed vectors
        return checkpoint(self.state())

    def _update(self, state: TrainerState, loss_per_pair: float, learning_rate: float) -> None:
        position = self.position
        state.words_trained = self.words_trained
        state.loss = loss_per_pair
        state.epoch_loss = position["loss"] / max(position["loss_pairs"], 1)
        state.learning_rate = learning_rate

    def _launch_block(self, block: np.ndarray, sentence_starts: np.ndarray, words_ahead: int) -> LaunchedBlock:
        """Start training the block, `words_ahead` words after those counted (a block still training): queued on
        the device by an engine that can (`LaunchingEngine`), trained at once by the others."""
        words_done = self.words_trained + words_ahead
        if not block.shape[0]:
            # A rank whose shard ran out still takes part in synchronising the block.
            return LaunchedBlock(torch.zeros((), dtype=torch.float64), 0, 0)
        if isinstance(self.engine, LaunchingEngine):
            return self.engine.launch_block(block, sentence_starts, words_done, self.schedule)
        result = self.engine.train_block(block, sentence_starts, words_done, self.schedule)
        return LaunchedBlock(torch.tensor(result.loss, dtype=torch.float64), result.loss_pairs, result.pairs)

    def _may_overlap(
        self,
        in_flight: InFlightBlock,
        hooks: CallbackRunner,
        interrupts: InterruptCatcher,
        checkpoint_timer: CheckpointTimer,
    ) -> bool:
        """Whether the next block may start before `in_flight` is counted: where blocks may run ahead
        (`_keeps_a_block_in_flight`) and nothing reads the tables once it is counted (no Ctrl-C pending, no
        checkpoint due)."""
        return (
            self._keeps_a_block_in_flight(hooks)
            and not interrupts.requested
            and not checkpoint_timer.due_at(self.words_trained + in_flight.words)
        )

    def _keeps_a_block_in_flight(self, hooks: CallbackRunner) -> bool:
        """Whether a block may still train while the one before is counted: on an engine that queues its blocks,
        in one process (a torchrun job combines the tables after each block), with no callbacks (which may read
        the model, or stop training)."""
        return isinstance(self.engine, LaunchingEngine) and self.distributed is None and not hooks.callbacks

    def _count(self, index: int, result: BlockResult, words: int) -> None:
        position = self.position
        position.update(
            block=index + 1,
            loss=position["loss"] + result.loss,
            loss_pairs=position["loss_pairs"] + result.loss_pairs,
            pairs=position["pairs"] + result.pairs,
        )
        self.words_trained += words

    def _end_epoch(self) -> None:
        position = self.position
        self.history.append(
            {
                "epoch": position["epoch"] + 1,
                "loss": position["loss"] / max(position["loss_pairs"], 1),
                "learning_rate": self.schedule.learning_rate(self.words_trained),
                "words": self.words_trained,
                "pairs": position["pairs"],
            }
        )
        self.position = {"epoch": position["epoch"] + 1, "block": 0, "loss": 0.0, "loss_pairs": 0, "pairs": 0}

    def _check_finite(self, loss: float, words_before: int, tables: bool) -> None:
        """Raise TrainingDiverged where the loss of the words trained since `words_before` is not finite or, with
        `tables`, any value of the tables is not.

        The tables are checked as a float32 sum of each (one read of the tables): NaN and infinity carry through a
        sum, which overflows only when values are so large that training has diverged anyway."""
        finite_tables = not tables or all(math.isfinite(table.sum().item()) for table in self.tables)
        if math.isfinite(loss) and finite_tables:
            return
        what = "loss" if not math.isfinite(loss) else "word vectors"
        first_rate = self.schedule.learning_rate(words_before)
        last_rate = self.schedule.learning_rate(self.words_trained)
        raise TrainingDiverged(
            f"training diverged: the {what} stopped being finite numbers in words {words_before:,} to "
            f"{self.words_trained:,} of {self.total_words:,}, trained at learning rates {first_rate:.4g} to "
            f"{last_rate:.4g} (--alpha {self.args.alpha:g}); the model was not saved; train again with a smaller "
            f"--alpha, such as {self.args.alpha / 10:g}"
        )
