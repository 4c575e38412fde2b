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

Triton compiles the kernel for CUDA on first use. With TRITON_INTERPRET=1 it runs on CPU tensors instead, one
program after another, which is how the tests check it on a machine without a GPU.
"""

from __future__ import annotations

import numpy as np
import torch
import triton
import triton.language as tl

from .engine import BlockResult, EngineInputs
from .sampling import block_pairs
from .schedule import Schedule

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


# Triton compiles a variant per property of an integer argument (equal to 1, divisible by 16): these change every
# block or every corpus, and compiling anew for them would cost more than the block's training.
@triton.jit(do_not_specialize=["num_pairs", "chunks_per_program", "vocab_size", "seed"])
def _train_pairs_kernel(
    embeddings, context, inputs, outputs, noise_threshold, noise_alias, program_loss,
    num_pairs, chunks_per_program, vocab_size, first_rate, rate_step, seed,
    DIM: tl.constexpr, DIM_TILE: tl.constexpr, PAIRS: tl.constexpr, NEGATIVE: tl.constexpr,
    NEGATIVE_TILE: tl.constexpr, ATOMIC: tl.constexpr,
):  # fmt: skip
    program = tl.program_id(0)
    columns = tl.arange(0, DIM_TILE)
    in_dim = columns < DIM
    slots = tl.arange(0, NEGATIVE_TILE)
    loss = tl.zeros((PAIRS,), dtype=tl.float32)
    # The program's chunks of pairs are consecutive, so that under the interpreter, which runs the programs one
    # after another, the pairs train in their order. A while loop: Triton 3.6's interpreter holds a scalar
    # argument as a 1-element array, which NumPy 2 refuses as a range's bound, and takes it as a condition.
    step = 0
    while step < chunks_per_program:
        pairs = (program * chunks_per_program + step) * PAIRS + tl.arange(0, PAIRS)
        live = pairs < num_pairs
        input_ids = tl.load(inputs + pairs, mask=live, other=0).to(tl.int64)
        output_ids = tl.load(outputs + pairs, mask=live, other=0).to(tl.int64)
        input_tile = live[:, None] & in_dim[None, :]
        input_rows = embeddings + input_ids[:, None] * DIM + columns[None, :]
        vector = tl.load(input_rows, mask=input_tile, other=0.0)
        # The learning rate falls linearly over the block's pairs, which are shuffled, as word2vec's falls over
        # words.
        rate = first_rate + rate_step * pairs.to(tl.float32)
        # All the pairs' negatives in one draw (a [PAIRS, NEGATIVE_TILE] tile): negative k of pair p is draw
        # p * NEGATIVE + k, whatever the grouping of pairs into programs.
        negatives = draw_noise(
            seed, pairs[:, None] * NEGATIVE + slots[None, :], vocab_size, noise_threshold, noise_alias,
            live[:, None] & (slots < NEGATIVE)[None, :],
        )  # fmt: skip
        vector_change = tl.zeros((PAIRS, DIM_TILE), dtype=tl.float32)
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
            if ATOMIC:
                tl.atomic_add(rows, gain[:, None] * vector, mask=row_tile)
            else:
                tl.store(rows, row + gain[:, None] * vector, mask=row_tile)
            # -log sigmoid(score) for the context word, -log sigmoid(-score) for a negative.
            loss += tl.where(used, _softplus(score * (1.0 - 2.0 * label)), 0.0)
        if ATOMIC:
            tl.atomic_add(input_rows, vector_change, mask=input_tile)
        else:
            tl.store(input_rows, vector + vector_change, mask=input_tile)
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


def default_pairs_per_program(dim: int) -> int:
    return max(1, TILE_ELEMENTS // triton.next_power_of_2(dim))


def launch_grid(num_pairs: int, pairs_per_program: int, vocab_size: int) -> tuple[int, int]:
    """How many programs train `num_pairs` pairs, and how many consecutive chunks of `pairs_per_program` pairs
    each trains: at most about `PAIRS_IN_FLIGHT_PER_WORD * vocab_size` pairs at once (at least one program)."""
    chunks = triton.cdiv(num_pairs, pairs_per_program)
    programs = min(chunks, max(1, vocab_size * PAIRS_IN_FLIGHT_PER_WORD // pairs_per_program))
    chunks_per_program = triton.cdiv(chunks, programs)
    return triton.cdiv(chunks, chunks_per_program), chunks_per_program


def train_pairs(
    embeddings: torch.Tensor,
    context: torch.Tensor,
    inputs: torch.Tensor,
    outputs: torch.Tensor,
    noise: NoiseTable,
    negative: int,
    first_rate: float,
    last_rate: float,
    seed: int,
    pairs_per_program: int | None = None,
    warps: int = WARPS,
    atomic: bool = True,
) -> torch.Tensor:
    """Train the pairs (inputs[i], outputs[i]) in place, Hogwild; returns their summed loss (a 0-d float64 tensor,
    measured as each pair is trained; summed in float32 within a program).

    Args:
        embeddings, context (`[vocab_size, dim]`): the input and context vectors, float32, contiguous.
        inputs, outputs (`[num_pairs]`): the pairs' input and context word ids.
        negative: noise words drawn per pair, from `noise` with Philox numbers of `seed`.
        first_rate, last_rate: the learning rate of the first and the last pair, linear in between.
        pairs_per_program: pairs each program trains side by side (default: `default_pairs_per_program(dim)`);
            with 1 each program's update is exactly word2vec's for one pair.
        warps: warps per program.
        atomic: add each update atomically, so that none is lost; else store the updated row, as word2vec's
            threads do (an update made meanwhile by another program is then overwritten).
    """
    num_pairs = inputs.shape[0]
    if num_pairs == 0:
        return torch.zeros((), dtype=torch.float64, device=embeddings.device)
    for table in (embeddings, context):
        if table.dtype != torch.float32 or not table.is_contiguous():
            raise ValueError("the tables must be contiguous float32 tensors")
    dim = embeddings.shape[1]
    pairs = pairs_per_program or default_pairs_per_program(dim)
    programs, chunks_per_program = launch_grid(num_pairs, pairs, noise.vocab_size)
    # The last program runs all its chunks, past num_pairs; pair numbers and random streams are 32-bit.
    if programs * chunks_per_program * pairs * max(negative, 1) >= 2**31:
        raise ValueError(f"{num_pairs:,} pairs x {negative} negatives overflow the kernel's 32-bit pair numbers")
    program_loss = torch.empty(programs, dtype=torch.float32, device=embeddings.device)
    rate_step = (last_rate - first_rate) / max(num_pairs - 1, 1)
    _train_pairs_kernel[(programs,)](
        embeddings, context, inputs, outputs, noise.threshold, noise.alias, program_loss,
        num_pairs, chunks_per_program, noise.vocab_size, first_rate, rate_step, seed,
        DIM=dim, DIM_TILE=triton.next_power_of_2(dim), PAIRS=pairs, NEGATIVE=negative,
        NEGATIVE_TILE=triton.next_power_of_2(negative), ATOMIC=atomic, num_warps=warps,
    )  # fmt: skip
    return program_loss.sum(dtype=torch.float64)


class TritonEngine:
    """`train_block` on CUDA (or under TRITON_INTERPRET=1 on the CPU): the block's pairs, built and shuffled on the
    device, in one launch of the kernel (see `engine.Engine`)."""

    threads = 1

    def __init__(self, inputs: EngineInputs):
        self.embeddings, self.context = inputs.embeddings, inputs.context
        self.keep_probability = inputs.sampling.keep_probability.float().to(inputs.device)
        self.noise_table = NoiseTable(*inputs.sampling.noise_alias_table, inputs.device)
        self.args, self.generator, self.device = inputs.args, inputs.generator, inputs.device
        self.world_size = inputs.world_size

    def train_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> BlockResult:
        centers, contexts = block_pairs(block, sentence_starts, self.keep_probability, self.args.window, self.generator)
        seed = int(torch.randint(0, 2**31 - 1, (), generator=self.generator, device=self.device))
        # Every rank trains its share of the block at the same time: the rate falls over all of theirs.
        block_words = block.shape[0] * self.world_size
        loss = train_pairs(
            self.embeddings,
            self.context,
            centers,
            contexts,
            self.noise_table,
            self.args.negative,
            schedule.learning_rate(words_done),
            schedule.learning_rate(words_done + block_words),
            seed,
        )
        return BlockResult(loss.item(), centers.shape[0], centers.shape[0])
