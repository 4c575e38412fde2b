"""Phrases learnt from the token stream and joined in it, as the saved tokenizer joins them (see
tokenization/phrases.py).

Learning follows gensim's `Phrases` with its default scorer, word2vec's word2phrase score: a pair of consecutive
tokens (a, b) is a phrase when (count(ab) - min_count) / (count(a) count(b)) * N > threshold, N being the number of
distinct tokens and pairs counted (gensim's `len(vocab)`). Each further pass counts again over the stream with the
phrases found so far joined, so that "new_york" + "times" becomes "new_york_times": 2 passes give phrases of up to
four words. Pairs are counted only where the tokenizer can join them: tokens of word characters, separated by
whitespace, within a line.

The stream is the corpus's word stream (one int32 per word on disk) turned into tokens a block of lines at a time;
joining runs in a compiled loop (leftmost, then longest, as the tokenizer's Aho-Corasick matching), and pairs are
counted with numpy, so memory follows the distinct pairs, not the corpus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit
from tokenizers import Tokenizer, models
from tqdm.auto import tqdm

from word2vec_hub.tokenization.phrases import (
    PHRASE_DELIMITER,
    add_phrases,
    is_phrase_part,
    phrase_of,
    tokenizer_phrases,
    tokens_and_gaps,
)
from word2vec_hub.tokenization.word_level import SPECIAL_TOKENS, UNK_TOKEN, vocabulary_from_counts

from .encoding import WORDS_PER_ENCODE_STEP, EncodedCorpus, WordStream, _read_ids, line_steps

# Distinct pairs held before the counts of the blocks read so far are merged into one sorted array.
PAIRS_BEFORE_MERGE = 1 << 24


@dataclass
class PhraseReport:
    """What phrase learning found, for the log and the benchmarks."""

    learnt: int  # phrases that scored above the threshold
    kept: int  # of those, the ones in the vocabulary (joined often enough to reach min_count)
    seconds: float


@njit(cache=True, nogil=True, inline="always")
def _child(keys, children, key):  # pragma: no cover
    """The child that edge `key` leads to in the sorted `keys`, or -1 (a binary search)."""
    low, high = 0, keys.shape[0]
    while low < high:
        middle = (low + high) >> 1
        if keys[middle] < key:
            low = middle + 1
        else:
            high = middle
    return children[low] if low < keys.shape[0] and keys[low] == key else -1


@njit(cache=True, nogil=True)
def _join(
    tokens, joinable, root, keys, children, phrase_at, width, units, unit_joinable, unit_starts
):  # pragma: no cover
    """Leftmost-longest phrases of `tokens`: for each unit of the result, its id (a token's, or `phrase_at` of the
    trie node a phrase ends at), whether it may join the unit before it, and the index of its first token. `root`:
    the child of the trie's root for each token (most tokens start no phrase: one look-up each)."""
    count = 0
    start = 0
    n = tokens.shape[0]
    while start < n:
        best_length = 1
        best_unit = tokens[start]
        node = root[tokens[start]]
        position = start + 1
        while node >= 0 and position < n and joinable[position]:
            node = _child(keys, children, node * width + tokens[position])
            if node < 0:
                break
            position += 1
            if phrase_at[node] >= 0:
                best_length = position - start
                best_unit = phrase_at[node]
        units[count] = best_unit
        unit_joinable[count] = joinable[start]
        unit_starts[count] = start
        count += 1
        start += best_length
    return count


@dataclass
class _Trie:
    """Phrases as sequences of token ids, for `_join`: the root's child for each token (-1: none), the other
    edges as sorted keys node * width + token with the child each leads to, and the unit id of the phrase that ends
    at each node (-1 where none does)."""

    root: np.ndarray
    keys: np.ndarray
    children: np.ndarray
    phrase_at: np.ndarray
    width: int

    @classmethod
    def of(cls, phrases: Sequence[tuple[int, ...]], width: int, first_unit: int) -> _Trie:
        """Phrase i gets the unit id first_unit + i."""
        edges: dict[int, int] = {}
        phrase_at = [-1]
        for index, phrase in enumerate(phrases):
            node = 0
            for token in phrase:
                key = node * width + token
                if key not in edges:
                    edges[key] = len(phrase_at)
                    phrase_at.append(-1)
                node = edges[key]
            phrase_at[node] = first_unit + index
        root = np.full(width, -1, dtype=np.int64)
        for key, child in edges.items():
            if key < width:
                root[key] = child
        keys = np.array(sorted(key for key in edges if key >= width), dtype=np.int64)
        children = np.array([edges[key] for key in keys.tolist()], dtype=np.int64)
        return cls(root, keys, children, np.array(phrase_at, dtype=np.int64), width)

    def join(self, tokens: np.ndarray, joinable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        units = np.empty(tokens.shape[0], dtype=np.int64)
        unit_joinable = np.empty(tokens.shape[0], dtype=np.bool_)
        unit_starts = np.empty(tokens.shape[0], dtype=np.int64)
        count = _join(
            tokens,
            joinable,
            self.root,
            self.keys,
            self.children,
            self.phrase_at,
            self.width,
            units,
            unit_joinable,
            unit_starts,
        )
        return units[:count], unit_joinable[:count], unit_starts[:count]


@dataclass
class TokenStream:
    """The corpus as token ids (`tokens`: the distinct tokens, in first-appearance order), read a block of lines at
    a time: built from its word stream the first time, and kept on disk beside it for the passes after."""

    words: WordStream
    tokens: list[str]
    word_token_ids: np.ndarray  # the ids of every distinct word's tokens, one word after another
    word_token_lengths: np.ndarray
    # Per entry of word_token_ids: whether it may join the token before it inside its word (whitespace between
    # them once normalised, both phrase parts); a word's first token is decided by the stream.
    joins_inside_word: np.ndarray
    is_first_of_word: np.ndarray
    is_part: np.ndarray  # per token id
    # Where each block lies in the files the first full pass wrote: (first token, tokens, tokens of each line).
    _kept_blocks: list[tuple[int, int, np.ndarray]] | None = None

    @classmethod
    def of(cls, words: WordStream, tokenizer: Tokenizer) -> TokenStream:
        tokens_per_word, gaps_per_word = tokens_and_gaps(tokenizer, words.words)
        index: dict[str, int] = {}
        number = index.setdefault
        ids = np.fromiter((number(token, len(index)) for tokens in tokens_per_word for token in tokens), dtype=np.int32)
        lengths = np.fromiter(map(len, tokens_per_word), dtype=np.int64, count=len(tokens_per_word))
        gaps = np.fromiter((gap for gaps in gaps_per_word for gap in (False, *gaps)), dtype=np.bool_, count=len(ids))
        is_first = np.zeros(len(ids), dtype=np.bool_)
        is_first[(np.cumsum(lengths) - lengths)[lengths > 0]] = True
        tokens = list(index)
        is_part = np.fromiter(map(is_phrase_part, tokens), dtype=np.bool_, count=len(tokens))
        joins = gaps & is_part[ids] & np.concatenate([[False], is_part[ids[:-1]]])
        return cls(words, tokens, ids, lengths, joins, is_first, is_part)

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Whole lines at a time, about WORDS_PER_ENCODE_STEP words: their token ids, whether each token may join
        the one before it in a phrase, and the tokens of each line."""
        tokens_path, joinable_path = self.words.path.with_name("tokens.int32"), self.words.path.with_name("joinable")
        if self._kept_blocks is not None:
            for start, count, tokens_per_line in self._kept_blocks:
                joinable = np.fromfile(joinable_path, dtype=np.bool_, count=count, offset=start)
                yield _read_ids(tokens_path, start, start + count), joinable, tokens_per_line
            return
        kept_blocks, start = [], 0
        with open(tokens_path, "wb") as tokens_file, open(joinable_path, "wb") as joinable_file:
            for tokens, joinable, tokens_per_line in self._build_blocks():
                tokens.tofile(tokens_file)
                joinable.tofile(joinable_file)
                kept_blocks.append((start, len(tokens), tokens_per_line))
                start += len(tokens)
                yield tokens, joinable, tokens_per_line
        self._kept_blocks = kept_blocks

    def _build_blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        offsets = np.cumsum(self.word_token_lengths) - self.word_token_lengths
        line_lengths = self.words.line_lengths
        for first_word, last_word, first_line, last_line in line_steps(line_lengths, WORDS_PER_ENCODE_STEP):
            lines, step_line_lengths = last_line - first_line, line_lengths[first_line:last_line]
            words = _read_ids(self.words.path, first_word, last_word)
            starts_line = np.zeros(last_word - first_word, dtype=np.bool_)
            starts_line[np.cumsum(step_line_lengths, dtype=np.int64) - step_line_lengths] = True
            lengths = self.word_token_lengths[words]
            ends = np.cumsum(lengths)
            positions = np.repeat(offsets[words] - (ends - lengths), lengths) + np.arange(ends[-1] if len(ends) else 0)
            tokens = self.word_token_ids[positions]
            # A word's first token joins the last token before it (whitespace between) unless it starts a line;
            # an empty word ("_" alone, which the normaliser makes a space) is whitespace too.
            after_word_gap = ~np.repeat(starts_line, lengths)
            after_word_gap &= self.is_part[tokens]
            after_word_gap[1:] &= self.is_part[tokens[:-1]]
            after_word_gap[:1] = False
            joinable = np.where(self.is_first_of_word[positions], after_word_gap, self.joins_inside_word[positions])
            word_line = np.repeat(np.arange(lines), step_line_lengths)
            tokens_per_line = np.bincount(word_line, weights=lengths, minlength=lines).astype(np.int64)
            # A line whose words hold no tokens leaves the next line's first token after a word of the line
            # before; line starts are recomputed from the tokens per line.
            line_starts = (np.cumsum(tokens_per_line) - tokens_per_line)[tokens_per_line > 0]
            joinable[line_starts] = False
            yield tokens, joinable, tokens_per_line


def _count_pairs(units: np.ndarray, unit_joinable: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    keys = units[:-1][unit_joinable[1:]] * width + units[1:][unit_joinable[1:]]
    return np.unique(keys, return_counts=True)


def _merge(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([keys for keys, _ in pairs])
    counts = np.concatenate([counts for _, counts in pairs])
    merged, inverse = np.unique(keys, return_inverse=True)
    return merged, np.bincount(inverse, weights=counts, minlength=len(merged)).astype(np.int64)


def phrase_scores(
    pair_counts: np.ndarray, first_counts: np.ndarray, second_counts: np.ndarray, vocabulary_size: int, min_count: int
) -> np.ndarray:
    """gensim's `original_scorer` (word2vec's word2phrase score) of pairs seen `pair_counts` times, whose words
    are seen `first_counts` and `second_counts` times, among `vocabulary_size` distinct tokens and pairs."""
    return (pair_counts - min_count) / (first_counts.astype(np.float64) * second_counts) * vocabulary_size


def _expansion(unit: int, width: int, known: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The tokens of a unit of a stream where the phrases `known` are joined."""
    return (unit,) if unit < width else known[unit - width]


def learn_phrases(stream: TokenStream, passes: int, min_count: int, threshold: float) -> list[tuple[int, ...]]:
    """The phrases of the stream as sequences of its token ids, found in `passes` passes."""
    phrases: dict[tuple[int, ...], None] = {}
    width = len(stream.tokens)
    for _ in range(passes):
        known = list(phrases)
        trie = _Trie.of(known, width, first_unit=width)
        units_width = width + len(known)
        unit_counts = np.zeros(units_width, dtype=np.int64)
        pairs: list[tuple[np.ndarray, np.ndarray]] = []
        held = 0
        for tokens, joinable, _ in stream.blocks():
            units, unit_joinable, _ = trie.join(tokens, joinable)
            unit_counts += np.bincount(units, minlength=units_width)
            pairs.append(_count_pairs(units, unit_joinable, units_width))
            held += len(pairs[-1][0])
            if held > PAIRS_BEFORE_MERGE:
                pairs = [_merge(pairs)]
                held = len(pairs[0][0])
        if not pairs:
            break
        keys, counts = _merge(pairs)
        first, second = keys // units_width, keys % units_width
        distinct = int(np.count_nonzero(unit_counts)) + len(keys)
        scores = phrase_scores(counts, unit_counts[first], unit_counts[second], distinct, min_count)
        found = np.flatnonzero(scores > threshold)

        before = len(phrases)
        for a, b in zip(first[found].tolist(), second[found].tolist(), strict=True):
            phrases.setdefault(_expansion(a, width, known) + _expansion(b, width, known))
        if len(phrases) == before:
            break
    return list(phrases)


def _join_corpus(
    stream: TokenStream, phrases: Sequence[tuple[int, ...]], workdir: Path
) -> tuple[Path, np.ndarray, np.ndarray]:
    """The stream with `phrases` joined, as unit ids (tokens, then phrase i as len(tokens) + i) in a file under
    `workdir`; the units of each line; how often each unit occurs."""
    width = len(stream.tokens)
    trie = _Trie.of(phrases, width, first_unit=width)
    unit_counts = np.zeros(width + len(phrases), dtype=np.int64)
    units_per_line = []
    path = workdir / "units.int32"
    with open(path, "wb") as units_file:
        for tokens, joinable, tokens_per_line in stream.blocks():
            units, _, unit_starts = trie.join(tokens, joinable)
            units.astype(np.int32).tofile(units_file)
            unit_counts += np.bincount(units, minlength=len(unit_counts))
            line_of_unit = np.searchsorted(np.cumsum(tokens_per_line), unit_starts, side="right")
            units_per_line.append(np.bincount(line_of_unit, minlength=len(tokens_per_line)))
    lines = np.concatenate(units_per_line) if units_per_line else np.zeros(0, np.int64)
    return path, lines, unit_counts


def _write_encoded(
    units_path: Path, units_per_line: np.ndarray, unit_ids: np.ndarray, unk_id: int, vocab_size: int
) -> EncodedCorpus:
    """The units mapped to vocabulary ids (`unit_ids`), out-of-vocabulary ones counted and dropped, in ids.int32."""
    ids_path = units_path.with_name("ids.int32")
    counts = np.zeros(vocab_size, dtype=np.int64)
    sentence_lengths, num_tokens = [], 0
    with open(ids_path, "wb") as ids_file:
        for first_unit, last_unit, first_line, last_line in line_steps(units_per_line, WORDS_PER_ENCODE_STEP):
            lines = last_line - first_line
            units = _read_ids(units_path, first_unit, last_unit)
            ids = unit_ids[units]
            counts += np.bincount(ids, minlength=vocab_size)
            known = ids != unk_id
            ids[known].astype(np.int32).tofile(ids_file)
            num_tokens += int(known.sum())
            line_of_unit = np.repeat(np.arange(lines), units_per_line[first_line:last_line])
            per_line = np.bincount(line_of_unit, weights=known, minlength=lines).astype(np.int32)
            sentence_lengths.append(per_line[per_line > 0])
    return EncodedCorpus(
        ids_path=ids_path,
        num_tokens=num_tokens,
        sentence_lengths=np.concatenate(sentence_lengths) if sentence_lengths else np.zeros(0, np.int32),
        counts=counts,
        word_count=int(counts.sum()),
    )


def _vocabulary(
    names: list[str], unit_counts: np.ndarray, phrases: set[str], min_count: int, max_vocab: int | None
) -> dict[str, int]:
    """`[PAD]`, `[UNK]`, then the units by decreasing count (ties alphabetical), as `vocabulary_from_counts`
    orders them: every one of `phrases` whatever its count (the tokenizer joins them, so each needs an id), the
    other units seen at least `min_count` times, up to `max_vocab` units in all."""
    ordered = sorted(
        (-count, name)
        for name, count in zip(names, unit_counts.tolist(), strict=True)
        if name not in SPECIAL_TOKENS and (name in phrases or count >= min_count)
    )
    room = None if max_vocab is None else max_vocab - len(phrases)
    kept = []
    for _, name in ordered:
        if name in phrases:
            kept.append(name)
        elif room is None or room > 0:
            kept.append(name)
            room = None if room is None else room - 1
    return {name: index for index, name in enumerate([*SPECIAL_TOKENS, *kept])}


def encode_with_phrases(
    words: WordStream,
    tokenizer: Tokenizer,
    workdir: str | Path,
    passes: int = 0,
    phrase_min_count: int = 5,
    threshold: float = 10.0,
    min_count: int = 5,
    max_vocab: int | None = None,
    progress: bool = False,
) -> tuple[Tokenizer, EncodedCorpus, PhraseReport]:
    """The corpus encoded with phrases joined, and the tokenizer that joins them in any process.

    With `passes` > 0 the phrases are learnt from the corpus and `tokenizer` (a WordLevel one through
    `tokenization.phrases.use_phrases`, vocabulary unset) gets the vocabulary of the joined text (`min_count`,
    `max_vocab`) and the phrases as added tokens. With `passes` 0 the phrases and vocabulary are `tokenizer`'s own
    (continued training)."""
    started = time.perf_counter()
    bar = tqdm(total=3, desc="phrases: tokens of the distinct words", unit="step", disable=not progress)
    with bar:
        stream = TokenStream.of(words, tokenizer)
        bar.update()
        if passes > 0:
            bar.set_description(f"phrases: learning ({passes} pass{'es' if passes > 1 else ''})")
            learnt = learn_phrases(stream, passes, phrase_min_count, threshold)
        else:
            index = {token: position for position, token in enumerate(stream.tokens)}
            parts = [phrase.split(PHRASE_DELIMITER) for phrase in tokenizer_phrases(tokenizer)]
            learnt = [
                tuple(index[part] for part in phrase) for phrase in parts if all(part in index for part in phrase)
            ]
        bar.update()
        bar.set_description("phrases: joining them in the corpus")
        workdir = Path(workdir)
        names = stream.tokens + [phrase_of([stream.tokens[token] for token in phrase]) for phrase in learnt]
        units_path, units_per_line, unit_counts = _join_corpus(stream, learnt, workdir)
        kept = learnt
        if passes > 0:
            width = len(stream.tokens)
            counts = {name: count for name, count in zip(names, unit_counts.tolist(), strict=True) if count > 0}
            first_vocabulary = vocabulary_from_counts(counts, min_count, max_vocab)
            kept = [phrase for index, phrase in enumerate(learnt) if names[width + index] in first_vocabulary]
            if len(kept) < len(learnt):
                # A phrase joined too rarely is not joined at all: its words count as words again.
                names = names[:width] + [phrase_of([stream.tokens[token] for token in phrase]) for phrase in kept]
                units_path, units_per_line, unit_counts = _join_corpus(stream, kept, workdir)
            vocabulary = _vocabulary(names, unit_counts, set(names[width:]), min_count, max_vocab)
            tokenizer.model = models.WordLevel(vocab=vocabulary, unk_token=UNK_TOKEN)
            add_phrases(tokenizer, names[width:])
        vocabulary = tokenizer.get_vocab()
        unk_id = vocabulary[UNK_TOKEN]
        unit_ids = np.array([vocabulary.get(name, unk_id) for name in names], dtype=np.int64)
        encoded = _write_encoded(units_path, units_per_line, unit_ids, unk_id, tokenizer.get_vocab_size())
        bar.update()
    return tokenizer, encoded, PhraseReport(len(learnt), len(kept), time.perf_counter() - started)
