"""Turning existing word vectors into a model folder of this project, and our models into gensim KeyedVectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.tokenization.word_level import (
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_TOKEN,
    build_normalizer,
    empty_word_level_tokenizer,
    wrap_tokenizer,
)
from word2vec_hub.training.output import save_model_folder

from .vector_files import read_vectors


@dataclass
class ConversionReport:
    words_read: int
    words_kept: int
    duplicates_dropped: int
    dimension: int


def vectors_to_model(
    words: list[str],
    table: np.ndarray,
    lowercase: bool = False,
    nfkc: bool = True,
    split_punctuation: bool = True,
    source: str | None = None,
) -> tuple[Word2VecModel, int]:
    """A model (without a skip-gram head) whose rows are [PAD], [UNK], then the vectors in file order.

    `table` holds a row for each special token, then the vector of each of `words` (as `read_vectors` returns it
    with `reserved_rows=len(SPECIAL_TOKENS)`); it becomes the model's `embeddings` without a copy, so the caller
    must not use it afterwards. Words are normalised as the tokenizer will normalise text, so that each stays
    reachable; when two words become the same (such as "Apple" and "apple" with `lowercase`), the first in the file
    is kept. Returns the model and the number of duplicates dropped.
    """
    if table.shape[0] != len(SPECIAL_TOKENS) + len(words):
        raise ValueError(f"the table has {table.shape[0]} rows; expected {len(SPECIAL_TOKENS)} + {len(words)} words")
    normalize = _word_normalizer(lowercase, nfkc)
    vocabulary = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    duplicate_rows = []
    for row, word in enumerate(words, start=len(SPECIAL_TOKENS)):
        key = normalize(word)
        if key in vocabulary:
            duplicate_rows.append(row)
        else:
            vocabulary[key] = len(vocabulary)
    embeddings = torch.from_numpy(table)
    embeddings[: len(SPECIAL_TOKENS)] = 0
    if duplicate_rows:
        _drop_rows(embeddings, duplicate_rows)
        embeddings = embeddings[: len(vocabulary)]
    tokenizer = wrap_tokenizer(
        empty_word_level_tokenizer(
            lowercase=lowercase, nfkc=nfkc, split_punctuation=split_punctuation, vocab=vocabulary
        )
    )
    config = Word2VecConfig(
        vocab_size=len(vocabulary),
        hidden_size=table.shape[1],
        pad_token_id=vocabulary[PAD_TOKEN],
        unk_token_id=vocabulary[UNK_TOKEN],
        has_context_vectors=False,
        corpus=source,
        min_count=1,
        epochs=0,
    )
    # Built on the meta device, so that no table is allocated and randomly initialised only to be replaced.
    with torch.device("meta"):
        model = Word2VecModel(config)
    model.embeddings = nn.Parameter(embeddings, requires_grad=not config.freeze_embeddings)
    model.counts = torch.zeros(len(vocabulary), dtype=torch.int64)
    model.set_tokenizer(tokenizer)
    return model, len(duplicate_rows)


def _word_normalizer(lowercase: bool, nfkc: bool) -> Callable[[str], str]:
    """The tokenizer's normalisation of one word; ASCII words skip the call into Rust, which NFKC leaves as they are."""
    normalizer = build_normalizer(lowercase=lowercase, nfkc=nfkc)
    if normalizer is None:
        return str
    normalize_str = normalizer.normalize_str
    if lowercase:
        return lambda word: word.lower() if word.isascii() else normalize_str(word)
    return lambda word: word if word.isascii() else normalize_str(word)


def _drop_rows(table: torch.Tensor, dropped_rows: list[int]) -> None:
    """Move the rows not in `dropped_rows` up, in order and in place, a block at a time (the last rows are left)."""
    kept = torch.ones(table.shape[0], dtype=torch.bool)
    kept[dropped_rows] = False
    kept_rows = kept.nonzero().squeeze(1)
    block = 65_536
    for first in range(0, len(kept_rows), block):
        sources = kept_rows[first : first + block]
        # Each source row is at or below its target, so a block read before it is written is never overwritten early.
        table[first : first + len(sources)] = table[sources]


def convert_vector_file(
    path: str | Path,
    file_format: str,
    output: str | Path,
    lowercase: bool = False,
    max_vocab: int | None = None,
    split_punctuation: bool = True,
    language: str | None = None,
) -> ConversionReport:
    """Read a vector file and write a model folder (weights, tokenizer, model card) to `output`."""
    words, table = read_vectors(path, file_format, limit=max_vocab, reserved_rows=len(SPECIAL_TOKENS))
    source = f"{Path(path).name} ({file_format})"
    model, dropped = vectors_to_model(
        words, table, lowercase=lowercase, split_punctuation=split_punctuation, source=source
    )
    words_read, dimension = len(words), table.shape[1]
    del words, table  # the model holds what saving needs; a million words are a hundred MB more at the peak
    save_model_folder(model, model.tokenizer, output, language=language)
    return ConversionReport(words_read, model.config.vocab_size - len(SPECIAL_TOKENS), dropped, dimension)


def to_keyed_vectors(model: Word2VecModel):
    """The word vectors as gensim `KeyedVectors` (special tokens left out, frequency order kept)."""
    from gensim.models import KeyedVectors

    rows = model.word_ids()
    keyed = KeyedVectors(vector_size=model.config.hidden_size)
    keyed.add_vectors([model.index_to_key[row] for row in rows], model.embeddings.detach().float().cpu()[rows].numpy())
    counts = model.counts.cpu()
    if counts.sum() > 0:
        for row in rows:
            keyed.set_vecattr(model.index_to_key[row], "count", int(counts[row]))
    return keyed
