"""Data-parallel training on torch.distributed, for runs launched with torchrun.

Every rank reads its own shard of the corpus. The ranks merge their word counts, rank 0 builds the vocabulary and
broadcasts it, and every rank starts from rank 0's tables. Each rank then trains its copy of the tables with the
single-process engine (numba on CPUs, batched tensors on GPUs) and, every `sync_every` words, the ranks combine
what they changed since the last synchronisation. Only the rows some rank changed travel: a mask all-reduce
counts the ranks that changed each row, then one all-reduce carries those rows.

    sync="sum" (default):  row <- snapshot row + sum over ranks of (row_rank - snapshot row)
    sync="average":        row <- snapshot row + mean of (row_rank - snapshot row) over the ranks that changed it
    snapshot <- table

`sum` applies every rank's updates, as threads sharing one table do (an all-reduce of the accumulated updates);
`average` is model averaging, which shrinks each update by the number of ranks that made one. All-reduce hands
every rank the same sums, so the tables stay identical on every rank. gloo carries CPU tables, NCCL CUDA ones.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from .arguments import SYNC_CHOICES, SYNC_EVERY

# How long a rank waits in a collective for the others before it gives up (a rank that hangs, not one that dies:
# a dead rank's peers see its connection close at once).
COLLECTIVE_TIMEOUT = timedelta(minutes=10)

Result = TypeVar("Result")


class RankFailure(RuntimeError):
    """This rank lost the others (one died, or the network failed); training cannot go on."""


@dataclass
class Distributed:
    """This process's place in a torchrun job, and the collectives training needs."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    sync: str = "sum"
    sync_every: int = SYNC_EVERY
    seconds_synchronising: float = 0.0
    rows_sent: int = 0
    rows_total: int = 0
    _snapshots: list[torch.Tensor] = field(default_factory=list, repr=False)

    def __post_init__(self):
        if self.sync_every < 1:
            raise ValueError(f"sync_every must be at least 1 word, got {self.sync_every}")
        if self.sync not in SYNC_CHOICES:
            raise ValueError(f"sync must be one of {SYNC_CHOICES}, got {self.sync!r}")

    @classmethod
    def from_environment(cls, sync: str = "sum", sync_every: int = SYNC_EVERY) -> Distributed | None:
        """The job torchrun describes in RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE; None outside one."""
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            return None
        return cls(
            rank=int(os.environ["RANK"]),
            world_size=int(os.environ["WORLD_SIZE"]),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
            local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", 1)),
            sync=sync,
            sync_every=sync_every,
        )

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One GPU per rank on a machine: CUDA device LOCAL_RANK."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" else device

    def start(self, device: torch.device) -> None:
        if dist.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend, timeout=COLLECTIVE_TIMEOUT, device_id=device if device.type == "cuda" else None
        )

    def stop(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()

    def _collective(self, operation: Callable[[], Result]) -> Result:
        try:
            return operation()
        except RankFailure:
            raise
        except (RuntimeError, ConnectionError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise RankFailure(
                f"rank {self.rank} of {self.world_size} lost contact with the other ranks ({reason}): a rank died "
                "or the network failed"
            ) from error

    def merge_counts(self, counts: Counter[str]) -> Counter[str]:
        """The sum of every rank's counts."""
        gathered: list[Any] = [None] * self.world_size
        self._collective(lambda: dist.all_gather_object(gathered, counts))
        merged = Counter()
        for rank_counts in gathered:
            merged.update(rank_counts)
        return merged

    def broadcast(self, value: Any) -> Any:
        """Rank 0's `value` on every rank."""
        holder = [value]
        self._collective(lambda: dist.broadcast_object_list(holder, src=0))
        return holder[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value`, in rank order, on every rank."""
        gathered: list[Any] = [None] * self.world_size
        self._collective(lambda: dist.all_gather_object(gathered, value))
        return gathered

    def all_reduce(self, tensor: torch.Tensor, op: dist.ReduceOp = dist.ReduceOp.SUM) -> torch.Tensor:
        self._collective(lambda: dist.all_reduce(tensor, op=op))
        return tensor

    def share_tables(self, tables: list[torch.Tensor]) -> None:
        """Start every rank from rank 0's tables, and remember them as the last synchronised state."""
        for table in tables:
            self._collective(lambda table=table: dist.broadcast(table, src=0))
        self._snapshots = [table.clone() for table in tables]

    def synchronise_tables(self, tables: list[torch.Tensor]) -> None:
        """Combine what each rank changed since the last call (see the module docstring); only the rows some rank
        changed travel."""
        started = time.perf_counter()
        # One all-reduce of every table's changed rows (the tables may differ in rows: hierarchical softmax's nodes).
        changed = torch.cat(
            [(table != snapshot).any(dim=1) for table, snapshot in zip(tables, self._snapshots, strict=True)]
        ).to(torch.int32)
        self.all_reduce(changed)
        changed = changed.split([table.shape[0] for table in tables])
        for table, snapshot, ranks_changing in zip(tables, self._snapshots, changed, strict=True):
            rows = ranks_changing.nonzero().squeeze(1)
            change = self.all_reduce(table.index_select(0, rows) - snapshot.index_select(0, rows))
            if self.sync == "average":
                change /= ranks_changing.index_select(0, rows).unsqueeze(1).to(change.dtype)
            snapshot.index_add_(0, rows, change)
            table.index_copy_(0, rows, snapshot.index_select(0, rows))
            self.rows_sent += rows.numel()
            self.rows_total += table.shape[0]
        self.seconds_synchronising += time.perf_counter() - started
