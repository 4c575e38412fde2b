"""Phrases ("new_york") inside tokenizer.json, so that any process that loads the folder joins them.

A phrase is a vocabulary token of several words joined by PHRASE_DELIMITER, as gensim's `Phrases` writes it. The
tokenizer joins it through two `tokenizers` components, both saved in tokenizer.json and run in Rust:

- the normaliser turns "_" into a space and every run of whitespace into one space, so that "New  York",
  "new\\tyork" and gensim-style "new_york" all read "new york";
- each phrase is an added token (`AddedToken("new_york", single_word=True, normalized=True)`): its content is
  normalised like the text ("new york"), matched by Aho-Corasick before pre-tokenisation (leftmost, then longest),
  and given the id of "new_york" in the WordLevel vocabulary. `single_word` keeps "new yorker" apart.

Training joins the same phrases in the token stream (`training.phrases`): a phrase's words are consecutive tokens
made of word characters only, separated by whitespace, matched leftmost-longest as the tokenizer matches them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from tokenizers import AddedToken, Regex, Tokenizer, normalizers

PHRASE_DELIMITER = "_"
# Tokens a phrase may join: the Whitespace pre-tokenizer's word pieces (\w+), which no longer hold "_" once the
# normaliser has made it a space.
_PHRASE_PART = re.compile(r"[^\W_]+")
_WHITESPACE = re.compile(r"\s")


def phrase_normalizer(base: normalizers.Normalizer | None) -> normalizers.Normalizer:
    """`base` followed by the steps that make "New  York" and "new_york" read "new york" (a no-op on `base` that
    already ends with them)."""
    steps = [normalizers.Replace(PHRASE_DELIMITER, " "), normalizers.Replace(Regex(r"\s+"), " ")]
    if base is None:
        return normalizers.Sequence(steps)
    if has_phrase_normalizer(base):
        return base
    return normalizers.Sequence([base, *steps])


def has_phrase_normalizer(normalizer: normalizers.Normalizer | None) -> bool:
    return normalizer is not None and normalizer.normalize_str(f"a{PHRASE_DELIMITER}b\t c") == "a b c"


def is_phrase_part(token: str) -> bool:
    """Whether `token` may be a word of a phrase: letters and digits only."""
    return _PHRASE_PART.fullmatch(token) is not None


def phrase_of(parts: Sequence[str]) -> str:
    """The token of a phrase of `parts`, as gensim writes it: "new_york"."""
    return PHRASE_DELIMITER.join(parts)


def add_phrases(tokenizer: Tokenizer, phrases: Iterable[str]) -> int:
    """Make `tokenizer` join `phrases` (tokens its WordLevel vocabulary holds, such as "new_york"); returns how many
    were added. The normaliser must already be `phrase_normalizer`'s: the phrases' contents are normalised by it."""
    if not has_phrase_normalizer(tokenizer.normalizer):
        raise ValueError("the tokenizer lacks the phrase normaliser: set tokenizer.normalizer = phrase_normalizer(...)")
    phrases = list(phrases)
    missing = [phrase for phrase in phrases if tokenizer.model.token_to_id(phrase) is None]
    if missing:
        raise KeyError(f"phrases missing from the tokenizer's vocabulary (they would get new ids): {missing[:5]}")
    return tokenizer.add_tokens([AddedToken(phrase, single_word=True, normalized=True) for phrase in phrases])


def tokenizer_phrases(tokenizer: Tokenizer) -> list[str]:
    """The phrases `tokenizer` joins (its added tokens that are not special), in id order."""
    added = tokenizer.get_added_tokens_decoder()
    return [added[index].content for index in sorted(added) if not added[index].special]


def tokens_and_gaps(tokenizer: Tokenizer, words: Iterable[str]) -> tuple[list[list[str]], list[list[bool]]]:
    """The tokens `tokenizer`'s normaliser and pre-tokenizer cut each whitespace-free word into, and for each token
    after a word's first whether whitespace separates it from the one before (the normaliser makes "_" a space)."""
    normalize = tokenizer.normalizer.normalize_str if tokenizer.normalizer is not None else str
    pre_tokenize = tokenizer.pre_tokenizer.pre_tokenize_str
    all_tokens, all_gaps = [], []
    for word in words:
        normal = normalize(word)
        pieces = pre_tokenize(normal)
        all_tokens.append([piece for piece, _ in pieces])
        if len(pieces) < 2 or _WHITESPACE.search(normal) is None:
            all_gaps.append([False] * max(len(pieces) - 1, 0))
        else:
            all_gaps.append(
                [
                    _WHITESPACE.search(normal, before[1][1], after[1][0]) is not None
                    for before, after in itertools.pairwise(pieces)
                ]
            )
    return all_tokens, all_gaps
