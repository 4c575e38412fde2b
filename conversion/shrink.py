"""Smaller folders to share: the most frequent words only (`max_vocab`), fewer dimensions by PCA (`pca_dims`), and
the tables stored as float16, bfloat16 or int8 (`Word2VecModel.save_pretrained(table_dtype=...)`), as model2vec's
`quantize_to` and `pca_dims` do. See docs/smaller-folders.md for the choices and what each loader reads."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import ModelCard
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from word2vec_hub.folders.checks import CARD_FILE, check_output_dir
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import TABLE_DTYPES
from word2vec_hub.tokenization.word_level import wrap_tokenizer

# Rows projected at a time, so that PCA makes no float64 copy of a whole large table.
PCA_ROWS_PER_BLOCK = 65536


@dataclass
class ShrinkReport:
    words_before: int
    words_kept: int
    dims_before: int
    dims_kept: int
    table_dtype: str
    variance_kept: float | None


def check_shrink_options(max_vocab: int | None, pca_dims: int | None, table_dtype: str) -> None:
    """Refuse options no model could be shrunk by (ValueError naming the option)."""
    if table_dtype not in TABLE_DTYPES:
        raise ValueError(f"--dtype must be one of {', '.join(TABLE_DTYPES)}, got {table_dtype!r}")
    if max_vocab is not None and max_vocab < 1:
        raise ValueError(f"--max-vocab must be 1 or more words, got {max_vocab}")
    if pca_dims is not None and pca_dims < 1:
        raise ValueError(f"--pca-dims must be 1 or more dimensions, got {pca_dims}")


def shrink_model(model: Word2VecModel, max_vocab: int | None = None, pca_dims: int | None = None) -> Word2VecModel:
    """A new model with the `max_vocab` most frequent words of `model` (by `counts`; in row order where the counts
    are zero, as for converted vectors) and their vectors projected on their `pca_dims` principal components.

    The special tokens are kept; rows keep their relative order and are renumbered, and the attached tokenizer is
    rebuilt to match. The skip-gram head (`context`) is dropped: a shrunk folder is for using the vectors, and
    training continues from the full one. The config records what was done (`config.shrink`). Save the result with
    `save_model_folder(..., table_dtype=...)` or `save_pretrained(..., table_dtype=...)`.
    """
    check_shrink_options(max_vocab, pca_dims, "float32")
    if model.tokenizer is None:
        raise ValueError("shrink_model needs the model's tokenizer to renumber: load the model with from_pretrained")
    config = model.config
    words = len(model.word_ids())
    if pca_dims is not None and not pca_dims < config.hidden_size:
        raise ValueError(
            f"--pca-dims {pca_dims} is not fewer than the vectors' {config.hidden_size} dimensions; "
            f"choose 1 to {config.hidden_size - 1}"
        )
    if pca_dims is not None and pca_dims > min(words, max_vocab or words):
        raise ValueError(f"--pca-dims {pca_dims} is more than the {min(words, max_vocab or words)} words kept")
    if pca_dims is not None and model.ngrams is not None:
        raise ValueError(
            "--pca-dims is not available for a model with subword vectors (the n-gram table would need the same "
            "projection); shrink it with --dtype float16 or --max-vocab"
        )
    broken_rows = model.non_finite_rows()
    if broken_rows:
        raise ValueError(f"{len(broken_rows)} rows of the table hold NaN or inf; repair or retrain the model first")
    rows = kept_rows(model, max_vocab)
    table = model.embeddings.detach()[rows].float()
    new_id = {old: new for new, old in enumerate(rows.tolist())}
    record = {"vocab_size_before": config.vocab_size, "hidden_size_before": config.hidden_size}
    if max_vocab is not None:
        record["max_vocab"] = max_vocab
    special_rows = [new_id[index] for index in special_ids(config)]
    if pca_dims is not None:
        table, record["pca_variance_kept"] = principal_components(table, special_rows, pca_dims)
        record["pca_dims"] = pca_dims

    shrunk_config = copy.deepcopy(config)
    shrunk_config.vocab_size, shrunk_config.hidden_size = table.shape
    shrunk_config.pad_token_id = None if config.pad_token_id is None else new_id[config.pad_token_id]
    shrunk_config.unk_token_id = None if config.unk_token_id is None else new_id[config.unk_token_id]
    # A vectors folder: neither output layer (negative sampling's context vectors, hierarchical softmax's nodes over
    # a tree the renumbered vocabulary no longer has).
    shrunk_config.has_context_vectors = False
    shrunk_config.hs = False
    shrunk_config.shrink = record
    # Built on the meta device: no table is allocated and initialised only to be replaced.
    with torch.device("meta"):
        shrunk = Word2VecModel(shrunk_config)
    shrunk.embeddings = torch.nn.Parameter(table, requires_grad=not config.freeze_embeddings)
    shrunk.counts = model.counts.detach()[rows.to(model.counts.device)].cpu()
    if model.ngrams is not None:
        # The n-gram rows belong to no word: pruning keeps them all.
        shrunk.ngrams = torch.nn.Parameter(model.ngrams.detach().float(), requires_grad=False)
        if model.ngram_buckets is not None:
            shrunk.ngram_buckets = model.ngram_buckets.detach().cpu()
    shrunk.set_tokenizer(model.tokenizer if len(rows) == config.vocab_size else renumbered_tokenizer(model, rows))
    return shrunk


def special_ids(config: Word2VecConfig) -> list[int]:
    return sorted({index for index in (config.pad_token_id, config.unk_token_id) if index is not None})


def kept_rows(model: Word2VecModel, max_vocab: int | None) -> torch.Tensor:
    """The rows to keep, ascending: the special tokens' and those of the `max_vocab` most frequent words (ties and
    zero counts by row, which is frequency order for trained and converted models alike)."""
    word_rows = torch.tensor(model.word_ids(), dtype=torch.int64)
    if max_vocab is not None and max_vocab < len(word_rows):
        counts = model.counts.detach().cpu()[word_rows]
        word_rows = word_rows[torch.argsort(-counts, stable=True)[:max_vocab]]
    special_rows = torch.tensor(special_ids(model.config), dtype=torch.int64)
    return torch.cat([special_rows, word_rows]).sort().values


def renumbered_tokenizer(model: Word2VecModel, rows: torch.Tensor) -> PreTrainedTokenizerFast:
    """The model's tokenizer with only the tokens of `rows`, renumbered to their positions in `rows`; its
    normalisation and pre-tokenisation unchanged. WordLevel and Unigram (segmenting) vocabularies."""
    serialized = json.loads(model.tokenizer.backend_tokenizer.to_str())
    new_id = {old: new for new, old in enumerate(rows.tolist())}
    vocabulary = serialized["model"]
    if vocabulary["type"] == "WordLevel":
        vocabulary["vocab"] = {token: new_id[old] for token, old in vocabulary["vocab"].items() if old in new_id}
    elif vocabulary["type"] == "Unigram":
        vocabulary["vocab"] = [vocabulary["vocab"][old] for old in rows.tolist()]
        if vocabulary.get("unk_id") is not None:
            vocabulary["unk_id"] = new_id[vocabulary["unk_id"]]
    else:
        raise ValueError(f"cannot prune a {vocabulary['type']} tokenizer; WordLevel and Unigram ones can be")
    serialized["added_tokens"] = [
        {**token, "id": new_id[token["id"]]} for token in serialized.get("added_tokens", []) if token["id"] in new_id
    ]
    return wrap_tokenizer(Tokenizer.from_str(json.dumps(serialized)))


@torch.no_grad()
def principal_components(table: torch.Tensor, special_rows: list[int], dims: int) -> tuple[torch.Tensor, float]:
    """The word rows of `table` `[rows, dim]`, centred and projected on their `dims` principal components
    (`[rows, dims]`, special rows left zero), and the share of the variance kept. As scikit-learn's PCA (which
    model2vec's `pca_dims` uses), with each component's sign fixed so that its largest loading is positive."""
    is_word = torch.ones(table.shape[0], dtype=torch.bool)
    is_word[special_rows] = False
    word_rows = torch.nonzero(is_word).flatten()
    blocks = word_rows.split(PCA_ROWS_PER_BLOCK)
    mean = sum(table[rows].double().sum(0) for rows in blocks) / len(word_rows)
    covariance = torch.zeros(table.shape[1], table.shape[1], dtype=torch.float64)
    for rows in blocks:
        centred = table[rows].double() - mean
        covariance += centred.T @ centred
    variances, components = torch.linalg.eigh(covariance)
    order = torch.argsort(variances, descending=True)[:dims]
    components = components[:, order]
    largest = components.gather(0, components.abs().argmax(0, keepdim=True))
    components = components * torch.sign(largest)
    projected = torch.zeros(table.shape[0], dims, dtype=torch.float32)
    for rows in blocks:
        projected[rows] = ((table[rows].double() - mean) @ components).float()
    total = variances.clamp_min(0).sum()
    return projected, float(variances[order].clamp_min(0).sum() / total) if total > 0 else 1.0


def shrink_model_folder(
    source: str | Path,
    output: str | Path,
    table_dtype: str = "float32",
    max_vocab: int | None = None,
    pca_dims: int | None = None,
    language: str | None = None,
) -> ShrinkReport:
    """Write a smaller copy of the model folder (or Hub model) `source` to the folder `output`: `shrink_model`,
    then the tables stored as `table_dtype`, with a card that says so (the source card's language kept unless
    `language` is given). `output` is written crash-safely and never replaces anything but a model folder."""
    check_shrink_options(max_vocab, pca_dims, table_dtype)
    output = check_output_dir(output)
    model = Word2VecModel.from_pretrained(source)
    shrunk = shrink_model(model, max_vocab=max_vocab, pca_dims=pca_dims)
    card = Path(source) / CARD_FILE
    if language is None and card.is_file():
        language = ModelCard.load(card).data.language
    save_model_folder(shrunk, shrunk.tokenizer, output, language=language, table_dtype=table_dtype)
    return ShrinkReport(
        words_before=len(model.word_ids()),
        words_kept=len(shrunk.word_ids()),
        dims_before=model.config.hidden_size,
        dims_kept=shrunk.config.hidden_size,
        table_dtype=table_dtype,
        variance_kept=shrunk.config.shrink.get("pca_variance_kept"),
    )
