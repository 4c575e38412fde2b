"""What the engines sample from, built once for all of them: which occurrences subsampling keeps, the noise
distribution of negative sampling (as an inverse CDF for the torch engine, as Walker's alias table for the numba
and triton kernels), the Huffman tree of hierarchical softmax, and a block's training examples as the torch and
triton engines train them: (center, context) pairs for skip-gram, each kept word's window for CBOW.

The tables are built on the CPU, once a run; each engine moves what it uses to its device. The examples are built
with tensors on the training device: no Python loop runs per word, pair or window.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from numba import njit

from word2vec_hub.modeling.modeling_word2vec import HuffmanTree, huffman_tree


@dataclass
class SamplingTables:
    """A run's subsampling and noise distributions (float64, on the CPU), from the model's word counts; the pad and
    unknown words are never trained, so they get neither."""

    keep_probability: torch.Tensor
    noise_probabilities: torch.Tensor
    # The counts the tables were built from (the untrained words' zeroed).
    trainable_counts: torch.Tensor
    # The tie rule of the model's Huffman tree (`Word2VecConfig.huffman_ties`): no default, so that no caller
    # trains a model on another tree than its own.
    huffman_ties: str

    @classmethod
    def from_counts(
        cls,
        counts: torch.Tensor,
        untrained_ids: list[int | None],
        sample: float,
        ns_exponent: float,
        *,
        huffman_ties: str,
    ) -> SamplingTables:
        trainable_counts = counts.detach().cpu().clone()
        for word_id in untrained_ids:
            if word_id is not None:
                trainable_counts[word_id] = 0
        return cls(
            keep_probabilities(trainable_counts, sample),
            noise_distribution(trainable_counts, ns_exponent),
            trainable_counts,
            huffman_ties,
        )

    @cached_property
    def noise_alias_table(self) -> tuple[np.ndarray, np.ndarray]:
        """`alias_table` of the noise distribution (built on first use: the torch engine samples from the CDF)."""
        return alias_table(self.noise_probabilities.numpy())

    @cached_property
    def huffman_tree(self) -> HuffmanTree:
        """The hierarchical-softmax tree of the trainable words (built on first use, on the CPU): the same tree as
        `Word2VecModel.huffman_tree()` of the saved model."""
        return huffman_tree(self.trainable_counts, self.huffman_ties)


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


@njit(cache=True)
def alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for drawing word i with probability probabilities[i]: (threshold [V], alias [V]).

    A draw picks a column uniformly and keeps it with probability threshold[column], else takes alias[column].
    Two vocabulary-sized arrays stay in the CPU's cache, where word2vec's 10^8-slot unigram table costs a cache
    miss per negative.
    """
    size = probabilities.shape[0]
    scaled = probabilities / probabilities.sum() * size
    threshold = np.ones(size, dtype=np.float64)
    alias = np.arange(size).astype(np.int32)
    small = np.empty(size, dtype=np.int64)
    large = np.empty(size, dtype=np.int64)
    num_small = num_large = 0
    for word in range(size):
        if scaled[word] < 1.0:
            small[num_small] = word
            num_small += 1
        else:
            large[num_large] = word
            num_large += 1
    while num_small > 0 and num_large > 0:
        num_small -= 1
        donor = large[num_large - 1]
        taker = small[num_small]
        threshold[taker] = scaled[taker]
        alias[taker] = donor
        scaled[donor] += scaled[taker] - 1.0
        if scaled[donor] < 1.0:
            num_large -= 1
            small[num_small] = donor
            num_small += 1
    return threshold, alias


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


def shuffled_pairs(
    tokens: torch.Tensor,
    sentence_ids: torch.Tensor,
    keep_probability: torch.Tensor,
    window: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A block's (center, context) pairs as the GPU engines train them: frequent words subsampled with
    `keep_probability` (per id), `skipgram_pairs` of what is kept, in random order."""
    draws = torch.rand(tokens.shape[0], generator=generator, device=tokens.device)
    kept = draws < keep_probability[tokens]
    centers, contexts = skipgram_pairs(tokens[kept], sentence_ids[kept], window, generator)
    order = torch.randperm(centers.shape[0], generator=generator, device=tokens.device)
    return centers[order], contexts[order]


def block_pairs(
    block: np.ndarray,
    sentence_starts: np.ndarray,
    keep_probability: torch.Tensor,
    window: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`shuffled_pairs` of a block of the encoded corpus (ids, and the offsets where its sentences start), on the
    device of `keep_probability`."""
    tokens, sentence_ids = block_tokens(block, sentence_starts, keep_probability.device)
    return shuffled_pairs(tokens, sentence_ids, keep_probability, window, generator)


@dataclass
class BlockWindows:
    """A block's CBOW examples: the words subsampling kept, and per example the position of its center word among
    them and the span of its dynamic window, cut at the sentence's ends: positions start..end-1 less the center's.

    Attributes:
        tokens (`[n]`): the kept word ids, in corpus order.
        centers, starts, ends (`[windows]`): positions in `tokens`; start <= center < end, and end - start >= 2
            (a word alone in its sentence has no window and is no example).
    """

    tokens: torch.Tensor
    centers: torch.Tensor
    starts: torch.Tensor
    ends: torch.Tensor

    def __len__(self) -> int:
        return self.centers.shape[0]


def shuffled_windows(
    tokens: torch.Tensor,
    sentence_ids: torch.Tensor,
    keep_probability: torch.Tensor,
    window: int,
    generator: torch.Generator,
) -> BlockWindows:
    """A block's CBOW windows as the GPU engines train them: frequent words subsampled with `keep_probability` (per
    id), each kept word's window of word2vec's dynamic reach b (uniform on 1..`window`, b words on either side)
    within its sentence, in random order. The random numbers are drawn in `shuffled_pairs`' order."""
    draws = torch.rand(tokens.shape[0], generator=generator, device=tokens.device)
    kept = draws < keep_probability[tokens]
    tokens, sentence_ids = tokens[kept], sentence_ids[kept]
    reach = torch.randint(1, window + 1, tokens.shape, generator=generator, device=tokens.device)
    positions = torch.arange(tokens.shape[0], device=tokens.device)
    # sentence_ids rises along the block: a sentence's kept words are one run, found by binary search.
    sentence_start = torch.searchsorted(sentence_ids, sentence_ids)
    sentence_end = torch.searchsorted(sentence_ids, sentence_ids, right=True)
    starts = torch.maximum(positions - reach, sentence_start)
    ends = torch.minimum(positions + reach + 1, sentence_end)
    has_context = ends - starts > 1
    centers, starts, ends = positions[has_context], starts[has_context], ends[has_context]
    order = torch.randperm(centers.shape[0], generator=generator, device=tokens.device)
    return BlockWindows(tokens, centers[order], starts[order], ends[order])


def block_tokens(
    block: np.ndarray, sentence_starts: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A block of the encoded corpus (ids, and the offsets where its sentences start) as tensors on `device`: the
    ids (`[n]` int64) and each one's sentence number (`[n]`, rising)."""
    tokens = torch.from_numpy(block.astype(np.int64)).to(device)
    sentence_marks = torch.zeros(tokens.shape[0], dtype=torch.int32, device=device)
    sentence_marks[torch.from_numpy(sentence_starts).to(device)] = 1
    return tokens, torch.cumsum(sentence_marks, 0)


def block_windows(
    block: np.ndarray,
    sentence_starts: np.ndarray,
    keep_probability: torch.Tensor,
    window: int,
    generator: torch.Generator,
) -> BlockWindows:
    """`shuffled_windows` of a block of the encoded corpus, on the device of `keep_probability`."""
    tokens, sentence_ids = block_tokens(block, sentence_starts, keep_probability.device)
    return shuffled_windows(tokens, sentence_ids, keep_probability, window, generator)
