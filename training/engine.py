"""What every training engine offers the epoch loop, and the one place that builds the engine a run chose.

An engine trains the model's tables in place on one block of the encoded corpus at a time: `train_block` takes
the block, where its sentences start, how many words of all ranks were trained before it, and the run's
`Schedule`, and returns a `BlockResult`. The engines differ in where and how they apply word2vec's update:

    numba   (numba_engine.py)   word2vec's per-pair update compiled for the CPU, on `threads` threads (Hogwild)
    triton  (triton_engine.py)  the same update fused into one Triton kernel launch per block, on CUDA
    torch   (torch_engine.py)   shuffled batches of pairs as tensor operations, on any device

Each builds what it samples from out of the one `SamplingTables` and draws its random numbers from the run's
generator, so that a seed gives the same model run after run (with one thread). The triton engine also queues a
block without waiting for it (`LaunchingEngine.launch_block`): the epoch loop then reads the next block, and the
engine builds its examples, while this one trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from .arguments import TrainingArguments
from .sampling import SamplingTables
from .schedule import Schedule
from .subword_rows import SubwordRows


@dataclass
class BlockResult:
    """What training a block did: the summed loss over `loss_pairs` pairs (the numba engine measures it on a
    sample of its pairs, the others on all), and the number of pairs trained."""

    loss: float
    loss_pairs: int
    pairs: int


@dataclass
class LaunchedBlock:
    """A block whose training an engine has queued on its device and that may still be running: `result()` waits
    for it, and for nothing queued after it. `loss` is the summed loss (0-d), on the host once `ready` (a CUDA event
    recorded after its copy; None where the loss is computed on the host)."""

    loss: torch.Tensor
    loss_pairs: int
    pairs: int
    ready: torch.cuda.Event | None = None

    def result(self) -> BlockResult:
        if self.ready is not None:
            self.ready.synchronize()
        return BlockResult(self.loss.item(), self.loss_pairs, self.pairs)


class Engine(Protocol):
    # Threads of this process that train side by side (they count as writers of the schedule).
    threads: int

    def train_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> BlockResult: ...


@runtime_checkable
class LaunchingEngine(Engine, Protocol):
    """An engine on an asynchronous device also offers `launch_block`: it queues the block's training and returns
    without waiting for it, so that the epoch loop reads the block after it, and the engine builds that block's
    examples, while this one trains."""

    def launch_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> LaunchedBlock: ...


@dataclass
class EngineInputs:
    """What every engine is built from: the tables it trains in place (`[vocab_size, dim]` float32 on `device`;
    `nodes`, `[vocab_size - 1, dim]`, the inner nodes of hierarchical softmax when `args.hs`, else None; `context`
    None when `args.negative` is 0), the sampling distributions, the hyperparameters and the run's random
    generator."""

    embeddings: torch.Tensor
    context: torch.Tensor | None
    sampling: SamplingTables
    args: TrainingArguments
    device: torch.device
    generator: torch.Generator
    nodes: torch.Tensor | None = None
    # With `args.subwords`: the n-gram table `[rows, dim]` (float32 on `device`, trained in place) and each word's
    # rows of it (of a compact table: `SubwordRows.in_table`); `embeddings` then holds the words' own rows, not the
    # composed vectors a saved folder holds.
    ngrams: torch.Tensor | None = None
    subword_rows: SubwordRows | None = None
    # Processes of a torchrun job, all of them and those on this machine (they share its cores).
    world_size: int = 1
    local_world_size: int = 1

    def __post_init__(self):
        if self.args.hs and self.nodes is None:
            raise ValueError("hierarchical softmax (args.hs) needs the inner nodes' table: give EngineInputs.nodes")
        if self.args.negative and self.context is None:
            raise ValueError("negative sampling (args.negative > 0) needs the context table: give EngineInputs.context")
        if self.args.subwords and (self.ngrams is None or self.subword_rows is None):
            raise ValueError(
                "subwords (args.subwords) need the n-gram table and the words' rows of it: give "
                "EngineInputs.ngrams and EngineInputs.subword_rows"
            )


def build_engine(name: str, inputs: EngineInputs) -> Engine:
    """The engine `name` (as `devices.choose_backend` returned it), importing only its own kernels."""
    if name == "numba":
        from .numba_engine import NumbaEngine

        return NumbaEngine(inputs)
    if name == "triton":
        from .triton_engine import TritonEngine

        return TritonEngine(inputs)
    if name == "torch":
        from .torch_engine import TorchEngine

        return TorchEngine(inputs)
    raise ValueError(f"no engine is called {name!r}; devices.choose_backend names one")
