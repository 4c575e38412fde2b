"""The torch engine: word2vec's four models (skip-gram or CBOW, with negative sampling, hierarchical softmax or
both) as word2vec and gensim define them, vectorised over batches of shuffled examples, on any device torch runs
on.

An example is a (center, context) pair for skip-gram and a word's window for CBOW. Each has an input vector h (the
pair's input row; the mean or sum of the window's rows) and output terms, rows scored against h towards a label:
the context word (1) and the negatives (0) in the `context` table, and the inner nodes on the word's path through
the Huffman tree (1 - code) in the `nodes` table. `train_step` applies word2vec's update for a batch of examples
with any input and output terms.

With subwords (fastText's model, `args.subwords`) a word's input rows are its own row and its character n-grams'
rows of the `ngrams` table (`SubwordTable`): CBOW's window sums the rows of all its words, and skip-gram's example
becomes a center's whole window (the center's rows in, each context word out, one after another), fastText's
direction and per-pair update.

Everything here works on tensors on the training device: no Python loop runs per word, pair or window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from word2vec_hub.modeling.modeling_word2vec import HuffmanTree

from .engine import BlockResult, EngineInputs
from .sampling import BlockWindows, NoiseSampler, block_pairs, block_windows
from .schedule import Schedule
from .subword_rows import SubwordRows

# The step bound's projections of n-gram rows' steps on their examples' output rows are computed this many floats
# at a time, so that a CBOW batch's many n-gram rows never gather all their examples' output rows at once.
PROJECTION_CHUNK_FLOATS = 1 << 22


@dataclass
class OutputTerms:
    """One output layer's part of a batch: per example, the rows of `table` scored against its input vector, their
    labels, and which of them count (a negative equal to the context word, or a step past the end of a word's
    path, does not).

    Attributes:
        table (`[rows, dim]`): `context` or `nodes`, float32, updated in place.
        rows (`[batch, terms]`): ids in `table`.
        labels, used (`[batch, terms]`): float32, 1 or 0.
    """

    table: torch.Tensor
    rows: torch.Tensor
    labels: torch.Tensor
    used: torch.Tensor


def negative_sampling_terms(
    context: torch.Tensor, outputs: torch.Tensor, negatives: torch.Tensor, live: torch.Tensor | None = None
) -> OutputTerms:
    """The context word (label 1) and its negatives (label 0; one equal to the context word skipped, as word2vec and
    gensim do). `outputs` `[batch]`, `negatives` `[batch, negative]`; or, for several output words an example (a
    window's context words), `outputs` and `live` (which of them exist, bool) `[batch, slots]` and `negatives`
    `[batch, slots, negative]`, whose terms are laid side by side (`[batch, slots * (1 + negative)]`)."""
    rows = torch.cat([outputs.unsqueeze(-1), negatives], -1)
    labels = torch.zeros(rows.shape, dtype=context.dtype, device=rows.device)
    labels[..., 0] = 1
    used = torch.cat([torch.ones_like(outputs, dtype=torch.bool).unsqueeze(-1), negatives != outputs.unsqueeze(-1)], -1)
    if live is not None:
        used &= live.unsqueeze(-1)
    return OutputTerms(context, rows.flatten(1), labels.flatten(1), used.to(context.dtype).flatten(1))


class SoftmaxPaths:
    """The Huffman tree's paths on the training device, per word: its inner nodes (rows of `nodes`), their labels
    1 - code (word2vec's `g = (1 - code - f) * alpha`), and which steps lie on the path (`[vocab_size, depth]`)."""

    def __init__(self, tree: HuffmanTree, nodes: torch.Tensor):
        depth = torch.arange(tree.codes.shape[1])
        self.nodes = nodes
        self.points = tree.points.to(nodes.device)
        self.labels = (1 - tree.codes.to(nodes.dtype)).to(nodes.device)
        self.used = (depth < tree.lengths.unsqueeze(1)).to(nodes.dtype).to(nodes.device)

    def terms(self, outputs: torch.Tensor, live: torch.Tensor | None = None) -> OutputTerms:
        """The path of each word of `outputs` (`[batch]`; or `[batch, slots]` with `live` as in
        `negative_sampling_terms`, the paths laid side by side)."""
        used = self.used[outputs] if live is None else self.used[outputs] * live.unsqueeze(-1)
        return OutputTerms(
            self.nodes, self.points[outputs].flatten(1), self.labels[outputs].flatten(1), used.flatten(1)
        )


@dataclass
class NgramInputs:
    """The n-gram rows of a batch's examples, one entry per row (repeats kept): entry k adds row `rows[k]` of
    `table` to the input vector of example `examples[k]`; entries are in example order.

    Attributes:
        table (`[rows, dim]`): the n-gram table (compact or full), float32, updated in place.
        rows, examples (`[entries]`): int64.
        counts (`[batch]`): entries per example, float32.
    """

    table: torch.Tensor
    rows: torch.Tensor
    examples: torch.Tensor
    counts: torch.Tensor


class SubwordTable:
    """The n-gram table and each word's rows of it (`subword_rows.SubwordRows`) on the training device."""

    def __init__(self, ngrams: torch.Tensor, subword_rows: SubwordRows):
        self.ngrams = ngrams
        self.starts = torch.from_numpy(subword_rows.starts).to(ngrams.device)
        self.rows = torch.from_numpy(subword_rows.rows.astype(np.int64)).to(ngrams.device)

    def inputs(self, words: torch.Tensor, used: torch.Tensor) -> NgramInputs:
        """The n-gram rows of the words in an input tile (`words`, `used`: `[batch, slots]`, as `train_step`'s
        `inputs`), flat. Their number is known only here: reading it waits for the device once a batch."""
        begins = self.starts[words].flatten()
        lengths = (self.starts[words + 1].flatten() - begins) * used.flatten()
        slot_of_entry = torch.repeat_interleave(torch.arange(lengths.shape[0], device=words.device), lengths)
        first_entry = torch.cumsum(lengths, 0) - lengths
        position = torch.arange(slot_of_entry.shape[0], device=words.device) - first_entry[slot_of_entry]
        rows = self.rows[begins[slot_of_entry] + position]
        counts = lengths.view(words.shape).sum(1).to(self.ngrams.dtype)
        return NgramInputs(self.ngrams, rows, slot_of_entry // words.shape[1], counts)


def window_inputs(windows: BlockWindows, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The input rows of CBOW windows as a padded tile: ids and whether each slot is in the window
    (`[windows, 2 * window]`; slot k at offset k - window from the center, or k - window + 1 past it)."""
    offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)]).to(windows.centers.device)
    positions = windows.centers.unsqueeze(1) + offsets
    used = (positions >= windows.starts.unsqueeze(1)) & (positions < windows.ends.unsqueeze(1))
    ids = torch.where(used, windows.tokens[positions.clamp(0, windows.tokens.shape[0] - 1)], 0)
    return ids, used


@dataclass
class BlockExamples:
    """A block's examples as `train_step` takes them: `inputs`, `input_used` (`[examples, slots]`) and `outputs`
    (`[examples]`; `[examples, slots]` with `output_used` when an example has several output words: skip-gram with
    subwords, whose example is a center's window)."""

    inputs: torch.Tensor
    input_used: torch.Tensor
    outputs: torch.Tensor
    output_used: torch.Tensor | None = None


class TorchEngine:
    """`train_block` as batches of `batch_size` examples, each one `train_step` (see `engine.Engine`).

    The constructor makes the one choice of model: skip-gram pairs or CBOW windows (`args.cbow`, `args.cbow_mean`),
    and negative sampling (`args.negative`), hierarchical softmax (`args.hs`) or both as the output layer. With
    subwords (`args.subwords`) the input rows also take each word's n-gram rows, and a skip-gram example is a
    center's window: a batch then holds batch_size / (window + 1) windows, about batch_size pairs."""

    threads = 1

    def __init__(self, inputs: EngineInputs):
        self.embeddings, self.context = inputs.embeddings, inputs.context
        self.keep_probability = inputs.sampling.keep_probability.float().to(inputs.device)
        self.args, self.generator, self.device = inputs.args, inputs.generator, inputs.device
        self.world_size = inputs.world_size
        self.noise = NoiseSampler(inputs.sampling.noise_probabilities, inputs.device) if self.args.negative else None
        self.paths = SoftmaxPaths(inputs.sampling.huffman_tree, inputs.nodes) if self.args.hs else None
        self.subwords = SubwordTable(inputs.ngrams, inputs.subword_rows) if self.args.subwords else None
        if self.args.cbow:
            self.block_examples = self._windows
        else:
            self.block_examples = self._center_windows if self.subwords is not None else self._pairs
        # fastText composes a word's vector as the mean of its rows.
        self.mean = self.args.cbow_mean if self.args.cbow else self.subwords is not None
        if self.subwords is not None and not self.args.cbow:
            self.batch_size = max(1, self.args.batch_size // (self.args.window + 1))
        else:
            self.batch_size = self.args.batch_size

    def train_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> BlockResult:
        examples = self.block_examples(block, sentence_starts)
        count = examples.outputs.shape[0]
        batch_size = self.batch_size
        num_batches = max(1, math.ceil(count / batch_size))
        slots = 1 if examples.output_used is None else examples.outputs.shape[1]
        # The rate falls between batches as if the block's words were spread evenly over them, on every rank.
        words_per_batch = block.shape[0] / num_batches
        loss = torch.zeros((), dtype=torch.float64, device=self.device)
        for index in range(num_batches):
            batch = slice(index * batch_size, (index + 1) * batch_size)
            learning_rate = schedule.learning_rate(words_done + index * words_per_batch * self.world_size)
            inputs, input_used = examples.inputs[batch], examples.input_used[batch]
            output_used = examples.output_used[batch] if examples.output_used is not None else None
            terms = self.output_terms(examples.outputs[batch], output_used)
            ngrams = self.subwords.inputs(inputs, input_used) if self.subwords is not None else None
            loss += train_step(self.embeddings, inputs, input_used, terms, learning_rate, self.mean, ngrams=ngrams,
                               slots=slots)  # fmt: skip
        # A skip-gram window counts as its pairs, so that the loss is per pair with and without subwords.
        pairs = count if examples.output_used is None else int(examples.output_used.sum())
        return BlockResult(loss.item(), pairs, pairs)

    def _pairs(self, block: np.ndarray, sentence_starts: np.ndarray) -> BlockExamples:
        centers, contexts = block_pairs(block, sentence_starts, self.keep_probability, self.args.window, self.generator)
        return BlockExamples(centers.unsqueeze(1), torch.ones_like(centers, dtype=torch.bool).unsqueeze(1), contexts)

    def _windows(self, block: np.ndarray, sentence_starts: np.ndarray) -> BlockExamples:
        windows = block_windows(block, sentence_starts, self.keep_probability, self.args.window, self.generator)
        return BlockExamples(*window_inputs(windows, self.args.window), windows.tokens[windows.centers])

    def _center_windows(self, block: np.ndarray, sentence_starts: np.ndarray) -> BlockExamples:
        windows = block_windows(block, sentence_starts, self.keep_probability, self.args.window, self.generator)
        centers = windows.tokens[windows.centers]
        contexts, live = window_inputs(windows, self.args.window)
        return BlockExamples(centers.unsqueeze(1), torch.ones_like(centers, dtype=torch.bool).unsqueeze(1), contexts,
                             live)  # fmt: skip

    def output_terms(self, outputs: torch.Tensor, live: torch.Tensor | None = None) -> list[OutputTerms]:
        """The output terms of examples whose output words are `outputs` (`[batch]`, or `[batch, slots]` with
        `live`): the path through the tree first, then the negatives (word2vec's order; drawn here, in the run's
        stream)."""
        terms = [self.paths.terms(outputs, live)] if self.paths is not None else []
        if self.noise is not None:
            negatives = self.noise.sample((*outputs.shape, self.args.negative), self.generator)
            terms.append(negative_sampling_terms(self.context, outputs, negatives, live))
        return terms


@torch.no_grad()
def train_step(
    embeddings: torch.Tensor,
    inputs: torch.Tensor,
    input_used: torch.Tensor,
    outputs: list[OutputTerms],
    learning_rate: float,
    mean: bool = False,
    bound_steps: bool = True,
    ngrams: NgramInputs | None = None,
    slots: int = 1,
) -> torch.Tensor:
    """One stochastic-gradient step of word2vec on a batch of examples, updating only the rows they touch, in place.

    An example's input vector h is the sum of its input rows (the mean with `mean`, CBOW's `cbow_mean`); each
    output term moves its row by g * h, g = (label - sigmoid(h . row)) * learning_rate, and every input row moves by
    the sum of g * row over the example's terms: for a window's row the full sum even under `mean`, as word2vec and
    gensim do, which is the window's size times the gradient of its loss. Without `mean` this is the gradient step
    of the loss, the sum over terms of -log sigmoid(+-h . row); with one input row (skip-gram) the two agree. All
    of it is computed for the whole batch from the same starting values and applied with `index_add_`.

    With `ngrams` (fastText's subwords) the example's n-gram rows are input rows too, counted in the mean, and each
    moves as a word row does; without `mean` every input row's change is divided by that count, as gensim's
    fastText does. With `slots` > 1 an example is that many pairs of one input (skip-gram with subwords: a center's
    window), whose terms lie slot after slot in each `OutputTerms`: slot by slot, the terms score against h and h
    then moves by the slot's sum of g * row, as fastText's per-pair update moves it (docs/subwords.md, "Training");
    the input rows move by the slots' summed change, with the batch's other changes.

    word2vec applies a row's updates one after another, each from the row as the last one left it; a batch sums
    them all from the same starting row. For a row touched many times (a frequent word in a large batch) that sum
    overshoots and diverges. With `bound_steps` each row's summed step is shortened where need be to the step a
    smooth function never overshoots with: length at most 1 / L times its gradient, with L the largest curvature
    its loss in the batch can have along the step, L = (1/4) * sum over the row's terms of (vector . d)^2 for the
    step's direction d (a sigmoid's slope is at most 1/4). The step then cannot increase the row's loss (for a
    window's row, the loss of each window weighted by its size under `mean`, whose gradient the step follows). A row
    touched once by a vector v keeps word2vec's update while learning_rate * |v|^2 / 4 <= 1 (|v| <= 12.6 at rate
    0.025), which word2vec's vectors are.

    Args:
        embeddings (`[vocab_size, dim]`): the input vectors, float32.
        inputs, input_used (`[batch, slots]`): each example's input rows (skip-gram: 1 slot; CBOW: the padded window)
            and which slots hold one (bool); every example has at least one.
        outputs: the output terms of the batch (`negative_sampling_terms`, `SoftmaxPaths.terms`), over tables other
            than `embeddings`.
        bound_steps: shorten the steps that could overshoot, as above (False: the plain summed step).
        ngrams: the examples' n-gram rows (`SubwordTable.inputs`), or None.
        slots: the pairs of an example (1: one pair or one CBOW window).
    Returns:
        The summed loss of the batch before the update (a 0-d tensor; reading it synchronises the device).
    """
    used = input_used.to(embeddings.dtype)
    counts = used.sum(1) if ngrams is None else used.sum(1) + ngrams.counts
    scale = 1 / counts if mean else torch.ones_like(counts)
    hidden = torch.bmm(used.unsqueeze(1), embeddings[inputs]).squeeze(1)
    if ngrams is not None:
        hidden.index_add_(0, ngrams.examples, ngrams.table[ngrams.rows])
    hidden *= scale.unsqueeze(1)
    batch = hidden.shape[0]
    output_vectors = [terms.table[terms.rows] for terms in outputs]
    scores_of, gains_of = [[] for _ in outputs], [[] for _ in outputs]
    error = torch.zeros_like(hidden)
    slot_hiddens = []
    for slot in range(slots):
        slot_error = torch.zeros_like(hidden)
        for terms, vectors, scores, gains in zip(outputs, output_vectors, scores_of, gains_of, strict=True):
            per_slot = terms.rows.shape[1] // slots
            part = slice(slot * per_slot, (slot + 1) * per_slot)
            scores.append(torch.bmm(vectors[:, part], hidden.unsqueeze(2)).squeeze(2))
            gains.append((terms.labels[:, part] - torch.sigmoid(scores[-1])) * terms.used[:, part] * learning_rate)
            slot_error += torch.bmm(gains[-1].unsqueeze(1), vectors[:, part]).squeeze(1)
        slot_hiddens.append(hidden)
        error += slot_error
        # fastText's per-pair update moves each input row by the pair's change, and so their mean, the next pair's
        # input vector, by the same change (divided by nothing: a pair's change is not scaled).
        hidden = hidden + slot_error
    hiddens = torch.stack(slot_hiddens, 1)
    loss = torch.zeros((), dtype=embeddings.dtype, device=embeddings.device)
    output_slopes = []
    for terms, scores, gains in zip(outputs, scores_of, gains_of, strict=True):
        scores, gains = torch.cat(scores, 1), torch.cat(gains, 1)
        per_slot = terms.rows.shape[1] // slots
        updates = (gains.view(batch, slots, per_slot, 1) * hiddens.unsqueeze(2)).flatten(1, 2)
        # The loss's second derivative along a vector is sigmoid'(score) <= 1/4: its bound, not its value, as a
        # saturated sigmoid has none and yet a large gradient.
        slopes = terms.used / 4
        if bound_steps:
            # Each term's curvature is along its own slot's input vector: slopes [batch, slots, terms], zero off it.
            own_slot = torch.eye(slots, dtype=slopes.dtype, device=slopes.device).view(1, slots, slots, 1)
            slot_slopes = (own_slot * slopes.view(batch, 1, slots, per_slot)).flatten(2)
            updates *= _step_bound(terms.rows, updates, hiddens, slot_slopes, terms.table.shape, learning_rate)
        terms.table.index_add_(0, terms.rows.flatten(), updates.flatten(0, 1))
        loss += (F.softplus((1 - 2 * terms.labels) * scores) * terms.used).sum()
        output_slopes.append(slopes)
    # gensim's fastText divides a summed window's change by its rows; word2vec's CBOW does not.
    change_scale = 1 / counts if ngrams is not None and not mean else torch.ones_like(counts)
    error *= change_scale.unsqueeze(1)
    input_updates = error.unsqueeze(1) * used.unsqueeze(2)
    if bound_steps:
        # A row r that enters h m times (m: its slots in the example) moves by m * change_scale times the error, the
        # gradient of the example's loss weighted by change_scale / scale, whose curvature along d is
        # change_scale * scale * m^2 * (row . d)^2 per term: change_scale * scale * m per slot.
        same_word = (inputs.unsqueeze(2) == inputs.unsqueeze(1)) & input_used.unsqueeze(1)
        weights = (change_scale * scale).unsqueeze(1) * same_word.sum(2).to(embeddings.dtype) * used
        slopes = torch.cat(output_slopes, 1).unsqueeze(2) * weights.unsqueeze(1)
        input_updates *= _step_bound(inputs, input_updates, torch.cat(output_vectors, 1), slopes, embeddings.shape,
                                     learning_rate)  # fmt: skip
    embeddings.index_add_(0, inputs.flatten(), input_updates.flatten(0, 1))
    if ngrams is not None:
        ngram_updates = error[ngrams.examples]
        if bound_steps:
            weights = (change_scale * scale)[ngrams.examples]
            ngram_updates *= _ngram_step_bound(ngrams, ngram_updates, weights, torch.cat(output_vectors, 1),
                                               torch.cat(output_slopes, 1), learning_rate)  # fmt: skip
        ngrams.table.index_add_(0, ngrams.rows, ngram_updates)
    return loss


def sgns_step(
    embeddings: torch.Tensor,
    context: torch.Tensor,
    centers: torch.Tensor,
    contexts: torch.Tensor,
    negatives: torch.Tensor,
    learning_rate: float,
    bound_steps: bool = True,
) -> torch.Tensor:
    """`train_step` for skip-gram pairs with negative sampling: the gradient step of
    `Word2VecModel.skipgram_loss(..., reduction="sum")`. `centers`, `contexts` `[batch]`, `negatives`
    `[batch, negative]`; returns the batch's summed loss before the update."""
    return train_step(
        embeddings, centers.unsqueeze(1), torch.ones_like(centers, dtype=torch.bool).unsqueeze(1),
        [negative_sampling_terms(context, contexts, negatives)], learning_rate, bound_steps=bound_steps,
    )  # fmt: skip


def _step_bound(
    rows: torch.Tensor,
    updates: torch.Tensor,
    vectors: torch.Tensor,
    slopes: torch.Tensor,
    table_shape: torch.Size,
    learning_rate: float,
) -> torch.Tensor:
    """Per entry of `rows` (`[batch, entries]`, with `updates` `[batch, entries, dim]`): min(1, 1 / (learning_rate *
    L)) of its row, with L = sum over the row's entries and their example's `vectors` (`[batch, k, dim]`, weights
    `slopes` `[batch, k, entries]`) of slope * (vector . d)^2, for d the direction of the row's summed update.
    Returns `[batch, entries, 1]`."""
    # Dense scratch tables rather than torch.unique, which waits for the device.
    flat_rows = rows.flatten()
    steps = torch.zeros(table_shape, dtype=updates.dtype, device=updates.device)
    steps.index_add_(0, flat_rows, updates.flatten(0, 1))
    row_steps = steps[rows]
    projections = torch.bmm(vectors, row_steps.transpose(1, 2))
    curvature = torch.zeros(table_shape[0], dtype=updates.dtype, device=updates.device)
    curvature.index_add_(0, flat_rows, (slopes * projections.square()).sum(1).flatten())
    # Both sides times |step|^2: learning_rate * L * |step|^2 against |step|^2.
    squared_lengths = row_steps.square().sum(2)
    scale = squared_lengths / (learning_rate * curvature[rows]).clamp(min=1e-30)
    return scale.clamp_(max=1.0).unsqueeze(2)


def _ngram_step_bound(
    ngrams: NgramInputs,
    updates: torch.Tensor,
    weights: torch.Tensor,
    vectors: torch.Tensor,
    slopes: torch.Tensor,
    learning_rate: float,
) -> torch.Tensor:
    """`_step_bound` for the n-gram rows, entry by entry (`updates` `[entries, dim]`; `weights` `[entries]`, each
    entry's change_scale * scale before its multiplicity in its example; `vectors` `[batch, terms, dim]` and `slopes`
    `[batch, terms]`, the examples' output rows and their slope bounds). The rows are numbered afresh within the
    batch: the n-gram table has millions of rows, too many for `_step_bound`'s dense scratch tables. Returns
    `[entries, 1]`."""
    # Entries of one row in one example: its multiplicity m there (as `same_word` counts a window's slots).
    pair_keys = ngrams.examples * ngrams.table.shape[0] + ngrams.rows
    _, pair_of_entry, pair_counts = torch.unique(pair_keys, return_inverse=True, return_counts=True)
    weights = weights * pair_counts[pair_of_entry].to(updates.dtype)
    distinct_rows, row_of_entry = torch.unique(ngrams.rows, return_inverse=True)
    steps = torch.zeros(distinct_rows.shape[0], updates.shape[1], dtype=updates.dtype, device=updates.device)
    steps.index_add_(0, row_of_entry, updates)
    row_steps = steps[row_of_entry]
    curvature = torch.zeros(distinct_rows.shape[0], dtype=updates.dtype, device=updates.device)
    curvature.index_add_(0, row_of_entry, weights * _term_curvatures(vectors, slopes, ngrams.examples, row_steps))
    squared_lengths = row_steps.square().sum(1)
    scale = squared_lengths / (learning_rate * curvature[row_of_entry]).clamp(min=1e-30)
    return scale.clamp_(max=1.0).unsqueeze(1)


def _term_curvatures(
    vectors: torch.Tensor, slopes: torch.Tensor, examples: torch.Tensor, directions: torch.Tensor
) -> torch.Tensor:
    """sum over k of slopes[x, k] * (vectors[x, k] . d)^2 for each entry (example x = `examples[e]`, d =
    `directions[e]`, `[entries, dim]`), a chunk of entries at a time. Returns `[entries]`."""
    per_chunk = max(1, PROJECTION_CHUNK_FLOATS // (vectors.shape[1] * vectors.shape[2]))
    parts = []
    for first in range(0, examples.shape[0], per_chunk):
        chunk = examples[first : first + per_chunk]
        projections = torch.bmm(vectors[chunk], directions[first : first + per_chunk].unsqueeze(2)).squeeze(2)
        parts.append((slopes[chunk] * projections.square()).sum(1))
    return torch.cat(parts) if parts else directions.new_zeros(0)
