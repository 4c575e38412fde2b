"""Phrases ("new_york") inside tokenizer.json, so that any process that loads the folder joins them.

A phrase is a vocabulary token of several words joined by PHRASE_DELIMITER, as gensim's `Phrases` writes it. The
tokenizer joins it through `tokenizers` components saved in tokenizer.json and run in Rust:

- the normaliser turns "_" into a space, every run of whitespace into one space, and marks every word boundary
  (`\b`) with WORD_BOUNDARY, so that "New  York", "new\tyork" and gensim-style "new_york" all read
  "▁new▁ ▁york▁";
- each phrase is an added token (`AddedToken("new_york", normalized=True)`): its content, normalised like the text,
  is "▁new▁ ▁york▁", matched by Aho-Corasick (leftmost, then longest) before pre-tokenisation, with the id of
  "new_york" in the WordLevel vocabulary;
- the pre-tokenizer drops the marks before splitting the rest as before.

The marks make every match start and end at a word's edge: "new york" matches neither in "renew york" nor in
"new yorker". Without them `single_word` alone would refuse such a match only after Aho-Corasick had taken it, and
a phrase overlapping it ("york times" in "renew york times") would be lost where training joins it. So the
tokenizer joins exactly what training joins in the token stream (`training.phrases`): the leftmost-longest runs of
consecutive word tokens separated by whitespace that are phrases.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from tokenizers import AddedToken, Regex, Tokenizer, normalizers, pre_tokenizers

PHRASE_DELIMITER = "_"
# SentencePiece's word mark; text holding it loses it, in training as in the tokenizer.
WORD_BOUNDARY = "\u2581"
# Tokens a phrase may join: the Whitespace pre-tokenizer's word pieces (\w+), which no longer hold "_" once the
# normaliser has made it a space.
_PHRASE_PART = re.compile(r"[^\W_]+")
_WHITESPACE = re.compile(r"\s")


def phrase_normalizer(base: normalizers.Normalizer | None) -> normalizers.Normalizer:
    """`base` followed by the steps that make "New  York" and "new_york" read "▁new▁ ▁york▁"."""
    steps = [
        normalizers.Replace(PHRASE_DELIMITER, " "),
        normalizers.Replace(Regex(r"\s+"), " "),
        normalizers.Replace(Regex(r"\b"), WORD_BOUNDARY),
    ]
    return normalizers.Sequence([base, *steps] if base is not None else steps)


def phrase_pre_tokenizer(base: pre_tokenizers.PreTokenizer) -> pre_tokenizers.PreTokenizer:
    """`base` after dropping the normaliser's word marks."""
    return pre_tokenizers.Sequence([pre_tokenizers.Split(WORD_BOUNDARY, behavior="removed"), base])


def use_phrases(tokenizer: Tokenizer) -> None:
    """Give `tokenizer` (one of `word_level.empty_word_level_tokenizer`) the normaliser and pre-tokenizer that
    phrases need."""
    tokenizer.normalizer = phrase_normalizer(tokenizer.normalizer)
    tokenizer.pre_tokenizer = phrase_pre_tokenizer(tokenizer.pre_tokenizer)


def has_phrase_normalizer(normalizer: normalizers.Normalizer | None) -> bool:
    marked = f"{WORD_BOUNDARY}a{WORD_BOUNDARY} {WORD_BOUNDARY}b{WORD_BOUNDARY}"
    return normalizer is not None and normalizer.normalize_str(f"a{PHRASE_DELIMITER}\tb") == marked


def is_phrase_part(token: str) -> bool:
    """Whether `token` may be a word of a phrase: letters and digits only."""
    return _PHRASE_PART.fullmatch(token) is not None


def phrase_of(parts: Sequence[str]) -> str:
    """The token of a phrase of `parts`, as gensim writes it: "new_york"."""
    return PHRASE_DELIMITER.join(parts)


def add_phrases(tokenizer: Tokenizer, phrases: Iterable[str]) -> int:
    """Make `tokenizer` join `phrases` (tokens its WordLevel vocabulary holds, such as "new_york"); returns how many
    were added. The tokenizer must have been through `use_phrases`: the phrases' contents are normalised as text is."""
    if not has_phrase_normalizer(tokenizer.normalizer):
        raise ValueError("the tokenizer lacks the phrase normaliser: call use_phrases(tokenizer) first")
    phrases = list(phrases)
    missing = [phrase for phrase in phrases if tokenizer.model.token_to_id(phrase) is None]
    if missing:
        raise KeyError(f"phrases missing from the tokenizer's vocabulary (they would get new ids): {missing[:5]}")
    return tokenizer.add_tokens([AddedToken(phrase, normalized=True) for phrase in phrases])


def tokenizer_phrases(tokenizer: Tokenizer) -> list[str]:
    """The phrases `tokenizer` joins (its added tokens that are not special), in id order."""
    added = tokenizer.get_added_tokens_decoder()
    return [added[index].content for index in sorted(added) if not added[index].special]


def tokens_and_gaps(tokenizer: Tokenizer, words: Iterable[str]) -> tuple[list[list[str]], list[list[bool]]]:
    """The tokens `tokenizer`'s normaliser and pre-tokenizer cut each whitespace-free word into, and for each token
    after a word's first whether whitespace separates it from the one before (the phrase normaliser makes "_" a
    space)."""
    normalize = tokenizer.normalizer.normalize_str if tokenizer.normalizer is not None else str
    pre_tokenize = tokenizer.pre_tokenizer.pre_tokenize_str

    def pieces_of(word: str) -> tuple[str, list[tuple[str, tuple[int, int]]]]:
        normal = normalize(word)
        return normal, pre_tokenize(normal)

    # A word of ASCII letters and digits is one token, lowercased or not: most words of most corpora take this
    # path instead of two calls into tokenizers.
    lowercases = [piece for piece, _ in pieces_of("A")[1]] == ["a"]
    all_tokens, all_gaps = [], []
    for word in words:
        if word.isascii() and word.isalnum():
            all_tokens.append([word.lower() if lowercases else word])
            all_gaps.append([])
            continue
        normal, pieces = pieces_of(word)
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
