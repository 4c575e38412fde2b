"""The corpus encoded once to int32 ids by the Rust tokenizer and kept in a memory-mapped file.

Out-of-vocabulary words are counted and then dropped from the stream, as word2vec does, so that windows reach
over them. Epochs then read ids from disk in blocks instead of tokenising the text again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

ENCODE_BATCH_CHARS = 4 << 20


@dataclass
class EncodedCorpus:
    """Token ids of in-vocabulary words `[num_tokens]` int32, sentence lengths, and exact word counts."""

    ids: np.ndarray
    sentence_lengths: np.ndarray
    counts: np.ndarray
    word_count: int

    @property
    def num_tokens(self) -> int:
        return int(self.ids.shape[0])

    def blocks(self, block_tokens: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Consecutive blocks of about `block_tokens` ids, each with the block offsets where a sentence starts.

        Blocks end on sentence boundaries unless one sentence alone is longer than a block.
        """
        sentence_starts = np.concatenate([[0], np.cumsum(self.sentence_lengths)])
        start = 0
        while start < self.num_tokens:
            end = min(start + block_tokens, self.num_tokens)
            if end < self.num_tokens:
                boundary = sentence_starts[np.searchsorted(sentence_starts, end, side="right") - 1]
                end = boundary if boundary > start else end
            first = np.searchsorted(sentence_starts, start, side="left")
            last = np.searchsorted(sentence_starts, end, side="left")
            starts_in_block = sentence_starts[first:last] - start
            yield np.asarray(self.ids[start:end]), starts_in_block
            start = end


def _batches(lines: Iterable[str], max_chars: int) -> Iterator[list[str]]:
    batch, size = [], 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= max_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def encode_corpus(lines: Iterable[str], tokenizer: Tokenizer, workdir: str | Path | None = None) -> EncodedCorpus:
    """Encode every line with `tokenizer` (in parallel, in Rust) into an int32 file under `workdir`."""
    vocab_size = tokenizer.get_vocab_size()
    unk_id = tokenizer.token_to_id("[UNK]")
    counts = np.zeros(vocab_size, dtype=np.int64)
    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="word2vec-corpus-"))
    ids_path = workdir / "ids.int32"
    lengths = []
    num_tokens = 0
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    with open(ids_path, "wb") as ids_file:
        for batch in _batches(lines, ENCODE_BATCH_CHARS):
            encodings = encode(batch, add_special_tokens=False)
            sentence_ids = [np.asarray(encoding.ids, dtype=np.int32) for encoding in encodings]
            flat = np.concatenate(sentence_ids) if sentence_ids else np.zeros(0, np.int32)
            counts += np.bincount(flat, minlength=vocab_size)
            in_vocabulary = flat != unk_id
            sentence_index = np.repeat(np.arange(len(sentence_ids)), [len(ids) for ids in sentence_ids])
            kept_lengths = np.bincount(sentence_index[in_vocabulary], minlength=len(sentence_ids))
            lengths.append(kept_lengths[kept_lengths > 0])
            kept = flat[in_vocabulary]
            kept.tofile(ids_file)
            num_tokens += kept.shape[0]
    word_count = int(counts.sum())
    ids = np.memmap(ids_path, dtype=np.int32, mode="r", shape=(num_tokens,)) if num_tokens else np.zeros(0, np.int32)
    sentence_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    return EncodedCorpus(ids=ids, sentence_lengths=sentence_lengths, counts=counts, word_count=word_count)
