"""fastText's character n-grams of a word and the buckets they hash to, as fastText computes them.

A word is wrapped as "<word>", and every run of `min_n` to `max_n` characters of it (UTF-8 characters, not bytes;
the bare "<" and ">" excluded) is an n-gram, hashed with 32-bit FNV-1a into one of `bucket` rows. fastText hashes
each byte as a signed char widened to 32 bits, so bytes from 0x80 set the high bits: reproduced here (gensim does
the same), or the rows of non-ASCII words would not match. Plain Python: a query asks for a few words; converting
a whole vocabulary uses the compiled version in `conversion/fasttext_bin.py`.

This file goes to the Hub beside the model's code, so it imports nothing beyond the standard library.
"""

from __future__ import annotations

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def fasttext_hash(data: bytes) -> int:
    """fastText's `Dictionary::hash` of `data` (an unsigned 32-bit value)."""
    state = FNV_OFFSET
    for byte in data:
        state = ((state ^ (byte | 0xFFFFFF00 if byte >= 0x80 else byte)) * FNV_PRIME) & 0xFFFFFFFF
    return state


def character_ngrams(word: str, min_n: int, max_n: int) -> list[bytes]:
    """The UTF-8 n-grams of "<word>" of `min_n` to `max_n` characters, in fastText's order."""
    characters = [character.encode("utf-8") for character in f"<{word}>"]
    ngrams = []
    for start in range(len(characters)):
        for length in range(1, max_n + 1):
            end = start + length
            if end > len(characters):
                break
            if length >= min_n and not (length == 1 and (start == 0 or end == len(characters))):
                ngrams.append(b"".join(characters[start:end]))
    return ngrams


def ngram_buckets(word: str, min_n: int, max_n: int, bucket: int) -> list[int]:
    """The rows of the n-gram table that `word`'s n-grams hash to (repeats kept: fastText averages over them)."""
    return [fasttext_hash(ngram) % bucket for ngram in character_ngrams(word, min_n, max_n)]


def normalized_ngram_buckets(word: str, normalizer, min_n: int, max_n: int, bucket: int) -> list[int]:
    """`ngram_buckets` of `word` normalised as the tokenizer's `normalizer` (a `tokenizers` normalizer, or None)
    normalises text, as the vocabulary's words were."""
    return ngram_buckets(normalizer.normalize_str(word) if normalizer is not None else word, min_n, max_n, bucket)
