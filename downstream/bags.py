"""Texts as bags of ids (words, or rows of the hashed table) for training the text classifier, and row-wise
Adagrad on the rows of a table that a batch of texts holds.

Under mean pooling every row of a text gets the same gradient, the loss's gradient over the text vector divided by
the text's size (`text_gradients`), times the row's count in the text; a row held by several texts of a batch sums
theirs. Row-wise Adagrad keeps one sum of squared gradients a row (the mean over its coordinates) instead of one a
number, as recommender models train their embedding tables.

On the CPU, with float32 tables, compiled loops (numba, `cache=True`: compiled once, then loaded from
`__pycache__`) build the bags, pool a batch and step the table: each text's rows are read once where they lie, and
each row's gradient is summed in a compact scratch row and applied once. The tensor path, which runs elsewhere
(CUDA, MPS, 16-bit tables), sorts every occurrence to build the bags (`torch.unique`), copies a batch's entries to
pool them, and for a step materialises an `[entries, dim]` temporary, sorts the batch's rows and scatters twice: on
BBC News the loops halved the CPU time from loading the vectors to the trained model (benchmarks/README.md, "issue
23: after the compiled loops").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numba import njit

# Adagrad's eps, as torch.optim.Adagrad's default.
EPS = 1e-10


def compiled(tensor: torch.Tensor) -> bool:
    """Whether the compiled loops take this table: float32 in the CPU's memory."""
    return tensor.device.type == "cpu" and tensor.dtype == torch.float32


@dataclass
class Bags:
    """Each text's distinct ids (words, or rows of the hashed table) and how often it holds each, in compressed
    rows: text i holds `ids[offsets[i]:offsets[i + 1]]`, `weights` times each."""

    ids: torch.Tensor  # [entries] long
    weights: torch.Tensor  # [entries] float32
    offsets: torch.Tensor  # [texts + 1] long

    @classmethod
    def from_occurrences(cls, texts: torch.Tensor, ids: torch.Tensor, id_count: int, text_count: int) -> Bags:
        """The bags of the occurrences of `ids` `[occurrences]` (each below `id_count`) in `texts` (same shape);
        on the CPU each text's ids in the order they first occur."""
        if texts.device.type == "cpu":
            ids, weights, offsets = _bags_kernel(texts.numpy(), ids.numpy(), id_count, text_count)
            return cls(torch.from_numpy(ids), torch.from_numpy(weights), torch.from_numpy(offsets))
        return cls.from_keys(texts * id_count + ids, id_count, text_count)

    @classmethod
    def from_keys(cls, keys: torch.Tensor, id_count: int, text_count: int) -> Bags:
        """The bags of `keys` `[occurrences]` = text * id_count + id, in tensors (each text's ids sorted)."""
        distinct, counts = torch.unique(keys, return_counts=True)
        per_text = torch.bincount(distinct.div(id_count, rounding_mode="floor"), minlength=text_count)
        offsets = torch.cat([per_text.new_zeros(1), per_text.cumsum(0)])
        return cls(distinct % id_count, counts.float(), offsets)

    def sizes(self) -> torch.Tensor:
        """Each text's number of occurrences `[texts]`."""
        return torch.zeros(len(self.offsets) - 1, device=self.ids.device).index_add_(0, self.texts(), self.weights)

    def texts(self) -> torch.Tensor:
        """The text of each entry `[entries]`."""
        return torch.repeat_interleave(torch.arange(len(self.offsets) - 1, device=self.ids.device), self.offsets.diff())

    def select(self, batch: torch.Tensor) -> Bags:
        """The bags of the texts `batch` `[batch]`, in that order."""
        starts, lengths = self.offsets[batch], self.offsets[batch + 1] - self.offsets[batch]
        offsets = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
        within = torch.arange(int(offsets[-1]), device=batch.device) - offsets[:-1].repeat_interleave(lengths)
        positions = starts.repeat_interleave(lengths) + within
        return Bags(self.ids[positions], self.weights[positions], offsets)

    def sums(self, table: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
        """The sum of the rows of `table` `[rows, dim]` in each text (or in the texts `batch` `[batch]`, in that
        order) `[texts, dim]`."""
        if batch is not None and compiled(table):
            sums = table.new_zeros(len(batch), table.shape[1])
            _sums_kernel(
                table.detach().numpy(), self.ids.numpy(), self.weights.numpy(), self.offsets.numpy(), batch.numpy(),
                sums.numpy(),
            )  # fmt: skip
            return sums
        bags = self if batch is None else self.select(batch)
        return torch.nn.functional.embedding_bag(
            bags.ids, table, bags.offsets[:-1], mode="sum", per_sample_weights=bags.weights.to(table.dtype)
        )


class RowwiseAdagrad:
    """Row-wise Adagrad for `table` `[rows, dim]` (updated in place), whose rows the texts use as `bags` say."""

    def __init__(self, table: torch.Tensor, bags: Bags, batch_size: int):
        self.table, self.bags = table, bags
        self.squares = table.new_zeros(len(table), dtype=torch.float32)
        if compiled(table):
            # A batch holds at most its texts' entries, and at most every row, in its compact scratch rows.
            largest = int(bags.offsets.diff().sort(descending=True).values[:batch_size].sum())
            capacity = max(1, min(len(table), largest))
            self.scratch = np.empty((capacity, table.shape[1]), dtype=np.float32)
            self.slot_of = np.full(len(table), -1, dtype=np.int32)
            self.held = np.empty(capacity, dtype=np.int64)

    @torch.no_grad()
    def step(self, batch: torch.Tensor, text_gradients: torch.Tensor, learning_rate: float) -> None:
        """One step on the rows that the texts `batch` `[batch]` hold, from their `text_gradients` `[batch, dim]`."""
        if compiled(self.table):
            _rowwise_adagrad_kernel(
                self.table.numpy(), self.squares.numpy(), self.bags.ids.numpy(), self.bags.weights.numpy(),
                self.bags.offsets.numpy(), batch.numpy(), text_gradients.contiguous().numpy(), learning_rate,
                self.scratch, self.slot_of, self.held,
            )  # fmt: skip
        else:
            rowwise_adagrad_step(self.table, self.squares, self.bags.select(batch), text_gradients, learning_rate)


@torch.no_grad()
def rowwise_adagrad_step(
    table: torch.Tensor, squares: torch.Tensor, bags: Bags, text_gradients: torch.Tensor, learning_rate: float
) -> None:
    """Row-wise Adagrad's step in tensors, on the rows of `table` `[rows, dim]` that `bags` (one bag a row of
    `text_gradients` `[texts, dim]`) holds; `squares` `[rows]` sums each row's mean squared gradient."""
    rows, inverse = torch.unique(bags.ids, return_inverse=True)
    gradient = torch.zeros(len(rows), table.shape[1], device=table.device, dtype=torch.float32)
    gradient.index_add_(0, inverse, text_gradients.float()[bags.texts()] * bags.weights.unsqueeze(1))
    sums = squares[rows] + gradient.square().mean(1)
    squares[rows] = sums
    table.index_add_(0, rows, (gradient * (-learning_rate / (sums.sqrt() + EPS)).unsqueeze(1)).to(table.dtype))


@njit(nogil=True, cache=True)
def _bags_kernel(texts, ids, id_count, text_count):  # pragma: no cover - compiled
    # The occurrences grouped by text (a counting sort), then each text's distinct ids in the order they first
    # occur, counted in a table over the ids that is cleared after each text.
    starts = np.zeros(text_count + 1, dtype=np.int64)
    for text in texts:
        starts[text + 1] += 1
    for text in range(text_count):
        starts[text + 1] += starts[text]
    grouped = np.empty(ids.shape[0], dtype=np.int64)
    filled = starts[:-1].copy()
    for occurrence in range(ids.shape[0]):
        text = texts[occurrence]
        grouped[filled[text]] = ids[occurrence]
        filled[text] += 1
    counts = np.zeros(id_count, dtype=np.int32)
    distinct = np.empty(ids.shape[0], dtype=np.int64)
    weights = np.empty(ids.shape[0], dtype=np.float32)
    offsets = np.zeros(text_count + 1, dtype=np.int64)
    entries = 0
    for text in range(text_count):
        first = entries
        for position in range(starts[text], starts[text + 1]):
            key = grouped[position]
            if counts[key] == 0:
                distinct[entries] = key
                entries += 1
            counts[key] += 1
        for entry in range(first, entries):
            weights[entry] = counts[distinct[entry]]
            counts[distinct[entry]] = 0
        offsets[text + 1] = entries
    return distinct[:entries].copy(), weights[:entries].copy(), offsets


@njit(fastmath=True, nogil=True, cache=True)
def _sums_kernel(table, ids, weights, offsets, batch, sums):  # pragma: no cover - compiled
    for position in range(batch.shape[0]):
        text = batch[position]
        for entry in range(offsets[text], offsets[text + 1]):
            row, weight = ids[entry], weights[entry]
            for d in range(table.shape[1]):
                sums[position, d] += weight * table[row, d]


@njit(fastmath=True, nogil=True, cache=True)
def _rowwise_adagrad_kernel(
    table, squares, ids, weights, offsets, batch, text_gradients, learning_rate, scratch, slot_of, held
):  # pragma: no cover - compiled
    # Each row's gradient is summed in a compact scratch row (its slot), near the others in memory: the table's
    # rows are far apart, and each is read and written once a step.
    dim = table.shape[1]
    count = 0
    for position in range(batch.shape[0]):
        text = batch[position]
        gradient = text_gradients[position]
        for entry in range(offsets[text], offsets[text + 1]):
            row = ids[entry]
            weight = weights[entry]
            slot = slot_of[row]
            if slot < 0:
                slot = count
                slot_of[row] = slot
                held[slot] = row
                count += 1
                for d in range(dim):
                    scratch[slot, d] = weight * gradient[d]
            else:
                for d in range(dim):
                    scratch[slot, d] += weight * gradient[d]
    for slot in range(count):
        row = held[slot]
        total = 0.0
        for d in range(dim):
            total += scratch[slot, d] * scratch[slot, d]
        squares[row] += total / dim
        scale = learning_rate / (np.sqrt(squares[row]) + EPS)
        for d in range(dim):
            table[row, d] -= scale * scratch[slot, d]
        slot_of[row] = -1
