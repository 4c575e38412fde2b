"""Turning existing word vectors into a model folder of this project, and our models into gensim KeyedVectors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

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
    vectors: np.ndarray,
    lowercase: bool = False,
    nfkc: bool = True,
    split_punctuation: bool = True,
    source: str | None = None,
) -> tuple[Word2VecModel, int]:
    """A model (without a skip-gram head) whose rows are the vectors in file order after [PAD] and [UNK].

    Words are normalised as the tokenizer will normalise text, so that each stays reachable; when two words
    become the same (such as "Apple" and "apple" with `lowercase`), the first in the file is kept.
    Returns the model and the number of duplicates dropped.
    """
    normalizer = build_normalizer(lowercase=lowercase, nfkc=nfkc)
    vocabulary = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    kept_rows = []
    for row, word in enumerate(words):
        key = normalizer.normalize_str(word) if normalizer is not None else word
        if key in vocabulary:
            continue
        vocabulary[key] = len(vocabulary)
        kept_rows.append(row)
    tokenizer = wrap_tokenizer(
        empty_word_level_tokenizer(
            lowercase=lowercase, nfkc=nfkc, split_punctuation=split_punctuation, vocab=vocabulary
        )
    )
    config = Word2VecConfig(
        vocab_size=len(vocabulary),
        hidden_size=vectors.shape[1],
        pad_token_id=vocabulary[PAD_TOKEN],
        unk_token_id=vocabulary[UNK_TOKEN],
        has_context_vectors=False,
        corpus=source,
        min_count=1,
        epochs=0,
    )
    model = Word2VecModel(config)
    with torch.no_grad():
        model.embeddings.zero_()
        model.embeddings[len(SPECIAL_TOKENS) :] = torch.from_numpy(np.ascontiguousarray(vectors[kept_rows]))
    model.set_tokenizer(tokenizer)
    return model, len(words) - len(kept_rows)


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
    words, vectors = read_vectors(path, file_format, limit=max_vocab)
    source = f"{Path(path).name} ({file_format})"
    model, dropped = vectors_to_model(
        words, vectors, lowercase=lowercase, split_punctuation=split_punctuation, source=source
    )
    save_model_folder(model, model.tokenizer, output, language=language)
    return ConversionReport(len(words), model.config.vocab_size - len(SPECIAL_TOKENS), dropped, vectors.shape[1])


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
