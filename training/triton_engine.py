"""The triton engine: word2vec's per-pair update as one fused Triton kernel, applied Hogwild as word2vec's threads
do.

The batched torch engine (`torch_engine.sgns_step`) launches a kernel per tensor operation of a batch and writes every
gathered row, score and gradient to global memory. Here one launch trains every (center, context) pair of a block: each
program takes `pairs_per_program` pairs, loads their input rows once, draws their negatives itself from word2vec's
noise distribution (Walker's alias table, as the CPU kernel does, with Philox random numbers), and adds each
update to the tables as soon as it is computed, with atomic adds. Rows stay in registers between the score and
the update; nothing but the tables and one loss per program is written. A program trains its pairs a chunk after
another; there are at most about as many pairs in flight as the vocabulary has words (`launch_grid`).

The arithmetic is word2vec's skip-gram update for one pair, in word2vec's order: for the context word, then each
negative in turn, score = input . row, gain = (label - sigmoid(score)) * rate, the row moves by gain * input at
once, and the input row moves by the sum of gain * row at the end; a negative equal to the context word is
skipped. Pairs of one program take these steps side by side; programs run concurrently and read each other's rows
as they are at that moment (Hogwild). The atomic adds mean an update is never lost, where word2vec's plain stores
may overwrite one. The pairs are built on the device as the torch engine builds them (subsampling, word2vec's
dynamic window within sentences) and shuffled, so that programs running side by side rarely share an input row.

Pairs in flight at once read rows that the others have not yet updated, as a batch of that size does. The torch
engine bounds such summed steps (`torch_engine.sgns_step`); here the number of pairs in flight is bounded by the
size of the vocabulary, which on real vocabularies still leaves the whole GPU busy, and the kernel trains to the
numba engine's quality (benchmarks/README.md, "The GPU engine").

The other models take the same steps (docs/gpu-kernel.md, "CBOW and hierarchical softmax"): `_output_layer` is the
output layer of both kernels, hierarchical softmax's walk down the output word's path (`SoftmaxTree`) and then
the negatives, each switched on by a constexpr; `_train_windows_kernel` trains CBOW with one item per window
(`sampling.block_windows`), whose input vector is the mean or sum of the window's rows and whose change every row
of the window takes whole.

With subwords (fastText's model, docs/gpu-kernel.md "Subwords") a word's input rows are its own row and its n-gram
rows (`SubwordTable`): the window kernel sums those of every word of the window (`SUBWORDS`), and
`_train_centers_kernel` trains skip-gram one center's window an item, the center's composed vector predicting each
context word in turn and moved by each pair's change before the next (fastText's per-pair update), its rows moved
by the window's summed change. Every kernel launches through `_launch`.

Triton compiles the kernel for CUDA on first use. With TRITON_INTERPRET=1 it runs on CPU tensors instead, one
program after another, which is how the tests check it on a machine without a GPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
import triton
import triton.language as tl

from word2vec_hub.modeling.modeling_word2vec import HuffmanTree

from .engine import BlockResult, EngineInputs, LaunchedBlock
from .sampling import BlockWindows, block_pairs, block_windows
from .schedule import Schedule
from .subword_rows import SubwordRows

# A program trains pairs_per_program pairs side by side, holding for each a row of dim rounded up to a power of
# two: small tiles over few warps keep the registers of several programs on a multiprocessor, which ran fastest of
# the settings benchmarks/gpu_engine.py speed compared (benchmarks/README.md, "The kernel's launch settings").
TILE_ELEMENTS = 512
WARPS = 4
# Pairs in flight at once read rows the others have not yet updated; a row updated by hundreds of them at once
# takes their summed step, which overshoots and diverges on a small vocabulary. So at most about as many pairs
# train at once as the vocabulary has words, as a CPU's threads are few beside the vocabulary; a real vocabulary
# still fills the GPU.
PAIRS_IN_FLIGHT_PER_WORD = 1


@triton.jit
def draw_noise(seed, stream, vocab_size, noise_threshold, noise_alias, mask):
    """Draws from Walker's alias table (see `sampling.alias_table`): a uniform column, kept with probability
    noise_threshold[column], else its alias. `stream` numbers the draws: equal streams give equal draws."""
    # One Philox round gives four uniforms; two are used.
    column_draw, keep_draw, _, _ = tl.rand4x(seed, stream)
    column = tl.minimum((column_draw * vocab_size).to(tl.int64), vocab_size - 1)
    threshold = tl.load(noise_threshold + column, mask=mask, other=1.0)
    alias = tl.load(noise_alias + column, mask=mask, other=0).to(tl.int64)
    return tl.where(keep_draw < threshold, column, alias)


@triton.jit
def _softplus(x):
    # log(1 + e^x) without overflow for large x.
    return tl.maximum(x, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(x)))


@triton.jit
def _update_rows(rows, row, change, mask, ATOMIC: tl.constexpr):
    """Adds `change` to the rows at `rows` (last read as `row`): atomically, or as a plain store of row + change."""
    if ATOMIC:
        tl.atomic_add(rows, change, mask=mask)
    else:
        tl.store(rows, row + change, mask=mask)


@triton.jit
def _output_layer(
    vector, loss, output_ids, live, rate, items, seed, context, noise_threshold, noise_alias, vocab_size, nodes, codes,
    points, lengths, columns, in_dim,
    DIM: tl.constexpr, DEPTH: tl.constexpr, NEGATIVE: tl.constexpr, NEGATIVE_TILE: tl.constexpr, HS: tl.constexpr,
    ATOMIC: tl.constexpr,
):  # fmt: skip
    """word2vec's output layer for a tile of items (`[ITEMS, DIM_TILE]` input vectors, the items' output words):
    with HS the inner nodes on the output word's path, then with NEGATIVE the output word and its negatives, each
    row scored against the input vector, moved at once by gain * vector, gain = (label - sigmoid(score)) * rate.
    Returns the sum of gain * row over the rows (the input vector's change) and `loss` (`[ITEMS]`) plus each item's
    loss."""
    vector_change = tl.zeros_like(vector)
    if HS:
        path_lengths = tl.load(lengths + output_ids, mask=live, other=0)
        # The program's longest path: a while loop, as the paths' lengths are known only here.
        longest = tl.max(path_lengths, axis=0)
        step = 0
        while step < longest:
            on_path = live & (step < path_lengths)
            node_ids = tl.load(points + output_ids * DEPTH + step, mask=on_path, other=0).to(tl.int64)
            label = 1.0 - tl.load(codes + output_ids * DEPTH + step, mask=on_path, other=0).to(tl.float32)
            row_tile = on_path[:, None] & in_dim[None, :]
            rows = nodes + node_ids[:, None] * DIM + columns[None, :]
            row = tl.load(rows, mask=row_tile, other=0.0)
            score = tl.sum(vector * row, axis=1)
            gain = tl.where(on_path, (label - tl.sigmoid(score)) * rate, 0.0)
            vector_change += gain[:, None] * row
            _update_rows(rows, row, gain[:, None] * vector, row_tile, ATOMIC)
            loss += tl.where(on_path, _softplus(score * (1.0 - 2.0 * label)), 0.0)
            step += 1
    if NEGATIVE > 0:
        slots = tl.arange(0, NEGATIVE_TILE)
        # All the items' negatives in one draw (a [ITEMS, NEGATIVE_TILE] tile): negative k of item p is draw
        # p * NEGATIVE + k, whatever the grouping of items into programs.
        negatives = draw_noise(
            seed, items[:, None] * NEGATIVE + slots[None, :], vocab_size, noise_threshold, noise_alias,
            live[:, None] & (slots < NEGATIVE)[None, :],
        )  # fmt: skip
        for sample in tl.static_range(NEGATIVE + 1):
            if sample == 0:
                targets = output_ids
                used = live
                label = 1.0
            else:
                targets = tl.sum(tl.where(slots[None, :] == sample - 1, negatives, 0), axis=1)
                used = live & (targets != output_ids)
                label = 0.0
            row_tile = used[:, None] & in_dim[None, :]
            rows = context + targets[:, None] * DIM + columns[None, :]
            row = tl.load(rows, mask=row_tile, other=0.0)
            score = tl.sum(vector * row, axis=1)
            gain = tl.where(used, (label - tl.sigmoid(score)) * rate, 0.0)
            vector_change += gain[:, None] * row
            _update_rows(rows, row, gain[:, None] * vector, row_tile, ATOMIC)
            # -log sigmoid(score) for the context word, -log sigmoid(-score) for a negative.
            loss += tl.where(used, _softplus(score * (1.0 - 2.0 * label)), 0.0)
    return vector_change, loss


@triton.jit
def _add_to_rows(rows, change, mask, ATOMIC: tl.constexpr):
    """Adds `change` to the rows at `rows`: atomically, or as a plain store of the row as read now plus `change`."""
    if ATOMIC:
        tl.atomic_add(rows, change, mask=mask)
    else:
        tl.store(rows, tl.load(rows, mask=mask, other=0.0) + change, mask=mask)


@triton.jit
def _sum_word_rows(
    vector, count, word_ids, inside, embeddings, ngrams, subword_starts, subword_rows, columns, in_dim,
    DIM: tl.constexpr, SUBWORDS: tl.constexpr,
):  # fmt: skip
    """`vector` (`[ITEMS, DIM_TILE]`) plus the input rows of the words `word_ids` (`[ITEMS]`, those `inside`): each
    word's own row and, with SUBWORDS, its n-gram rows (`subword_rows[subword_starts[w]:subword_starts[w + 1]]`,
    repeats kept); `count` (`[ITEMS]`, float32) plus the number of rows added."""
    tile = inside[:, None] & in_dim[None, :]
    vector += tl.load(embeddings + word_ids[:, None] * DIM + columns[None, :], mask=tile, other=0.0)
    count += inside.to(tl.float32)
    if SUBWORDS:
        first = tl.load(subword_starts + word_ids, mask=inside, other=0)
        number = tl.load(subword_starts + word_ids + 1, mask=inside, other=0) - first
        # The program's longest list of n-grams: a while loop, as the lists' lengths are known only here.
        longest = tl.max(number, axis=0)
        k = 0
        while k < longest:
            listed = inside & (k < number)
            rows = tl.load(subword_rows + first + k, mask=listed, other=0).to(tl.int64)
            vector += tl.load(ngrams + rows[:, None] * DIM + columns[None, :], mask=listed[:, None] & in_dim[None, :],
                              other=0.0)  # fmt: skip
            k += 1
        count += number.to(tl.float32)
    return vector, count


@triton.jit
def _move_word_rows(
    change, word_ids, inside, embeddings, ngrams, subword_starts, subword_rows, columns, in_dim,
    DIM: tl.constexpr, SUBWORDS: tl.constexpr, ATOMIC: tl.constexpr,
):  # fmt: skip
    """Adds `change` (`[ITEMS, DIM_TILE]`) to every input row of the words `word_ids` (those `inside`), as
    `_sum_word_rows` reads them: a row listed twice gets it twice."""
    tile = inside[:, None] & in_dim[None, :]
    _add_to_rows(embeddings + word_ids[:, None] * DIM + columns[None, :], change, tile, ATOMIC)
    if SUBWORDS:
        first = tl.load(subword_starts + word_ids, mask=inside, other=0)
        number = tl.load(subword_starts + word_ids + 1, mask=inside, other=0) - first
        longest = tl.max(number, axis=0)
        k = 0
        while k < longest:
            listed = inside & (k < number)
            rows = tl.load(subword_rows + first + k, mask=listed, other=0).to(tl.int64)
            _add_to_rows(ngrams + rows[:, None] * DIM + columns[None, :], change, listed[:, None] & in_dim[None, :],
                         ATOMIC)  # fmt: skip
            k += 1


# Triton compiles a variant per property of an integer argument (equal to 1, divisible by 16): these change every
# block or every corpus, and compiling anew for them would cost more than the block's training. Every kernel takes
# the output layer's tables, the item counts and rates in the same names (`_launch`), then its own examples.
@triton.jit(do_not_specialize=["num_items", "chunks_per_program", "vocab_size", "seed"])
def _train_pairs_kernel(
    embeddings, context, nodes, noise_threshold, noise_alias, codes, points, lengths, program_loss,
    num_items, chunks_per_program, vocab_size, first_rate, rate_step, seed, inputs, outputs,
    DIM: tl.constexpr, DIM_TILE: tl.constexpr, ITEMS: tl.constexpr, NEGATIVE: tl.constexpr,
    NEGATIVE_TILE: tl.constexpr, HS: tl.constexpr, DEPTH: tl.constexpr, ATOMIC: tl.constexpr,
):  # fmt: skip
    program = tl.program_id(0)
    columns = tl.arange(0, DIM_TILE)
    in_dim = columns < DIM
    loss = tl.zeros((ITEMS,), dtype=tl.float32)
    # The program's chunks of pairs are consecutive, so that under the interpreter, which runs the programs one
    # after another, the pairs train in their order. A while loop: Triton 3.6's interpreter holds a scalar
    # argument as a 1-element array, which NumPy 2 refuses as a range's bound, and takes it as a condition.
    step = 0
    while step < chunks_per_program:
        pairs = (program * chunks_per_program + step) * ITEMS + tl.arange(0, ITEMS)
        live = pairs < num_items
        input_ids = tl.load(inputs + pairs, mask=live, other=0).to(tl.int64)
        output_ids = tl.load(outputs + pairs, mask=live, other=0).to(tl.int64)
        input_tile = live[:, None] & in_dim[None, :]
        input_rows = embeddings + input_ids[:, None] * DIM + columns[None, :]
        vector = tl.load(input_rows, mask=input_tile, other=0.0)
        # The learning rate falls linearly over the block's pairs, which are shuffled, as word2vec's falls over
        # words.
        rate = first_rate + rate_step * pairs.to(tl.float32)
        vector_change, loss = _output_layer(
            vector, loss, output_ids, live, rate, pairs, seed, context, noise_threshold, noise_alias, vocab_size, nodes,
            codes, points, lengths, columns, in_dim, DIM, DEPTH, NEGATIVE, NEGATIVE_TILE, HS, ATOMIC,
        )  # fmt: skip
        _update_rows(input_rows, vector, vector_change, input_tile, ATOMIC)
        step += 1
    tl.store(program_loss + program, tl.sum(loss, axis=0))


@triton.jit(do_not_specialize=["num_items", "chunks_per_program", "vocab_size", "seed"])
def _train_windows_kernel(
    embeddings, context, nodes, noise_threshold, noise_alias, codes, points, lengths, program_loss,
    num_items, chunks_per_program, vocab_size, first_rate, rate_step, seed, tokens, centers, starts, ends, ngrams,
    subword_starts, subword_rows,
    DIM: tl.constexpr, DIM_TILE: tl.constexpr, ITEMS: tl.constexpr, NEGATIVE: tl.constexpr,
    NEGATIVE_TILE: tl.constexpr, HS: tl.constexpr, DEPTH: tl.constexpr, ATOMIC: tl.constexpr, WINDOW: tl.constexpr,
    MEAN: tl.constexpr, SUBWORDS: tl.constexpr,
):  # fmt: skip
    program = tl.program_id(0)
    columns = tl.arange(0, DIM_TILE)
    in_dim = columns < DIM
    loss = tl.zeros((ITEMS,), dtype=tl.float32)
    step = 0
    while step < chunks_per_program:
        windows = (program * chunks_per_program + step) * ITEMS + tl.arange(0, ITEMS)
        live = windows < num_items
        center = tl.load(centers + windows, mask=live, other=0)
        start = tl.load(starts + windows, mask=live, other=0)
        end = tl.load(ends + windows, mask=live, other=0)
        output_ids = tl.load(tokens + center, mask=live, other=0).to(tl.int64)
        # The window's rows are summed one offset after another (2 * WINDOW of them, those outside start..end-1
        # masked), so that a window's tile stays [ITEMS, DIM_TILE] as a pair's does; with SUBWORDS each word's
        # n-gram rows too.
        vector = tl.zeros((ITEMS, DIM_TILE), dtype=tl.float32)
        rows_summed = tl.zeros((ITEMS,), dtype=tl.float32)
        for slot in tl.static_range(2 * WINDOW + 1):
            if slot != WINDOW:
                position = center + (slot - WINDOW)
                inside = live & (position >= start) & (position < end)
                ids = tl.load(tokens + position, mask=inside, other=0).to(tl.int64)
                vector, rows_summed = _sum_word_rows(
                    vector, rows_summed, ids, inside, embeddings, ngrams, subword_starts, subword_rows, columns,
                    in_dim, DIM, SUBWORDS,
                )  # fmt: skip
        if MEAN:
            if SUBWORDS:
                vector = vector / tl.maximum(rows_summed, 1.0)[:, None]
            else:
                vector = vector / tl.maximum(end - start - 1, 1).to(tl.float32)[:, None]
        rate = first_rate + rate_step * windows.to(tl.float32)
        vector_change, loss = _output_layer(
            vector, loss, output_ids, live, rate, windows, seed, context, noise_threshold, noise_alias, vocab_size,
            nodes, codes, points, lengths, columns, in_dim, DIM, DEPTH, NEGATIVE, NEGATIVE_TILE, HS, ATOMIC,
        )  # fmt: skip
        # Every row of the window moves by the whole change, also under MEAN (word2vec's and gensim's update);
        # gensim's fastText divides a summed window's change by its rows.
        if SUBWORDS and not MEAN:
            vector_change = vector_change / tl.maximum(rows_summed, 1.0)[:, None]
        for slot in tl.static_range(2 * WINDOW + 1):
            if slot != WINDOW:
                position = center + (slot - WINDOW)
                inside = live & (position >= start) & (position < end)
                ids = tl.load(tokens + position, mask=inside, other=0).to(tl.int64)
                _move_word_rows(
                    vector_change, ids, inside, embeddings, ngrams, subword_starts, subword_rows, columns, in_dim, DIM,
                    SUBWORDS, ATOMIC,
                )  # fmt: skip
        step += 1
    tl.store(program_loss + program, tl.sum(loss, axis=0))


@triton.jit(do_not_specialize=["num_items", "chunks_per_program", "vocab_size", "seed"])
def _train_centers_kernel(
    embeddings, context, nodes, noise_threshold, noise_alias, codes, points, lengths, program_loss,
    num_items, chunks_per_program, vocab_size, first_rate, rate_step, seed, tokens, centers, starts, ends, ngrams,
    subword_starts, subword_rows,
    DIM: tl.constexpr, DIM_TILE: tl.constexpr, ITEMS: tl.constexpr, NEGATIVE: tl.constexpr,
    NEGATIVE_TILE: tl.constexpr, HS: tl.constexpr, DEPTH: tl.constexpr, ATOMIC: tl.constexpr, WINDOW: tl.constexpr,
):  # fmt: skip
    program = tl.program_id(0)
    columns = tl.arange(0, DIM_TILE)
    in_dim = columns < DIM
    loss = tl.zeros((ITEMS,), dtype=tl.float32)
    step = 0
    while step < chunks_per_program:
        windows = (program * chunks_per_program + step) * ITEMS + tl.arange(0, ITEMS)
        live = windows < num_items
        center = tl.load(centers + windows, mask=live, other=0)
        start = tl.load(starts + windows, mask=live, other=0)
        end = tl.load(ends + windows, mask=live, other=0)
        center_ids = tl.load(tokens + center, mask=live, other=0).to(tl.int64)
        # fastText's input vector: the mean of the center's own row and its n-gram rows, composed once a window and
        # then moved by each pair's change, as fastText's per-pair update of every one of those rows moves it.
        vector, rows_summed = _sum_word_rows(
            tl.zeros((ITEMS, DIM_TILE), dtype=tl.float32), tl.zeros((ITEMS,), dtype=tl.float32), center_ids, live,
            embeddings, ngrams, subword_starts, subword_rows, columns, in_dim, DIM, True,
        )  # fmt: skip
        vector = vector / tl.maximum(rows_summed, 1.0)[:, None]
        rate = first_rate + rate_step * windows.to(tl.float32)
        window_change = tl.zeros((ITEMS, DIM_TILE), dtype=tl.float32)
        # One context word after another (a loop, not unrolled: the output layer is the kernel's bulk), left to
        # right; its output rows move at once, the input vector before the next pair, the input rows after the
        # window (by the pairs' summed changes).
        for slot in range(2 * WINDOW):
            offset = slot - WINDOW
            position = center + offset + (offset >= 0)
            inside = live & (position >= start) & (position < end)
            output_ids = tl.load(tokens + position, mask=inside, other=0).to(tl.int64)
            # Each pair of the window draws its own negatives: item number window * 2 * WINDOW + slot.
            pair_change, loss = _output_layer(
                vector, loss, output_ids, inside, rate, windows * (2 * WINDOW) + slot, seed, context, noise_threshold,
                noise_alias, vocab_size, nodes, codes, points, lengths, columns, in_dim, DIM, DEPTH, NEGATIVE,
                NEGATIVE_TILE, HS, ATOMIC,
            )  # fmt: skip
            vector += pair_change
            window_change += pair_change
        _move_word_rows(
            window_change, center_ids, live, embeddings, ngrams, subword_starts, subword_rows, columns, in_dim, DIM,
            True, ATOMIC,
        )  # fmt: skip
        step += 1
    tl.store(program_loss + program, tl.sum(loss, axis=0))


class NoiseTable:
    """word2vec's noise distribution as an alias table on the training device (see `sampling.alias_table`)."""

    def __init__(self, threshold: np.ndarray, alias: np.ndarray, device: torch.device):
        self.threshold = torch.as_tensor(threshold, dtype=torch.float32).to(device)
        self.alias = torch.as_tensor(alias, dtype=torch.int32).to(device)

    @property
    def vocab_size(self) -> int:
        return self.threshold.shape[0]


class SoftmaxTree:
    """Hierarchical softmax on the training device: the inner nodes' table (`[vocab_size - 1, dim]`, trained in
    place) and the Huffman tree's paths (`modeling_word2vec.HuffmanTree`: codes int8, points int32 and lengths
    int32, `[vocab_size, depth]` row-major)."""

    def __init__(self, tree: HuffmanTree, nodes: torch.Tensor):
        if nodes.dtype != torch.float32 or not nodes.is_contiguous():
            raise ValueError("the nodes table must be a contiguous float32 tensor")
        self.nodes = nodes
        self.codes = tree.codes.to(torch.int8).contiguous().to(nodes.device)
        self.points = tree.points.to(torch.int32).contiguous().to(nodes.device)
        self.lengths = tree.lengths.to(torch.int32).to(nodes.device)

    @property
    def depth(self) -> int:
        return self.codes.shape[1]


class SubwordTable:
    """fastText's subwords on the training device: the n-gram table (`[rows, dim]`, trained in place) and each
    word's rows of it (`subword_rows.SubwordRows`: starts int64 `[vocab_size + 1]`, rows int32)."""

    def __init__(self, ngrams: torch.Tensor, subword_rows: SubwordRows):
        if ngrams.dtype != torch.float32 or not ngrams.is_contiguous():
            raise ValueError("the n-gram table must be a contiguous float32 tensor")
        self.ngrams = ngrams
        self.starts = torch.from_numpy(subword_rows.starts.astype(np.int64)).to(ngrams.device)
        self.rows = torch.from_numpy(subword_rows.rows.astype(np.int32)).to(ngrams.device)

    def arguments(self) -> dict[str, torch.Tensor]:
        return {"ngrams": self.ngrams, "subword_starts": self.starts, "subword_rows": self.rows}


def default_pairs_per_program(dim: int) -> int:
    return max(1, TILE_ELEMENTS // triton.next_power_of_2(dim))


def launch_grid(num_pairs: int, pairs_per_program: int, vocab_size: int, rows_per_item: int = 1) -> tuple[int, int]:
    """How many programs train `num_pairs` items (pairs, or windows), and how many consecutive chunks of
    `pairs_per_program` items each trains: at most about `PAIRS_IN_FLIGHT_PER_WORD * vocab_size / rows_per_item`
    items at once (at least one program), for items that each write `rows_per_item` input rows."""
    chunks = triton.cdiv(num_pairs, pairs_per_program)
    programs = min(chunks, max(1, vocab_size * PAIRS_IN_FLIGHT_PER_WORD // rows_per_item // pairs_per_program))
    chunks_per_program = triton.cdiv(chunks, programs)
    return triton.cdiv(chunks, chunks_per_program), chunks_per_program


def _output_arguments(
    embeddings: torch.Tensor, context: torch.Tensor | None, noise: NoiseTable | None, softmax: SoftmaxTree | None
) -> tuple:
    """The kernels' arguments for the output layer: context, nodes, the noise table, the tree's codes, points and
    lengths. A layer not trained gets `embeddings` in its place, which its constexpr switch leaves unread."""
    for table in (embeddings, context):
        if table is not None and (table.dtype != torch.float32 or not table.is_contiguous()):
            raise ValueError("the tables must be contiguous float32 tensors")
    unused = embeddings
    noise_tables = (noise.threshold, noise.alias) if noise is not None else (unused, unused)
    tree = (softmax.codes, softmax.points, softmax.lengths) if softmax is not None else (unused, unused, unused)
    nodes = softmax.nodes if softmax is not None else unused
    return (context if context is not None else unused, nodes, *noise_tables, *tree)


# A block's training as queued: its summed loss (0-d, on the device), its pairs, and the example tensors the kernel
# reads.
TrainedExamples = tuple[torch.Tensor, int, tuple[torch.Tensor, ...]]


def _window_tensors(windows: BlockWindows) -> tuple[torch.Tensor, ...]:
    return windows.tokens, windows.centers, windows.starts, windows.ends


def _check_item_numbers(items: int, programs: int, chunks_per_program: int, per_program: int, streams: int) -> None:
    # The last program runs all its chunks, past the last item; item numbers and random streams are 32-bit.
    if programs * chunks_per_program * per_program * streams >= 2**31:
        raise ValueError(f"{items:,} examples x {streams} random streams overflow the kernel's 32-bit example numbers")


def _launch(
    kernel: triton.JITFunction,
    num_items: int,
    examples: dict[str, torch.Tensor],
    embeddings: torch.Tensor,
    context: torch.Tensor | None,
    noise: NoiseTable | None,
    negative: int,
    first_rate: float,
    last_rate: float,
    seed: int,
    softmax: SoftmaxTree | None,
    per_program: int | None,
    warps: int,
    atomic: bool,
    rows_per_item: int = 1,
    pairs_per_item: int = 1,
    **constants,
) -> torch.Tensor:
    """One launch of `kernel` over `num_items` items (its own arguments in `examples` and `constants`): the
    output layer's arguments, the grid (`launch_grid`), the rates and the loss, alike for every kernel. An item
    trains up to `pairs_per_item` output words, each drawing `negative` negatives of its own. Returns the summed
    loss (a 0-d float64 tensor)."""
    if num_items == 0:
        return torch.zeros((), dtype=torch.float64, device=embeddings.device)
    context, nodes, threshold, alias, codes, points, lengths = _output_arguments(embeddings, context, noise, softmax)
    vocab_size, dim = embeddings.shape
    per_program = per_program or default_pairs_per_program(dim)
    programs, chunks_per_program = launch_grid(num_items, per_program, vocab_size, rows_per_item)
    _check_item_numbers(num_items, programs, chunks_per_program, per_program, pairs_per_item * max(negative, 1))
    program_loss = torch.empty(programs, dtype=torch.float32, device=embeddings.device)
    kernel[(programs,)](
        embeddings=embeddings, context=context, nodes=nodes, noise_threshold=threshold, noise_alias=alias,
        codes=codes, points=points, lengths=lengths, program_loss=program_loss, num_items=num_items,
        chunks_per_program=chunks_per_program, vocab_size=vocab_size, first_rate=first_rate,
        rate_step=(last_rate - first_rate) / max(num_items - 1, 1), seed=seed, **examples,
        DIM=dim, DIM_TILE=triton.next_power_of_2(dim), ITEMS=per_program, NEGATIVE=negative,
        NEGATIVE_TILE=triton.next_power_of_2(negative), HS=softmax is not None,
        DEPTH=softmax.depth if softmax is not None else 1, ATOMIC=atomic, num_warps=warps, **constants,
    )  # fmt: skip
    return program_loss.sum(dtype=torch.float64)


def train_pairs(
    embeddings: torch.Tensor,
    context: torch.Tensor | None,
    inputs: torch.Tensor,
    outputs: torch.Tensor,
    noise: NoiseTable | None,
    negative: int,
    first_rate: float,
    last_rate: float,
    seed: int,
    pairs_per_program: int | None = None,
    warps: int = WARPS,
    atomic: bool = True,
    softmax: SoftmaxTree | None = None,
) -> torch.Tensor:
    """Train the skip-gram pairs (inputs[i], outputs[i]) in place, Hogwild; returns their summed loss (a 0-d float64
    tensor, measured as each pair is trained; summed in float32 within a program).

    Args:
        embeddings, context (`[vocab_size, dim]`): the input and context vectors, float32, contiguous (context None
            without negatives).
        inputs, outputs (`[num_pairs]`): the pairs' input and context word ids.
        noise, negative: noise words drawn per pair, from `noise` with Philox numbers of `seed` (0: no negative
            sampling, and `noise` may be None).
        first_rate, last_rate: the learning rate of the first and the last pair, linear in between.
        pairs_per_program: pairs each program trains side by side (default: `default_pairs_per_program(dim)`);
            with 1 each program's update is exactly word2vec's for one pair.
        warps: warps per program.
        atomic: add each update atomically, so that none is lost; else store the updated row, as word2vec's
            threads do (an update made meanwhile by another program is then overwritten).
        softmax: hierarchical softmax along the context word's path, before the negatives (None: none).
    """
    return _launch(
        _train_pairs_kernel, inputs.shape[0], {"inputs": inputs, "outputs": outputs}, embeddings, context, noise,
        negative, first_rate, last_rate, seed, softmax, pairs_per_program, warps, atomic,
    )  # fmt: skip


def _window_arguments(windows: BlockWindows, subwords: SubwordTable | None, unused: torch.Tensor) -> dict:
    """A kernel's arguments for the block's windows and, when given, the subword table (else `unused` in its
    place, which the SUBWORDS switch leaves unread)."""
    arguments = {"tokens": windows.tokens, "centers": windows.centers, "starts": windows.starts, "ends": windows.ends}
    if subwords is not None:
        return arguments | subwords.arguments()
    return arguments | {"ngrams": unused, "subword_starts": unused, "subword_rows": unused}


def train_windows(
    embeddings: torch.Tensor,
    context: torch.Tensor | None,
    windows: BlockWindows,
    noise: NoiseTable | None,
    negative: int,
    first_rate: float,
    last_rate: float,
    seed: int,
    window: int,
    mean: bool = True,
    softmax: SoftmaxTree | None = None,
    windows_per_program: int | None = None,
    warps: int = WARPS,
    atomic: bool = True,
    subwords: SubwordTable | None = None,
) -> torch.Tensor:
    """Train the CBOW windows in place, Hogwild, one item per window; returns their summed loss (as `train_pairs`).

    A window's input vector is the mean (`mean`, gensim's cbow_mean) or sum of the rows of its words, its output
    word the center; after the output layer every row of the window moves by the input vector's whole change, as
    word2vec and gensim do. The random numbers, rates, output layer and launch are `train_pairs`', item for item,
    with at most a (window + 1)-th as many windows in flight (each writes window + 1 input rows on average).

    With `subwords` (fastText's model, as gensim's FastText trains CBOW) a word's rows are its own row and its
    n-gram rows: the mean is over all of them, and each moves by the change (divided by their number when summed).

    Args:
        windows: the block's windows (`sampling.block_windows`), on the tables' device.
        window: the largest reach, `args.window` (the kernel's tile of offsets around the center).
        windows_per_program: windows each program trains side by side (default: `default_pairs_per_program(dim)`).
        The others: as `train_pairs`.
    """
    return _launch(
        _train_windows_kernel, len(windows), _window_arguments(windows, subwords, embeddings), embeddings, context,
        noise, negative, first_rate, last_rate, seed, softmax, windows_per_program, warps, atomic,
        rows_per_item=window + 1, WINDOW=window, MEAN=mean, SUBWORDS=subwords is not None,
    )  # fmt: skip


def train_centers(
    embeddings: torch.Tensor,
    context: torch.Tensor | None,
    windows: BlockWindows,
    subwords: SubwordTable,
    noise: NoiseTable | None,
    negative: int,
    first_rate: float,
    last_rate: float,
    seed: int,
    window: int,
    softmax: SoftmaxTree | None = None,
    centers_per_program: int | None = None,
    warps: int = WARPS,
    atomic: bool = True,
) -> torch.Tensor:
    """Train skip-gram with subwords (fastText's direction) in place, Hogwild, one item per center's window;
    returns the summed loss of its pairs (as `train_pairs`).

    The center's input vector, the mean of its own row and its n-gram rows, is composed once; each context word of
    the window in turn (left to right) is its output word, whose output layer moves at once (`train_pairs`' steps,
    pair k of window w drawing the negatives of item w * 2 * window + k), and the input vector then moves by the
    pair's change (fastText's per-pair update, docs/subwords.md "Training"); after the window, every input row of
    the center moves by the summed change of the input vector. At most a (window + 1)-th as many windows are in flight
    as pairs would be (a window trains window + 1 pairs on average).

    Args:
        windows: the block's windows (`sampling.block_windows`; their center is the input word), on the device.
        subwords: the n-gram table and each word's rows of it.
        window: the largest reach, `args.window`.
        centers_per_program: windows each program trains side by side (default: `default_pairs_per_program(dim)`).
        The others: as `train_pairs`.
    """
    return _launch(
        _train_centers_kernel, len(windows), _window_arguments(windows, subwords, embeddings), embeddings, context,
        noise, negative, first_rate, last_rate, seed, softmax, centers_per_program, warps, atomic,
        rows_per_item=window + 1, pairs_per_item=2 * window, WINDOW=window,
    )  # fmt: skip


class TritonEngine:
    """`train_block` on CUDA (or under TRITON_INTERPRET=1 on the CPU): the block's examples, built and shuffled on
    the device, in one launch of a kernel (see `engine.Engine`).

    The constructor makes the one choice of model: skip-gram pairs (`train_pairs`) or CBOW windows
    (`train_windows`, `args.cbow`, `args.cbow_mean`), with negative sampling (`args.negative`), hierarchical
    softmax (`args.hs`) or both; with subwords (`args.subwords`) CBOW windows over every word's rows, and skip-gram
    a center's window an item (`train_centers`)."""

    threads = 1

    def __init__(self, inputs: EngineInputs):
        self.embeddings, self.context = inputs.embeddings, inputs.context
        self.keep_probability = inputs.sampling.keep_probability.float().to(inputs.device)
        self.args, self.generator, self.device = inputs.args, inputs.generator, inputs.device
        self.noise_table = NoiseTable(*inputs.sampling.noise_alias_table, inputs.device) if self.args.negative else None
        self.softmax = SoftmaxTree(inputs.sampling.huffman_tree, inputs.nodes) if self.args.hs else None
        self.subwords = SubwordTable(inputs.ngrams, inputs.subword_rows) if self.args.subwords else None
        self.world_size = inputs.world_size
        # The next block's examples are built here while the kernel of this one trains on the default stream.
        self.preparation_stream = torch.cuda.Stream(inputs.device) if inputs.device.type == "cuda" else None
        if self.args.cbow:
            self.train_examples = self._train_windows
        else:
            self.train_examples = self._train_centers if self.subwords is not None else self._train_pairs

    def train_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> BlockResult:
        return self.launch_block(block, sentence_starts, words_done, schedule).result()

    def launch_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> LaunchedBlock:
        """Queue the block's training: its examples are built on a stream of their own (their sizes are read back,
        which waits for that stream only, not for the kernel of the block before, still training), then the
        kernel is queued behind them on the current stream. Returns without waiting for the kernel."""
        # Every rank trains its share of the block at the same time: the rate falls over all of theirs.
        block_words = block.shape[0] * self.world_size
        rates = schedule.learning_rate(words_done), schedule.learning_rate(words_done + block_words)
        if self.preparation_stream is None:
            loss, pairs, _ = self.train_examples(block, sentence_starts, rates)
            return LaunchedBlock(loss, pairs, pairs)
        # Triton launches on the current device's stream: the training device's, where the examples are waited for.
        with torch.cuda.device(self.device):
            loss, pairs, examples = self.train_examples(block, sentence_starts, rates)
            launching = torch.cuda.current_stream(self.device)
            for tensor in examples:
                # Made on the preparation stream, read by the kernel on this one: their memory is not handed to
                # the next block's examples before the kernel is done with it.
                tensor.record_stream(launching)
            # Copied to pinned memory behind the kernel: waiting for it waits for this block, not the next one.
            host_loss = torch.empty((), dtype=loss.dtype, pin_memory=True)
            host_loss.copy_(loss, non_blocking=True)
            ready = torch.cuda.Event()
            ready.record(launching)
        return LaunchedBlock(host_loss, pairs, pairs, ready)

    @contextlib.contextmanager
    def _preparing(self) -> Iterator[None]:
        """Make what the block's examples need on the preparation stream; the current stream then waits for it."""
        if self.preparation_stream is None:
            yield
            return
        with torch.cuda.stream(self.preparation_stream):
            yield
        torch.cuda.current_stream(self.device).wait_stream(self.preparation_stream)

    def _train_pairs(
        self, block: np.ndarray, sentence_starts: np.ndarray, rates: tuple[float, float]
    ) -> TrainedExamples:
        with self._preparing():
            centers, contexts = block_pairs(
                block, sentence_starts, self.keep_probability, self.args.window, self.generator
            )
            seed = self._seed()
        loss = train_pairs(
            self.embeddings, self.context, centers, contexts, self.noise_table, self.args.negative, *rates, seed,
            softmax=self.softmax,
        )  # fmt: skip
        return loss, centers.shape[0], (centers, contexts)

    def _train_windows(
        self, block: np.ndarray, sentence_starts: np.ndarray, rates: tuple[float, float]
    ) -> TrainedExamples:
        with self._preparing():
            windows, seed = self._windows_and_seed(block, sentence_starts)
        loss = train_windows(
            self.embeddings, self.context, windows, self.noise_table, self.args.negative, *rates, seed,
            self.args.window, self.args.cbow_mean, softmax=self.softmax, subwords=self.subwords,
        )  # fmt: skip
        return loss, len(windows), _window_tensors(windows)

    def _train_centers(
        self, block: np.ndarray, sentence_starts: np.ndarray, rates: tuple[float, float]
    ) -> TrainedExamples:
        with self._preparing():
            windows, seed = self._windows_and_seed(block, sentence_starts)
            # Counted as pairs, so that the loss is per pair with and without subwords.
            pairs = int((windows.ends - windows.starts - 1).sum())
        loss = train_centers(
            self.embeddings, self.context, windows, self.subwords, self.noise_table, self.args.negative, *rates,
            seed, self.args.window, softmax=self.softmax,
        )  # fmt: skip
        return loss, pairs, _window_tensors(windows)

    def _windows_and_seed(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[BlockWindows, int]:
        windows = block_windows(block, sentence_starts, self.keep_probability, self.args.window, self.generator)
        return windows, self._seed()

    def _seed(self) -> int:
        """The kernel's Philox seed, the next draw of the run's stream (after the block's examples)."""
        return int(torch.randint(0, 2**31 - 1, (), generator=self.generator, device=self.device))
