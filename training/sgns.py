"""Skip-gram with negative sampling as word2vec and gensim define it, vectorised over many pairs at a time.

Everything here works on tensors on the training device: no Python loop runs per word or per pair.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

# See `sgns_step`: how many updates of one row a batch sums at full length. Measured on the PTB (README): at the
# default learning rate it leaves batches of 1,024 pairs as they were and keeps 16,384 from diverging.
MAX_SUMMED_UPDATES = 64.0


def keep_probabilities(counts: torch.Tensor, sample: float) -> torch.Tensor:
    """word2vec's probability of keeping each occurrence of a word when subsampling frequent words.

    With f the word's count and t = sample * (total count), keep = (sqrt(f / t) + 1) * t / f, capped at 1; words
    with no count get 0 and `sample <= 0` keeps everything.
    """
    counts = counts.double()
    if sample <= 0:
        return (counts > 0).double()
    threshold = sample * counts.sum()
    keep = (torch.sqrt(counts / threshold) + 1) * threshold / counts.clamp(min=1)
    return torch.where(counts > 0, keep.clamp(max=1.0), torch.zeros_like(keep))


def noise_distribution(counts: torch.Tensor, ns_exponent: float = 0.75) -> torch.Tensor:
    """The negative-sampling distribution, counts ** ns_exponent normalised; words with no count get 0."""
    weights = torch.where(counts > 0, counts.double() ** ns_exponent, torch.zeros(counts.shape, dtype=torch.double))
    total = weights.sum()
    if total <= 0:
        raise ValueError("the noise distribution is empty: no word has a positive count")
    return weights / total


class NoiseSampler:
    """Draws negative ids from a distribution by inverse-CDF search (exact, unlike word2vec's 1e8-entry table)."""

    def __init__(self, probabilities: torch.Tensor, device: torch.device):
        cdf = torch.cumsum(probabilities, 0)
        cdf = cdf / cdf[-1]
        self.cdf = cdf.to(device=device, dtype=torch.float64 if device.type != "mps" else torch.float32)
        self.last_id = len(probabilities) - 1

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        uniform = torch.rand(shape, generator=generator, device=self.cdf.device, dtype=self.cdf.dtype)
        return torch.searchsorted(self.cdf, uniform, right=True).clamp_(max=self.last_id)


def skipgram_pairs(
    tokens: torch.Tensor, sentence_ids: torch.Tensor, window: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """All (center, context) pairs of a token stream with word2vec's dynamic window.

    Each center draws its window b uniformly from 1..`window` and pairs with the words at distance 1..b on either
    side within its own sentence.

    Args:
        tokens (`[n]`): ids after subsampling.
        sentence_ids (`[n]`): sentence of each token; pairs never cross sentences.
    Returns:
        centers, contexts (`[num_pairs]` each).
    """
    n = tokens.shape[0]
    reach = torch.randint(1, window + 1, (n,), generator=generator, device=tokens.device)
    centers, contexts = [], []
    for offset in range(1, min(window, n - 1) + 1):
        same_sentence = sentence_ids[:-offset] == sentence_ids[offset:]
        right = same_sentence & (reach[:-offset] >= offset)
        centers.append(tokens[:-offset][right])
        contexts.append(tokens[offset:][right])
        left = same_sentence & (reach[offset:] >= offset)
        centers.append(tokens[offset:][left])
        contexts.append(tokens[:-offset][left])
    if not centers:
        empty = tokens.new_zeros(0)
        return empty, empty
    return torch.cat(centers), torch.cat(contexts)


@torch.no_grad()
def sgns_step(
    embeddings: torch.Tensor,
    context: torch.Tensor,
    centers: torch.Tensor,
    contexts: torch.Tensor,
    negatives: torch.Tensor,
    learning_rate: float,
    max_summed_updates: float = MAX_SUMMED_UPDATES,
) -> torch.Tensor:
    """One stochastic-gradient step on a batch of pairs, updating only the rows they touch, in place.

    This is word2vec's update computed for the whole batch from the same starting values: the gradient of
    `Word2VecModel.skipgram_loss(..., reduction="sum")`, applied with `index_add_`. A negative that equals the
    pair's context word is skipped, as word2vec and gensim do.

    word2vec applies a row's updates one after another, each from the row as the last one left it; a batch sums
    them all from the same starting row, which for a row touched n times is one step n times as long, and
    diverges once n is large (the rows of frequent words in large batches). So a row touched more than
    `max_summed_updates` times in the batch moves by `max_summed_updates` times its mean update instead of the
    sum: rows touched fewer times, nearly all of them, get word2vec's update exactly.

    Args:
        embeddings, context (`[vocab_size, dim]`): the input and context vectors, float32.
        centers, contexts (`[batch]`), negatives (`[batch, negative]`): ids.
        max_summed_updates: the most updates of one row summed at full length (`inf`: no limit).
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
    center_update = positive_gain.unsqueeze(1) * context_vectors
    center_update += torch.bmm(negative_gain.unsqueeze(1), negative_vectors).squeeze(1)
    context_rows = torch.cat([contexts, negatives.flatten()])
    context_update = torch.cat(
        [
            positive_gain.unsqueeze(1) * center_vectors,
            (negative_gain.unsqueeze(2) * center_vectors.unsqueeze(1)).flatten(0, 1),
        ]
    )
    if math.isfinite(max_summed_updates):
        center_update *= _summed_update_scale(centers, embeddings.shape[0], max_summed_updates).unsqueeze(1)
        context_update *= _summed_update_scale(context_rows, context.shape[0], max_summed_updates).unsqueeze(1)
    context.index_add_(0, context_rows, context_update)
    embeddings.index_add_(0, centers, center_update)
    return F.softplus(-positive_score).sum() + (F.softplus(negative_score) * valid_negative).sum()


def _summed_update_scale(rows: torch.Tensor, num_rows: int, max_summed_updates: float) -> torch.Tensor:
    """Per entry of `rows`: min(1, max_summed_updates / (times its row occurs in `rows`))."""
    # A dense count (one zeroed vector per step) rather than torch.unique, which waits for the device.
    touches = torch.zeros(num_rows, dtype=torch.float32, device=rows.device)
    touches.index_add_(0, rows, torch.ones(rows.shape, dtype=torch.float32, device=rows.device))
    return (max_summed_updates / touches[rows]).clamp_(max=1.0)
