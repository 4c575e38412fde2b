"""The numba engine: word2vec's own per-pair SGD, compiled for the CPU and run on several threads (Hogwild).

Batched tensor updates pay for gathers, scatters and temporaries on every pair; the original algorithm, one pair
at a time straight into the tables, pays for none of them, and a CPU runs its scalar loops fast. Each thread takes a
contiguous share of a block of the encoded corpus, as word2vec's threads take shares of the file. With one thread
the result is deterministic for a given seed.

numba caches the compiled functions beside this file (`cache=True`), keyed by this file's path, size and time,
not by the module's name (a cache written under another module name fails to load with "No module named ...").
Any change to this file makes numba compile afresh; a change to `schedule.rate_at_progress`, which the kernel
compiles into itself, does not: clear `__pycache__/numba_engine.*` after one.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from numba import njit, prange

from word2vec_hub.modeling.modeling_word2vec import HuffmanTree

from .devices import cpu_workers
from .engine import BlockResult, EngineInputs
from .schedule import Schedule, rate_at_progress

LOSS_SAMPLE_EVERY = 8
_rate_at_progress = njit(inline="always")(rate_at_progress)


@njit(inline="always")
def _next(state: np.uint64) -> np.uint64:
    return state * np.uint64(25214903917) + np.uint64(11)


@njit(inline="always")
def _draw(state: np.uint64, noise: np.ndarray) -> np.int64:
    # The top 32 bits times the number of columns: the high half picks the column, the low half is a uniform
    # fraction that decides within it (an LCG's low bits repeat with short periods).
    scaled = (state >> np.uint64(32)) * np.uint64(noise.shape[0])
    column = np.int64(scaled >> np.uint64(32))
    entry = noise[column]
    if (scaled & np.uint64(0xFFFFFFFF)) < (entry >> np.uint64(32)):
        return column
    return np.int64(entry & np.uint64(0xFFFFFFFF))


def packed_noise_table(table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`sampling.alias_table`'s (threshold [V], alias [V]) as the kernels draw from it: [V] uint64, a column's
    threshold as a 32-bit fraction in the high half and its alias in the low half. A draw then reads one cache line
    where the two arrays cost two."""
    threshold, alias = table
    fraction = np.minimum(np.floor(threshold * 2.0**32), 2.0**32 - 1).astype(np.uint64)
    return (fraction << np.uint64(32)) | alias.astype(np.uint32).astype(np.uint64)


@njit(cache=True)
def sample_noise(noise: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` draws from `noise` (`packed_noise_table`), as the kernels draw their negatives."""
    state = np.uint64(seed)
    draws = np.empty(count, dtype=np.int64)
    for index in range(count):
        state = _next(state)
        draws[index] = _draw(state, noise)
    return draws


# word2vec's and gensim's sigmoid: a table of SIGMOID_TABLE_SIZE values over [-MAX_EXP, MAX_EXP), read at the grid
# point at or below the score, and gensim's rule of no update at all for an output row scoring |score| >= MAX_EXP
# (its sigmoid is then within 0.0025 of 0 or 1; word2vec.c skips so only in hierarchical softmax and clamps in
# negative sampling, so a row saturated the wrong way still moves there). It spares a pair six `exp` calls and the
# updates of the saturated negatives.
MAX_EXP = 6.0
SIGMOID_TABLE_SIZE = 1000


def sigmoid_table() -> np.ndarray:
    """[SIGMOID_TABLE_SIZE] float32: sigmoid(-MAX_EXP + i * 2 * MAX_EXP / SIGMOID_TABLE_SIZE), word2vec's expTable."""
    grid = (np.arange(SIGMOID_TABLE_SIZE) / SIGMOID_TABLE_SIZE * 2 - 1) * MAX_EXP
    return (1.0 / (1.0 + np.exp(-grid))).astype(np.float32)


SIGMOID_TABLE = sigmoid_table()
_SIGMOID_SCALE = SIGMOID_TABLE_SIZE / (2 * MAX_EXP)


@njit(inline="always")
def _sigmoid(score):
    """The table's sigmoid of `score`, for -MAX_EXP < score < MAX_EXP."""
    # Clamped: a NaN score (diverged tables) may pass the callers' range check, compiled with fastmath, and must
    # not read outside the table; the epoch loop then reports the divergence.
    index = min(max(np.int64((score + MAX_EXP) * _SIGMOID_SCALE), 0), SIGMOID_TABLE_SIZE - 1)
    return SIGMOID_TABLE[index]


@njit(inline="always")
def _softplus(margin):
    # -log sigmoid(margin), without overflow.
    return math.log1p(math.exp(-margin)) if margin > -30.0 else -margin


# Rows of the output tables a worker keeps a copy of while several workers share them (`hot_rows_of`), and how
# many tokens it trains between merging its copies into the shared tables.
HOT_ROWS = 64
MERGE_EVERY = 256
# Context rows first, how many, nodes rows first, how many: none by default.
NO_HOT_ROWS = np.zeros(4, dtype=np.int64)


@njit(inline="always")
def _row(table, hot, hot_first, index):
    """Row `index` of `table`, or the worker's copy of it in `hot` (rows hot_first.. of `table`)."""
    if hot_first <= index < hot_first + hot.shape[0]:
        return hot[index - hot_first]
    return table[index]


@njit(inline="always")
def _merge_hot_rows(table, hot, seen, hot_first):
    """Add what this worker changed in its copies `hot` since the last merge (`hot - seen`) to the shared rows
    `table[hot_first:]`, and start again from the merged rows."""
    for slot in range(hot.shape[0]):
        shared, mine, before = table[hot_first + slot], hot[slot], seen[slot]
        for k in range(shared.shape[0]):
            merged = shared[k] + (mine[k] - before[k])
            shared[k] = merged
            mine[k] = merged
            before[k] = merged


@njit(inline="always")
def _share(num_tokens, sentence_starts, worker, workers):
    """Worker `worker`'s equal share of a block's tokens, ids[low:high] (a sentence at a share boundary is cut), and
    a buffer for its longest sentence piece: (low, high, buffer)."""
    low = num_tokens * worker // workers
    high = num_tokens * (worker + 1) // workers
    first = np.searchsorted(sentence_starts, low, side="right") - 1
    last = np.searchsorted(sentence_starts, high, side="left")
    longest = 1
    for sentence in range(first, last):
        span = min(sentence_starts[sentence + 1], high) - max(sentence_starts[sentence], low)
        longest = max(longest, span)
    return low, high, np.empty(longest, dtype=np.int32)


@njit(inline="always")
def _hot_copies(table, first, count):
    """A worker's copy of table[first:first + count], the rows it trains on, and the copy as last merged."""
    hot = table[first : first + count].copy()
    return hot, hot.copy()


@njit(inline="always")
def _kept_words(ids, start, end, keep_probability, state, buffer):
    """The words of ids[start:end] that subsampling keeps, into `buffer`: (how many, the random state after)."""
    length = 0
    for position in range(start, end):
        word = ids[position]
        state = _next(state)
        # The high bits: an LCG's low bits repeat with short periods.
        if keep_probability[word] < 1.0 and (state >> np.uint64(32)) / 4294967296.0 >= keep_probability[word]:
            continue
        buffer[length] = word
        length += 1
    return length, state


@njit(inline="always")
def _negative_sampling(
    hidden, gradient, output_word, context, hot_context, context_first, noise, targets, rate32, state, sample_loss
):  # fmt: skip
    """word2vec's negative sampling for one example whose input vector is `hidden` [dim]: the output word (label 1)
    and len(targets) - 1 noise words (label 0; one equal to the output word skipped) scored against it, each row of
    `context` moved at once by g * hidden, g = (label - sigmoid(score)) * rate (the table's sigmoid; no update where
    |score| >= MAX_EXP), and g * row added to `gradient`. `targets` is scratch. Returns the random state and the
    example's loss (0 unless `sample_loss`)."""
    dim = hidden.shape[0]
    targets[0] = output_word
    # The noise words drawn first: their table reads do not wait on the updates, and the rows' loads can overlap.
    for d in range(1, targets.shape[0]):
        state = _next(state)
        targets[d] = _draw(state, noise)
    loss = 0.0
    for d in range(targets.shape[0]):
        target = targets[d]
        if d > 0 and target == output_word:
            continue
        row = _row(context, hot_context, context_first, target)
        score = np.float32(0.0)
        for k in range(dim):
            score += hidden[k] * row[k]
        if sample_loss:
            loss += _softplus(score if d == 0 else -score)
        if score <= -MAX_EXP or score >= MAX_EXP:
            continue
        step = (np.float32(1.0 if d == 0 else 0.0) - _sigmoid(score)) * rate32
        for k in range(dim):
            gradient[k] += step * row[k]
            row[k] += step * hidden[k]
    return state, loss


@njit(fastmath=True, nogil=True, cache=True)
def _train_share(
    ids, sentence_starts, low, high, embeddings, context, keep_probability, noise, window, negative, alpha,
    min_alpha, progress_start, progress_rate, seed, buffer, result, hot_rows,
):  # fmt: skip
    dim = embeddings.shape[1]
    state = np.uint64(seed)
    gradient = np.zeros(dim, dtype=np.float32)
    targets = np.empty(negative + 1, dtype=np.int64)
    context_first = hot_rows[0]
    hot_context, seen_context = _hot_copies(context, context_first, hot_rows[1])
    since_merge = 0
    words_done = 0
    loss = 0.0
    loss_terms = 0
    pairs = 0
    rate = alpha
    sentence = np.searchsorted(sentence_starts, low, side="right") - 1
    while sentence < sentence_starts.shape[0] - 1 and sentence_starts[sentence] < high:
        start = max(sentence_starts[sentence], low)
        end = min(sentence_starts[sentence + 1], high)
        sentence += 1
        length, state = _kept_words(ids, start, end, keep_probability, state, buffer)
        words_done += end - start
        rate = _rate_at_progress(progress_start + words_done * progress_rate, alpha, min_alpha)
        rate32 = np.float32(rate)
        for i in range(length):
            # Merged every MERGE_EVERY kept words, inside a sentence too: a document a line can be a whole share.
            since_merge += 1
            if since_merge >= MERGE_EVERY:
                since_merge = 0
                _merge_hot_rows(context, hot_context, seen_context, context_first)
            state = _next(state)
            reach = window - np.int64((state >> np.uint64(32)) % np.uint64(window))
            output_word = buffer[i]
            sample_loss = i % LOSS_SAMPLE_EVERY == 0
            for j in range(max(0, i - reach), min(length, i + reach + 1)):
                if j == i:
                    continue
                pairs += 1
                vector = embeddings[buffer[j]]
                gradient[:] = 0.0
                state, pair_loss = _negative_sampling(
                    vector, gradient, output_word, context, hot_context, context_first, noise, targets, rate32, state,
                    sample_loss,
                )  # fmt: skip
                for k in range(dim):
                    vector[k] += gradient[k]
                if sample_loss:
                    loss += pair_loss
                    loss_terms += 1
    _merge_hot_rows(context, hot_context, seen_context, context_first)
    result[0] = loss
    result[1] = loss_terms
    result[2] = pairs
    result[3] = rate


@njit(parallel=True, nogil=True, cache=True)
def train_block(
    ids, sentence_starts, embeddings, context, keep_probability, noise, window, negative, alpha, min_alpha,
    progress_start, progress_rate, seeds, workers, hot_rows=NO_HOT_ROWS,
):  # fmt: skip
    """Train on one block: `ids` [n] int32, `sentence_starts` [sentences + 1] int64 offsets ending with n.

    `keep_probability` [vocab] is the subsampling keep probability, `noise` the noise distribution's alias table
    (`packed_noise_table`), `seeds` [workers]. After each sentence a worker trains at
    `schedule.rate_at_progress` of its progress, `progress_start + progress_rate * (words it has done)`.

    Returns per worker: sampled loss sum, sampled pair count, pairs trained, last learning rate.
    """
    num_tokens = ids.shape[0]
    results = np.zeros((workers, 4), dtype=np.float64)
    for worker in prange(workers):
        low, high, buffer = _share(num_tokens, sentence_starts, worker, workers)
        _train_share(
            ids, sentence_starts, low, high, embeddings, context, keep_probability, noise, window, negative,
            alpha, min_alpha, progress_start, progress_rate, seeds[worker], buffer,
            results[worker], hot_rows,
        )  # fmt: skip
    return results


@njit(inline="always")
def _node_update(hidden, gradient, row, label, rate32, sample_loss):
    """One inner node's step of hierarchical softmax: `row` [dim] moves by g * hidden and `gradient` by g * row, g =
    (label - sigmoid(score)) * rate, the table's sigmoid as in negative sampling, except where |score| >= MAX_EXP.
    Returns the loss term (0 unless `sample_loss`)."""
    score = np.float32(0.0)
    for k in range(hidden.shape[0]):
        score += hidden[k] * row[k]
    loss = _softplus(score if label > 0.5 else -score) if sample_loss else 0.0
    if score <= -MAX_EXP or score >= MAX_EXP:
        return loss
    step = (label - _sigmoid(score)) * rate32
    for k in range(hidden.shape[0]):
        gradient[k] += step * row[k]
        row[k] += step * hidden[k]
    return loss


@njit(inline="always")
def _output_layers(
    hidden, gradient, output_word, nodes, hot_nodes, nodes_first, path_starts, path_nodes, path_labels, context,
    hot_context, context_first, noise, negative, targets, rate32, state, sample_loss,
):  # fmt: skip
    """word2vec's update of the output layers for one example whose input vector is `hidden` [dim]: the nodes
    on `output_word`'s Huffman path (hierarchical softmax), then the word and `negative` noise words (negative
    sampling, `_negative_sampling`; `targets` [negative + 1] is its scratch). The output rows are updated at once;
    the input's gradient (times the rate) is added to `gradient`. Returns the random state and the example's loss
    (0 unless `sample_loss`)."""
    loss = 0.0
    path_start, path_end = path_starts[output_word], path_starts[output_word + 1]
    # A path runs down from the root through ever earlier made nodes (lower ids), so the hot node rows, the last
    # rows of `nodes`, are its first steps: a loop over those, then one over the rest, each on one table (choosing
    # the table per step made the loop a fifth slower).
    hot_end = nodes_first + hot_nodes.shape[0]
    split = path_start
    while split < path_end and nodes_first <= path_nodes[split] < hot_end:
        split += 1
    for step_index in range(path_start, split):
        loss += _node_update(
            hidden, gradient, hot_nodes[path_nodes[step_index] - nodes_first], path_labels[step_index], rate32,
            sample_loss,
        )  # fmt: skip
    for step_index in range(split, path_end):
        loss += _node_update(
            hidden, gradient, nodes[path_nodes[step_index]], path_labels[step_index], rate32, sample_loss
        )
    if negative > 0:
        state, sampled_loss = _negative_sampling(
            hidden, gradient, output_word, context, hot_context, context_first, noise, targets, rate32, state,
            sample_loss,
        )  # fmt: skip
        loss += sampled_loss
    return state, loss


@njit(fastmath=True, nogil=True, cache=True)
def _train_share_modes(
    ids, sentence_starts, low, high, embeddings, context, nodes, path_starts, path_nodes, path_labels,
    keep_probability, noise, window, negative, cbow, cbow_mean, alpha, min_alpha, progress_start, progress_rate,
    seed, buffer, result, hot_rows,
):  # fmt: skip
    """`_train_share` for CBOW and for hierarchical softmax: one thread's share ids[low:high] of a block.

    Skip-gram: each (center, context) pair trains the context word's input vector to predict the center word.
    CBOW: each center word is predicted from its window's input vectors, their mean (`cbow_mean`) or sum, and
    every one of them gets the whole gradient of that input (as word2vec and gensim do)."""
    dim = embeddings.shape[1]
    state = np.uint64(seed)
    gradient = np.zeros(dim, dtype=np.float32)
    hidden = np.zeros(dim, dtype=np.float32)
    context_first, nodes_first = hot_rows[0], hot_rows[2]
    hot_context, seen_context = _hot_copies(context, context_first, hot_rows[1])
    hot_nodes, seen_nodes = _hot_copies(nodes, nodes_first, hot_rows[3])
    targets = np.empty(negative + 1, dtype=np.int64)
    since_merge = 0
    words_done = 0
    loss = 0.0
    loss_examples = 0
    examples = 0
    rate = alpha
    sentence = np.searchsorted(sentence_starts, low, side="right") - 1
    while sentence < sentence_starts.shape[0] - 1 and sentence_starts[sentence] < high:
        start = max(sentence_starts[sentence], low)
        end = min(sentence_starts[sentence + 1], high)
        sentence += 1
        length, state = _kept_words(ids, start, end, keep_probability, state, buffer)
        words_done += end - start
        rate = _rate_at_progress(progress_start + words_done * progress_rate, alpha, min_alpha)
        rate32 = np.float32(rate)
        for i in range(length):
            # Merged every MERGE_EVERY kept words, inside a sentence too: a document a line can be a whole share.
            since_merge += 1
            if since_merge >= MERGE_EVERY:
                since_merge = 0
                _merge_hot_rows(context, hot_context, seen_context, context_first)
                _merge_hot_rows(nodes, hot_nodes, seen_nodes, nodes_first)
            state = _next(state)
            reach = window - np.int64((state >> np.uint64(32)) % np.uint64(window))
            first, last = max(0, i - reach), min(length, i + reach + 1)
            output_word = buffer[i]
            sample_loss = i % LOSS_SAMPLE_EVERY == 0
            if cbow:
                if last - first < 2:
                    continue  # no word beside the center: nothing to predict it from
                hidden[:] = 0.0
                for j in range(first, last):
                    if j != i:
                        row = embeddings[buffer[j]]
                        for k in range(dim):
                            hidden[k] += row[k]
                if cbow_mean:
                    scale = np.float32(1.0 / (last - first - 1))
                    for k in range(dim):
                        hidden[k] *= scale
                gradient[:] = 0.0
                state, example_loss = _output_layers(
                    hidden, gradient, output_word, nodes, hot_nodes, nodes_first, path_starts, path_nodes,
                    path_labels, context, hot_context, context_first, noise, negative, targets, rate32, state,
                    sample_loss,
                )  # fmt: skip
                for j in range(first, last):
                    if j != i:
                        row = embeddings[buffer[j]]
                        for k in range(dim):
                            row[k] += gradient[k]
                examples += 1
                loss += example_loss
                loss_examples += 1 if sample_loss else 0
                continue
            for j in range(first, last):
                if j == i:
                    continue
                vector = embeddings[buffer[j]]
                gradient[:] = 0.0
                state, example_loss = _output_layers(
                    vector, gradient, output_word, nodes, hot_nodes, nodes_first, path_starts, path_nodes,
                    path_labels, context, hot_context, context_first, noise, negative, targets, rate32, state,
                    sample_loss,
                )  # fmt: skip
                for k in range(dim):
                    vector[k] += gradient[k]
                examples += 1
                loss += example_loss
                loss_examples += 1 if sample_loss else 0
    _merge_hot_rows(context, hot_context, seen_context, context_first)
    _merge_hot_rows(nodes, hot_nodes, seen_nodes, nodes_first)
    result[0] = loss
    result[1] = loss_examples
    result[2] = examples
    result[3] = rate


@njit(parallel=True, nogil=True, cache=True)
def train_block_modes(
    ids, sentence_starts, embeddings, context, nodes, path_starts, path_nodes, path_labels, keep_probability, noise,
    window, negative, cbow, cbow_mean, alpha, min_alpha, progress_start, progress_rate, seeds, workers,
    hot_rows=NO_HOT_ROWS,
):  # fmt: skip
    """`train_block` for CBOW (`cbow`) and hierarchical softmax, with or without negative sampling.

    The Huffman paths are flat: word w's steps are path_starts[w]..path_starts[w + 1] - 1 (`path_starts`
    [vocab + 1] int64), each an inner node (`path_nodes`, int32, a row of `nodes` [vocab - 1, dim]) and its label
    (`path_labels`, float32: 1 - the code). Without hierarchical softmax `path_starts` is all zeros; without
    negative sampling `negative` is 0 and `context` may have no rows. Returns per worker: sampled loss sum, sampled
    example count, examples trained (pairs for skip-gram, windows for CBOW), last learning rate.
    """
    num_tokens = ids.shape[0]
    results = np.zeros((workers, 4), dtype=np.float64)
    for worker in prange(workers):
        low, high, buffer = _share(num_tokens, sentence_starts, worker, workers)
        _train_share_modes(
            ids, sentence_starts, low, high, embeddings, context, nodes, path_starts, path_nodes, path_labels,
            keep_probability, noise, window, negative, cbow, cbow_mean, alpha, min_alpha, progress_start,
            progress_rate, seeds[worker], buffer, results[worker], hot_rows,
        )  # fmt: skip
    return results


@njit(inline="always")
def _add_to_word_rows(vector, word, embeddings, ngrams, subword_starts, subword_rows):
    """Add `vector` [dim] to `word`'s own row and to each of its n-gram rows (a row listed twice gets it twice)."""
    dim = vector.shape[0]
    row = embeddings[word]
    for k in range(dim):
        row[k] += vector[k]
    for index in range(subword_starts[word], subword_starts[word + 1]):
        row = ngrams[subword_rows[index]]
        for k in range(dim):
            row[k] += vector[k]


@njit(inline="always")
def _sum_word_rows(total, word, embeddings, ngrams, subword_starts, subword_rows):
    """Add `word`'s own row and its n-gram rows to `total` [dim]; returns how many rows that is."""
    dim = total.shape[0]
    row = embeddings[word]
    for k in range(dim):
        total[k] += row[k]
    for index in range(subword_starts[word], subword_starts[word + 1]):
        row = ngrams[subword_rows[index]]
        for k in range(dim):
            total[k] += row[k]
    return 1 + subword_starts[word + 1] - subword_starts[word]


@njit(fastmath=True, nogil=True, cache=True)
def _train_share_subwords(
    ids, sentence_starts, low, high, embeddings, ngrams, subword_starts, subword_rows, context, nodes, path_starts,
    path_nodes, path_labels, keep_probability, noise, window, negative, cbow, cbow_mean, alpha, min_alpha,
    progress_start, progress_rate, seed, buffer, result, hot_rows,
):  # fmt: skip
    """`_train_share_modes` with fastText's subwords (docs/subwords.md, "Training"): a word's input is its own row
    (`embeddings`) and its n-gram rows (`ngrams`, word w's being subword_rows[subword_starts[w]:subword_starts[w +
    1]]).

    Skip-gram (fastText's direction and per-pair update): each center word's input, the mean of its rows,
    predicts every word of its window in turn; the output layers move at once, the input moves by each pair's
    gradient before the next pair (as the mean of rows that each took that gradient), and the rows take the summed
    gradients after the window. CBOW (gensim's FastText): the window words' rows
    summed, divided by their number under `cbow_mean`, predict the center; each of those rows gets the gradient
    (divided by their number without `cbow_mean`, as gensim does)."""
    dim = embeddings.shape[1]
    state = np.uint64(seed)
    gradient = np.zeros(dim, dtype=np.float32)
    hidden = np.zeros(dim, dtype=np.float32)
    composed = np.zeros(dim, dtype=np.float32)
    context_first, nodes_first = hot_rows[0], hot_rows[2]
    hot_context, seen_context = _hot_copies(context, context_first, hot_rows[1])
    hot_nodes, seen_nodes = _hot_copies(nodes, nodes_first, hot_rows[3])
    targets = np.empty(negative + 1, dtype=np.int64)
    since_merge = 0
    words_done = 0
    loss = 0.0
    loss_examples = 0
    examples = 0
    rate = alpha
    sentence = np.searchsorted(sentence_starts, low, side="right") - 1
    while sentence < sentence_starts.shape[0] - 1 and sentence_starts[sentence] < high:
        start = max(sentence_starts[sentence], low)
        end = min(sentence_starts[sentence + 1], high)
        sentence += 1
        length, state = _kept_words(ids, start, end, keep_probability, state, buffer)
        words_done += end - start
        rate = _rate_at_progress(progress_start + words_done * progress_rate, alpha, min_alpha)
        rate32 = np.float32(rate)
        for i in range(length):
            # Merged every MERGE_EVERY kept words, inside a sentence too: a document a line can be a whole share.
            since_merge += 1
            if since_merge >= MERGE_EVERY:
                since_merge = 0
                _merge_hot_rows(context, hot_context, seen_context, context_first)
                _merge_hot_rows(nodes, hot_nodes, seen_nodes, nodes_first)
            state = _next(state)
            reach = window - np.int64((state >> np.uint64(32)) % np.uint64(window))
            first, last = max(0, i - reach), min(length, i + reach + 1)
            if last - first < 2:
                continue  # a word alone in its window: no example
            center = buffer[i]
            sample_loss = i % LOSS_SAMPLE_EVERY == 0
            hidden[:] = 0.0
            gradient[:] = 0.0
            if cbow:
                summed = 0
                for j in range(first, last):
                    if j != i:
                        summed += _sum_word_rows(hidden, buffer[j], embeddings, ngrams, subword_starts, subword_rows)
                scale = np.float32(1.0 / summed)
                if cbow_mean:
                    for k in range(dim):
                        hidden[k] *= scale
                state, example_loss = _output_layers(
                    hidden, gradient, center, nodes, hot_nodes, nodes_first, path_starts, path_nodes, path_labels,
                    context, hot_context, context_first, noise, negative, targets, rate32, state, sample_loss,
                )  # fmt: skip
                if not cbow_mean:
                    for k in range(dim):
                        gradient[k] *= scale
                for j in range(first, last):
                    if j != i:
                        _add_to_word_rows(gradient, buffer[j], embeddings, ngrams, subword_starts, subword_rows)
                examples += 1
                loss += example_loss
                loss_examples += 1 if sample_loss else 0
                continue
            composed[:] = 0.0
            center_rows = _sum_word_rows(composed, center, embeddings, ngrams, subword_starts, subword_rows)
            scale = np.float32(1.0 / center_rows)
            for k in range(dim):
                composed[k] *= scale
                hidden[k] = composed[k]
            for j in range(first, last):
                if j == i:
                    continue
                state, example_loss = _output_layers(
                    hidden, gradient, buffer[j], nodes, hot_nodes, nodes_first, path_starts, path_nodes,
                    path_labels, context, hot_context, context_first, noise, negative, targets, rate32, state,
                    sample_loss,
                )  # fmt: skip
                # fastText adds each pair's gradient to every one of the center's rows at once, which moves their
                # mean, the next pair's input, by exactly that gradient: the input is the composed vector plus the
                # gradients so far, and the rows take their sum once, after the window.
                for k in range(dim):
                    hidden[k] = composed[k] + gradient[k]
                examples += 1
                loss += example_loss
                loss_examples += 1 if sample_loss else 0
            _add_to_word_rows(gradient, center, embeddings, ngrams, subword_starts, subword_rows)
    _merge_hot_rows(context, hot_context, seen_context, context_first)
    _merge_hot_rows(nodes, hot_nodes, seen_nodes, nodes_first)
    result[0] = loss
    result[1] = loss_examples
    result[2] = examples
    result[3] = rate


@njit(parallel=True, nogil=True, cache=True)
def train_block_subwords(
    ids, sentence_starts, embeddings, ngrams, subword_starts, subword_rows, context, nodes, path_starts, path_nodes,
    path_labels, keep_probability, noise, window, negative, cbow, cbow_mean, alpha, min_alpha, progress_start,
    progress_rate, seeds, workers, hot_rows=NO_HOT_ROWS,
):  # fmt: skip
    """`train_block_modes` with subwords (`_train_share_subwords`): `embeddings` [vocab, dim] holds the words' own
    rows, `ngrams` [rows, dim] the n-gram table, `subword_starts` [vocab + 1] int64 and `subword_rows` int32 each
    word's rows of it (`subword_rows.SubwordRows`). Returns per worker what `train_block_modes` returns."""
    num_tokens = ids.shape[0]
    results = np.zeros((workers, 4), dtype=np.float64)
    for worker in prange(workers):
        low, high, buffer = _share(num_tokens, sentence_starts, worker, workers)
        _train_share_subwords(
            ids, sentence_starts, low, high, embeddings, ngrams, subword_starts, subword_rows, context, nodes,
            path_starts, path_nodes, path_labels, keep_probability, noise, window, negative, cbow, cbow_mean, alpha,
            min_alpha, progress_start, progress_rate, seeds[worker], buffer, results[worker], hot_rows,
        )  # fmt: skip
    return results


def flat_paths(tree: HuffmanTree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tree's paths as the kernel reads them: (path_starts [vocab + 1] int64, path_nodes int32, path_labels
    float32), word after word, each root first."""
    on_path = torch.arange(tree.codes.shape[1]) < tree.lengths.unsqueeze(1)
    path_starts = np.zeros(tree.lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(tree.lengths.numpy(), out=path_starts[1:])
    path_nodes = tree.points[on_path].numpy().astype(np.int32)
    path_labels = (1 - tree.codes[on_path].numpy()).astype(np.float32)
    return path_starts, path_nodes, path_labels


def hot_rows_of(counts: np.ndarray, context: np.ndarray, nodes: np.ndarray, workers: int) -> np.ndarray:
    """The output rows each worker keeps a copy of, as the kernels take them: [first context row, how many, first
    node row, how many]; none with one worker, who shares the tables with nobody.

    Several workers writing the same row in turn pass its cache lines back and forth between their cores; the
    rows every few examples write are the root end of the Huffman tree (the last rows of `nodes`: the tree merges
    its nodes in order of weight) and the context rows of the most frequent words, the likeliest negatives (the
    first trained ids: the vocabulary is sorted by count)."""
    if workers == 1:
        return NO_HOT_ROWS
    trained = np.flatnonzero(counts)
    context_first = int(trained[0]) if trained.size else 0
    context_rows = max(0, min(HOT_ROWS, context.shape[0] - context_first))
    nodes_rows = min(HOT_ROWS, nodes.shape[0])
    return np.array([context_first, context_rows, nodes.shape[0] - nodes_rows, nodes_rows], dtype=np.int64)


class NumbaEngine:
    """`train_block` on the CPU: the block's tokens shared among `threads` workers (see `engine.Engine`);
    `train_block_modes` for CBOW and hierarchical softmax, `train_block_subwords` for any model with subwords."""

    def __init__(self, inputs: EngineInputs):
        self.threads = cpu_workers(inputs.args.workers, inputs.local_world_size)
        self.embeddings = inputs.embeddings.numpy()
        # Without negative sampling, or without hierarchical softmax, the kernel gets a table of no rows.
        no_rows = np.zeros((0, self.embeddings.shape[1]), dtype=np.float32)
        self.context = no_rows if inputs.context is None else inputs.context.numpy()
        self.nodes = no_rows if inputs.nodes is None else inputs.nodes.numpy()
        self.keep_probability = inputs.sampling.keep_probability.float().numpy()
        self.noise_table = packed_noise_table(inputs.sampling.noise_alias_table)
        self.args, self.generator = inputs.args, inputs.generator
        if self.args.subwords:
            self.ngrams = inputs.ngrams.numpy()
            self.subword_rows = (inputs.subword_rows.starts, inputs.subword_rows.rows)
        self.hot_rows = hot_rows_of(inputs.sampling.trainable_counts.numpy(), self.context, self.nodes, self.threads)
        if self.args.hs:
            self.paths = flat_paths(inputs.sampling.huffman_tree)
        else:
            self.paths = (
                np.zeros(self.embeddings.shape[0] + 1, np.int64),
                np.zeros(0, np.int32),
                np.zeros(0, np.float32),
            )

    def train_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> BlockResult:
        # numba's thread count belongs to the calling thread: the caller's own count is back once the block is done,
        # so that training with few workers does not slow the caller's later numba work (a .bin's conversion).
        callers_threads = numba.get_num_threads()
        numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
        try:
            return self._train_block(block, sentence_starts, words_done, schedule)
        finally:
            numba.set_num_threads(callers_threads)

    def _train_block(
        self, block: np.ndarray, sentence_starts: np.ndarray, words_done: int, schedule: Schedule
    ) -> BlockResult:
        seeds = torch.randint(1, 2**62, (self.threads,), generator=self.generator).numpy().astype(np.uint64)
        ids = np.ascontiguousarray(block, dtype=np.int32)
        starts = np.append(sentence_starts, block.shape[0]).astype(np.int64)
        args = self.args
        progress = schedule.progress(words_done)
        if args.subwords:
            results = train_block_subwords(
                ids, starts, self.embeddings, self.ngrams, *self.subword_rows, self.context, self.nodes, *self.paths,
                self.keep_probability, self.noise_table, args.window, args.negative, args.cbow, args.cbow_mean,
                schedule.alpha, schedule.min_alpha, *progress, seeds, self.threads, self.hot_rows,
            )  # fmt: skip
        elif args.cbow or args.hs:
            results = train_block_modes(
                ids, starts, self.embeddings, self.context, self.nodes, *self.paths, self.keep_probability,
                self.noise_table, args.window, args.negative, args.cbow, args.cbow_mean, schedule.alpha,
                schedule.min_alpha, *progress, seeds, self.threads, self.hot_rows,
            )  # fmt: skip
        else:
            results = train_block(
                ids, starts, self.embeddings, self.context, self.keep_probability, self.noise_table, args.window,
                args.negative, schedule.alpha, schedule.min_alpha, *progress, seeds, self.threads, self.hot_rows,
            )  # fmt: skip
        return BlockResult(float(results[:, 0].sum()), int(results[:, 1].sum()), int(results[:, 2].sum()))
