"""The corpus read once and kept on disk as int32 token ids.

One pass over the text splits each line at whitespace and numbers every distinct word as it first appears
(`read_words`). The tokenizer then runs once per distinct word, not once per occurrence, which yields both the
vocabulary's counts and each word's token ids; a vectorised pass turns the word stream into the token stream
(`WordStream.encode`). Out-of-vocabulary tokens are counted and then dropped from the stream, as word2vec does,
so that windows reach over them. Epochs then read ids from disk in blocks, with a memory use that does not grow
with the corpus.
"""

from __future__ import annotations

import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from word2vec_hub.tokenization.word_level import UNK_TOKEN, TokenIds, split_words, tokens_of_words

WORDS_PER_WRITE = 1 << 20
WORDS_PER_ENCODE_STEP = 1 << 20


def _read_ids(path: Path, start: int, end: int) -> np.ndarray:
    return np.fromfile(path, dtype=np.int32, count=end - start, offset=4 * start)


@dataclass
class EncodedCorpus:
    """Token ids of in-vocabulary words (`num_tokens` int32 in `ids_path`), sentence lengths, exact counts."""

    ids_path: Path
    num_tokens: int
    sentence_lengths: np.ndarray
    counts: np.ndarray
    word_count: int

    def read(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """The ids at positions [start, end)."""
        return _read_ids(self.ids_path, start, self.num_tokens if end is None else end)

    def blocks(self, count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The ids in exactly `count` consecutive blocks of about equal size, each with the block offsets where a
        sentence starts. Blocks end where a sentence starts unless one sentence spans a whole block; a corpus
        shorter than `count` tokens gives empty blocks (ranks of a distributed run each need the same count)."""
        sentence_starts = np.concatenate([[0], np.cumsum(self.sentence_lengths, dtype=np.int64)])
        start = 0
        for index in range(1, count + 1):
            end = self.num_tokens * index // count
            if index < count:
                boundary = sentence_starts[np.searchsorted(sentence_starts, end, side="right") - 1]
                end = boundary if boundary > start else end
            first = np.searchsorted(sentence_starts, start, side="left")
            last = np.searchsorted(sentence_starts, end, side="left")
            yield self.read(start, end), sentence_starts[first:last] - start
            start = end


@dataclass
class WordStream:
    """A corpus read once: each word as the index of its first appearance, in a file; words per line."""

    path: Path
    words: list[str]
    word_counts: np.ndarray
    line_lengths: np.ndarray

    def encode(self, tokenizer: Tokenizer, word_ids: TokenIds | None = None) -> EncodedCorpus:
        """The token ids of the stream under `tokenizer`'s vocabulary, written next to the word stream;
        `word_ids`: the ids of each distinct word, if already known."""
        if word_ids is None:
            word_ids = TokenIds.from_tokens(tokens_of_words(tokenizer, self.words), tokenizer.get_vocab())
        unk_id = tokenizer.token_to_id(UNK_TOKEN)
        token_ids, token_lengths = word_ids.ids, word_ids.lengths
        counts = np.bincount(
            token_ids, weights=np.repeat(self.word_counts, token_lengths), minlength=tokenizer.get_vocab_size()
        ).astype(np.int64)
        in_vocabulary = token_ids != unk_id
        owner = np.repeat(np.arange(len(token_lengths)), token_lengths)
        # Each word's in-vocabulary ids, as a ragged array: kept_ids[kept_offsets[w] : kept_offsets[w + 1]].
        kept_ids = token_ids[in_vocabulary].astype(np.int32)
        kept_lengths = np.bincount(owner[in_vocabulary], minlength=len(token_lengths))
        kept_offsets = np.cumsum(kept_lengths) - kept_lengths

        ids_path = self.path.with_name("ids.int32")
        sentence_lengths, num_tokens, first_word = [], 0, 0
        with open(ids_path, "wb") as ids_file:
            first_line = 0
            while first_line < len(self.line_lengths):
                # A whole number of lines, about WORDS_PER_ENCODE_STEP words (at least one line).
                line_ends = np.cumsum(
                    self.line_lengths[first_line : first_line + WORDS_PER_ENCODE_STEP], dtype=np.int64
                )
                lines = max(int(np.searchsorted(line_ends, WORDS_PER_ENCODE_STEP, "right")), 1)
                last_line = first_line + lines
                words = _read_ids(self.path, first_word, first_word + int(line_ends[lines - 1]))
                first_word += int(line_ends[lines - 1])
                lengths = kept_lengths[words]
                ends = np.cumsum(lengths)
                positions = np.repeat(kept_offsets[words] - (ends - lengths), lengths) + np.arange(
                    ends[-1] if len(ends) else 0
                )
                kept = kept_ids[positions]
                kept.tofile(ids_file)
                num_tokens += kept.shape[0]
                line_of_word = np.repeat(np.arange(last_line - first_line), self.line_lengths[first_line:last_line])
                per_line = np.bincount(line_of_word, weights=lengths, minlength=last_line - first_line).astype(np.int32)
                sentence_lengths.append(per_line[per_line > 0])
                first_line = last_line
        return EncodedCorpus(
            ids_path=ids_path,
            num_tokens=num_tokens,
            sentence_lengths=np.concatenate(sentence_lengths) if sentence_lengths else np.zeros(0, np.int32),
            counts=counts,
            word_count=int(counts.sum()),
        )


def read_words(lines: Iterable[str], workdir: str | Path) -> WordStream:
    """One pass over `lines`: the word stream as int32 first-appearance indices in a file under `workdir`."""
    path = Path(workdir) / "words.int32"
    index: dict[str, int] = {}
    number = index.setdefault
    word_counts = np.zeros(0, dtype=np.int64)
    line_lengths = array.array("i")
    pending: list[str] = []

    def write(ids_file) -> None:
        nonlocal word_counts
        # len(index) is read before setdefault stores a new word, so it is that word's new index.
        ids = np.array([number(word, len(index)) for word in pending], dtype=np.int32)
        ids.tofile(ids_file)
        pending.clear()
        batch_counts = np.bincount(ids, minlength=len(index))
        batch_counts[: len(word_counts)] += word_counts
        word_counts = batch_counts

    with open(path, "wb") as ids_file:
        for line in lines:
            words = split_words(line)
            line_lengths.append(len(words))
            pending += words
            if len(pending) >= WORDS_PER_WRITE:
                write(ids_file)
        write(ids_file)
    return WordStream(
        path=path, words=list(index), word_counts=word_counts, line_lengths=np.frombuffer(line_lengths, np.int32)
    )


def encode_corpus(lines: Iterable[str], tokenizer: Tokenizer, workdir: str | Path) -> EncodedCorpus:
    """Read `lines` once and encode them with `tokenizer`'s vocabulary into an int32 file under `workdir`."""
    return read_words(lines, workdir).encode(tokenizer)
