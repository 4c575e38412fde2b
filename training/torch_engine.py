"""The torch engine: skip-gram with negative sampling as word2vec and gensim define it, vectorised over batches of
shuffled pairs, on any device torch runs on.

Everything here works on tensors on the training device: no Python loop runs per word or per pair.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from .engine import BlockResult, EngineInputs
from .sampling import NoiseSampler, block_pairs
from .schedule import Schedule


class TorchEngine:
    """`train_block` as batches of `batch_size` pairs, each one `sgns_step` (see `engine.Engine`)."""

    threads = 1

    def __init__(self, inputs: EngineInputs):
        self.embeddings, self.context = inputs.embeddings, inputs.context
        self.keep_probability = inputs.sampling.keep_probability.float().to(inputs.device)
        self.noise = NoiseSampler(inputs.sampling.noise_probabilities, inputs.device)
        self.args, self.generator, self.device = inputs.args, inputs.generator, inputs.device
        self.world_size = inputs.world_size

    def train_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> BlockResult:
        centers, contexts = block_pairs(block, sentence_starts, self.keep_probability, self.args.window, self.generator)
        batch_size = self.args.batch_size
        num_batches = max(1, math.ceil(centers.shape[0] / batch_size))
        # The rate falls between batches as if the block's words were spread evenly over them, on every rank.
        words_per_batch = block.shape[0] / num_batches
        loss = torch.zeros((), dtype=torch.float64, device=self.device)
        for index in range(num_batches):
            batch = slice(index * batch_size, (index + 1) * batch_size)
            learning_rate = schedule.learning_rate(words_done + index * words_per_batch * self.world_size)
            negatives = self.noise.sample((centers[batch].shape[0], self.args.negative), self.generator)
            loss += sgns_step(self.embeddings, self.context, centers[batch], contexts[batch], negatives, learning_rate)
        return BlockResult(loss.item(), centers.shape[0], centers.shape[0])


@torch.no_grad()
def sgns_step(
    embeddings: torch.Tensor,
    context: torch.Tensor,
    centers: torch.Tensor,
    contexts: torch.Tensor,
    negatives: torch.Tensor,
    learning_rate: float,
    bound_steps: bool = True,
) -> torch.Tensor:
    """One stochastic-gradient step on a batch of pairs, updating only the rows they touch, in place.

    This is word2vec's update computed for the whole batch from the same starting values: the gradient of
    `Word2VecModel.skipgram_loss(..., reduction="sum")`, applied with `index_add_`. A negative that equals the
    pair's context word is skipped, as word2vec and gensim do.

    word2vec applies a row's updates one after another, each from the row as the last one left it; a batch sums
    them all from the same starting row. For a row touched many times (a frequent word in a large batch) that sum
    overshoots and diverges. With `bound_steps` each row's summed step is shortened where need be to the step a
    smooth function never overshoots with: length at most 1 / L times its gradient, with L the largest curvature
    its loss in the batch can have along the step, L = (1/4) * sum over the row's pairs of (vector . d)^2 for the
    step's direction d (a sigmoid's slope is at most 1/4). The step then cannot increase the row's loss. A row
    touched once by a vector v keeps word2vec's update while learning_rate * |v|^2 / 4 <= 1 (|v| <= 12.6 at the
    default rate), which word2vec's vectors are.

    Args:
        embeddings, context (`[vocab_size, dim]`): the input and context vectors, float32.
        centers, contexts (`[batch]`), negatives (`[batch, negative]`): ids.
        bound_steps: shorten the steps that could overshoot, as above (False: the plain summed step).
    Returns:
        The summed loss of the batch before the update (a 0-d tensor; reading it synchronises the device).
    """
    center_vectors = embeddings[centers]
    context_vectors = context[contexts]
    negative_vectors = context[negatives]
    positive_score = (center_vectors * context_vectors).sum(1)
    negative_score = torch.bmm(negative_vectors, center_vectors.unsqueeze(2)).squeeze(2)
    valid_negative = (negatives != contexts.unsqueeze(1)).to(negative_score.dtype)
    positive_gain = (1 - torch.sigmoid(positive_score)) * learning_rate
    negative_gain = -torch.sigmoid(negative_score) * valid_negative * learning_rate
    # Every (row, vector it moves along, gain) of the batch: the pair's context word and its negatives against the
    # input row, and the input row against them.
    context_rows = torch.cat([contexts, negatives.flatten()])
    input_vectors = torch.cat([center_vectors, center_vectors.repeat_interleave(negatives.shape[1], 0)])
    context_gains = torch.cat([positive_gain, negative_gain.flatten()])
    output_vectors = torch.cat([context_vectors.unsqueeze(1), negative_vectors], 1)
    center_gains = torch.cat([positive_gain.unsqueeze(1), negative_gain], 1)
    context_update = context_gains.unsqueeze(1) * input_vectors
    center_update = torch.bmm(center_gains.unsqueeze(1), output_vectors).squeeze(1)
    if bound_steps:
        # The loss's second derivative along a vector is sigmoid'(score) <= 1/4: its bound, not its value, as a
        # saturated sigmoid has none and yet a large gradient.
        context_slopes = torch.cat([torch.ones_like(positive_score), valid_negative.flatten()]).unsqueeze(1) / 4
        center_slopes = torch.cat([torch.ones_like(positive_score).unsqueeze(1), valid_negative], 1) / 4
        context_update *= _step_bound(context_rows, context_update, input_vectors.unsqueeze(1), context_slopes,
                                      context.shape, learning_rate)  # fmt: skip
        center_update *= _step_bound(centers, center_update, output_vectors, center_slopes, embeddings.shape,
                                     learning_rate)  # fmt: skip
    context.index_add_(0, context_rows, context_update)
    embeddings.index_add_(0, centers, center_update)
    return F.softplus(-positive_score).sum() + (F.softplus(negative_score) * valid_negative).sum()


def _step_bound(
    rows: torch.Tensor,
    updates: torch.Tensor,
    vectors: torch.Tensor,
    slopes: torch.Tensor,
    table_shape: torch.Size,
    learning_rate: float,
) -> torch.Tensor:
    """Per entry of `rows` (`[n]`, with `updates` `[n, dim]`): min(1, 1 / (learning_rate * L)) of its row, with
    L = sum over the row's entries and their `vectors` (`[n, k, dim]`, weights `slopes` `[n, k]`) of
    slope * (vector . d)^2, for d the direction of the row's summed update."""
    # Dense scratch tables rather than torch.unique, which waits for the device.
    steps = torch.zeros(table_shape, dtype=updates.dtype, device=updates.device).index_add_(0, rows, updates)
    row_steps = steps[rows]
    projections = torch.bmm(vectors, row_steps.unsqueeze(2)).squeeze(2)
    curvature = torch.zeros(table_shape[0], dtype=updates.dtype, device=updates.device)
    curvature.index_add_(0, rows, (slopes * projections.square()).sum(1))
    # Both sides times |step|^2: learning_rate * L * |step|^2 against |step|^2.
    squared_lengths = row_steps.square().sum(1)
    scale = squared_lengths / (learning_rate * curvature[rows]).clamp(min=1e-30)
    return scale.clamp_(max=1.0).unsqueeze(1)
