"""The text-to-id step: a `tokenizers` WordLevel model trained on the corpus, wrapped for transformers."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

from word2vec_hub.tokenization.writing_systems import UNSPACED_CHARACTER, UNSPACED_RUN

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN)


def build_normalizer(lowercase: bool = True, nfkc: bool = True) -> normalizers.Normalizer | None:
    steps = []
    if nfkc:
        steps.append(normalizers.NFKC())
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps) if steps else None


def build_pre_tokenizer(split_punctuation: bool = True, unspaced: str = "none") -> pre_tokenizers.PreTokenizer:
    """Split at whitespace (and punctuation), then cut text of scripts written without spaces out of its
    neighbours: `unspaced="runs"` isolates each run of such characters (for a model that segments it into words),
    `"characters"` each character, `"none"` leaves it inside its word."""
    # Whitespace() splits on \w+|[^\w\s]+, so punctuation becomes tokens of its own; WhitespaceSplit keeps
    # pre-tokenised corpora such as the Penn Treebank ("mr.", "n.v.") exactly as they are written.
    words = pre_tokenizers.Whitespace() if split_punctuation else pre_tokenizers.WhitespaceSplit()
    if unspaced == "none":
        return words
    pattern = {"runs": UNSPACED_RUN, "characters": UNSPACED_CHARACTER}[unspaced]
    return pre_tokenizers.Sequence([words, pre_tokenizers.Split(Regex(pattern), behavior="isolated")])


def empty_word_level_tokenizer(
    lowercase: bool = True,
    nfkc: bool = True,
    split_punctuation: bool = True,
    vocab: dict[str, int] | None = None,
    split_unspaced_characters: bool = False,
) -> Tokenizer:
    """A WordLevel tokenizer with our normalisation and pre-tokenisation, and the given vocabulary (if any).
    `split_unspaced_characters` makes each character of Chinese, Japanese or Thai text a word of its own."""
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    normalizer = build_normalizer(lowercase=lowercase, nfkc=nfkc)
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = build_pre_tokenizer(
        split_punctuation, "characters" if split_unspaced_characters else "none"
    )
    return tokenizer


# str.split() also splits at these four separators, which Rust's char::is_whitespace (and so every
# pre-tokenizer) keeps inside words.
_SEPARATORS_PYTHON_ONLY = re.compile("[\x1c-\x1f]")
_RUST_WHITESPACE = re.compile(r"[^\S\x1c-\x1f]+")


def split_words(line: str) -> list[str]:
    """Split `line` at whitespace exactly where the tokenizers' whitespace pre-tokenizers split it."""
    if _SEPARATORS_PYTHON_ONLY.search(line) is None:
        return line.split()
    return [word for word in _RUST_WHITESPACE.split(line) if word]


def _splits_at_whitespace(pre_tokenizer: pre_tokenizers.PreTokenizer | None) -> bool:
    if isinstance(pre_tokenizer, pre_tokenizers.Sequence):
        pre_tokenizer = pre_tokenizer[0]
    return isinstance(pre_tokenizer, pre_tokenizers.Whitespace | pre_tokenizers.WhitespaceSplit)


def pre_tokens_of_words(tokenizer: Tokenizer, words: Iterable[str]) -> list[list[str]]:
    """The pieces `tokenizer`'s normaliser and pre-tokenizer cut each whitespace-free word into."""
    pre_tokenizer = tokenizer.pre_tokenizer
    if not _splits_at_whitespace(pre_tokenizer):
        raise ValueError(
            f"the tokenizer's pre-tokenizer is {type(pre_tokenizer).__name__}; word2vec training needs one that "
            "splits at whitespace first (build the tokenizer with tokenization.empty_word_level_tokenizer)"
        )
    normalizer = tokenizer.normalizer
    pre_tokenize = pre_tokenizer.pre_tokenize_str
    ascii_pieces = _ascii_rule(tokenizer)
    if normalizer is None:
        return [ascii_pieces(word) if word.isascii() else [token for token, _ in pre_tokenize(word)] for word in words]
    normalize = normalizer.normalize_str
    return [
        ascii_pieces(word) if word.isascii() else [token for token, _ in pre_tokenize(normalize(word))]
        for word in words
    ]


_ASCII_WORD_OR_PUNCTUATION = re.compile(r"\w+|[^\w\s]+", re.ASCII)


def _ascii_rule(tokenizer: Tokenizer) -> Callable[[str], list[str]]:
    """What `tokenizer`'s normaliser and pre-tokenizer make of an ASCII word, in Python, where they are ones that
    `empty_word_level_tokenizer` builds (else the tokenizer's own, through Rust: ten times slower a word). On ASCII,
    NFKC changes nothing, lowercasing is `str.lower`, `Whitespace`'s `\\w+|[^\\w\\s]+` matches what it matches
    under re.ASCII, and the patterns of unspaced scripts match no ASCII character."""
    normalizer = tokenizer.normalizer.__getstate__() if tokenizer.normalizer is not None else None
    pre_tokenizer = tokenizer.pre_tokenizer.__getstate__()
    for lowercase, nfkc, split_punctuation in itertools.product((True, False), repeat=3):
        built = build_normalizer(lowercase=lowercase, nfkc=nfkc)
        if (built.__getstate__() if built is not None else None) != normalizer:
            continue
        for unspaced in ("none", "runs", "characters"):
            if build_pre_tokenizer(split_punctuation, unspaced).__getstate__() != pre_tokenizer:
                continue
            if split_punctuation:
                find = _ASCII_WORD_OR_PUNCTUATION.findall
                return (lambda word: find(word.lower())) if lowercase else find  # noqa: B023 - returned at once
            return (lambda word: [word.lower()]) if lowercase else (lambda word: [word])
    normalize = tokenizer.normalizer.normalize_str if tokenizer.normalizer is not None else str
    return lambda word: [token for token, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalize(word))]


def tokens_of_words(tokenizer: Tokenizer, words: Iterable[str]) -> list[list[str]]:
    """The tokens `tokenizer` makes of each whitespace-free word.

    Our pre-tokenizers split at every whitespace, so a line's tokens are those of its words in turn: running the
    tokenizer once per distinct word instead of once per occurrence gives the same ids at a fraction of the cost.
    A WordLevel model maps each piece to one token, so its tokens are the pre-tokenizer's pieces; any other model
    (the Unigram that segments Chinese) runs once per distinct piece, in Rust and in parallel. A piece encodes
    alone as it does inside its word because normalising and pre-tokenising a piece again leave it as it is.
    """
    pieces_of_words = pre_tokens_of_words(tokenizer, words)
    if isinstance(tokenizer.model, models.WordLevel):
        return pieces_of_words
    distinct = list(dict.fromkeys(piece for pieces in pieces_of_words for piece in pieces))
    # A Unigram model gives an unknown span's own text as its token, with the [UNK] id: tokens come from the ids.
    token_of_id = {index: token for token, index in tokenizer.get_vocab().items()}
    tokens_of_piece = {
        piece: [token_of_id[index] for index in encoding.ids]
        for piece, encoding in zip(distinct, tokenizer.encode_batch(distinct, add_special_tokens=False), strict=True)
    }
    return [[token for piece in pieces for token in tokens_of_piece[piece]] for pieces in pieces_of_words]


@dataclass
class TokenIds:
    """The token ids of each of a list of words, as one ragged array: the ids of all words one after another,
    `lengths[w]` of them for word w."""

    ids: np.ndarray  # int64, all words' ids one after another
    lengths: np.ndarray  # int64, one per word

    @classmethod
    def from_tokens(cls, tokens_per_word: list[list[str]], vocabulary: Mapping[str, int]) -> TokenIds:
        """The ids of tokens under `vocabulary`; a token it lacks gets the id of `[UNK]`."""
        unk_id = vocabulary[UNK_TOKEN]
        tokens = itertools.chain.from_iterable(tokens_per_word)
        return cls(
            np.fromiter((vocabulary.get(token, unk_id) for token in tokens), dtype=np.int64),
            np.fromiter(map(len, tokens_per_word), dtype=np.int64, count=len(tokens_per_word)),
        )


def count_tokens(tokens_per_word: Iterable[list[str]], word_counts: Iterable[int]) -> Counter[str]:
    """How often each token occurs, from the tokens of each distinct word and how often each word occurs."""
    counts = Counter()
    for tokens, count in zip(tokens_per_word, word_counts, strict=True):
        for token in tokens:
            counts[token] += count
    return counts


def vocabulary_from_counts(
    token_counts: Mapping[str, int], min_count: int = 5, max_vocab: int | None = None
) -> dict[str, int]:
    """`[PAD]` 0, `[UNK]` 1, then the tokens seen at least `min_count` times by decreasing count, ties in
    alphabetical order, so that two runs on the same text give the same ids. `max_vocab` caps the number of
    tokens (special tokens not counted)."""
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if max_vocab is not None and max_vocab < 1:
        raise ValueError(f"max_vocab must be at least 1, got {max_vocab}")
    kept = [(-count, token) for token, count in token_counts.items() if count >= min_count]
    kept = sorted(pair for pair in kept if pair[1] not in SPECIAL_TOKENS)[:max_vocab]
    return {token: index for index, token in enumerate([*SPECIAL_TOKENS, *(token for _, token in kept)])}


def grown_vocabulary(
    vocabulary: Mapping[str, int], token_counts: Mapping[str, int], min_count: int = 5, max_vocab: int | None = None
) -> dict[str, int]:
    """`vocabulary` (ids 0..n-1) with the tokens it lacks that are seen at least `min_count` times given ids from n
    on, by decreasing count, ties in alphabetical order (as `vocabulary_from_counts` orders them): every token it
    holds keeps its id. `max_vocab` caps the tokens of the whole vocabulary (special tokens not counted): new tokens
    take what room is left."""
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    new = sorted(
        (-count, token) for token, count in token_counts.items() if count >= min_count and token not in vocabulary
    )
    if max_vocab is not None:
        room = max_vocab - sum(token not in SPECIAL_TOKENS for token in vocabulary)
        new = new[: max(room, 0)]
    grown = dict(vocabulary)
    for _, token in new:
        grown[token] = len(grown)
    return grown


def wrap_tokenizer(tokenizer: Tokenizer, subwords: Mapping[str, int] | None = None) -> PreTrainedTokenizerFast:
    """The transformers view of a WordLevel tokenizer: unk and pad set, no length limit, ids and mask only; with
    `subwords` ({"min_n", "max_n", "bucket"} of a model with an n-gram table) a `Word2VecSubwordTokenizer`, which
    also returns each unknown word's n-gram rows.

    The view shares the vocabulary of `tokenizer` (its `model`) rather than holding a copy.
    """
    vocabulary = tokenizer.model
    special_ids = {token: vocabulary.token_to_id(token) for token in SPECIAL_TOKENS}
    if None in special_ids.values():
        return _wrap(tokenizer, subwords)
    # PreTrainedTokenizerFast deep-copies the tokenizer it is given: a serialisation round trip of the vocabulary,
    # seconds for a million words. It gets one whose vocabulary is the special tokens alone (which it registers at
    # their ids), then the whole vocabulary.
    tokenizer.model = models.WordLevel(vocab=special_ids, unk_token=UNK_TOKEN)
    try:
        wrapped = _wrap(tokenizer, subwords)
    finally:
        tokenizer.model = vocabulary
    wrapped.backend_tokenizer.model = vocabulary
    return wrapped


def _wrap(tokenizer: Tokenizer, subwords: Mapping[str, int] | None) -> PreTrainedTokenizerFast:
    # transformers (and torch, through the model package) only here: converting a vector file reads and writes
    # its vectors before it needs them, and imports them in a thread meanwhile.
    from transformers import PreTrainedTokenizerFast

    from word2vec_hub.modeling.tokenization_word2vec import Word2VecSubwordTokenizer

    settings = {"tokenizer_object": tokenizer, "unk_token": UNK_TOKEN, "pad_token": PAD_TOKEN}
    settings["model_max_length"] = 1_000_000_000
    if not subwords:
        return PreTrainedTokenizerFast(**settings, model_input_names=["input_ids", "attention_mask"])
    wrapped = Word2VecSubwordTokenizer(
        **settings, **subwords, model_input_names=["input_ids", "attention_mask", "subword_ids"]
    )
    # Saved with an auto_map and its code, so that AutoTokenizer(..., trust_remote_code=True) loads this class.
    wrapped._auto_class = "AutoTokenizer"
    return wrapped
