"""Word2vec (skip-gram or CBOW, with negative sampling or hierarchical softmax) as a Hugging Face model.

This file goes to the Hub beside the weights and is loaded there with ``trust_remote_code=True``, so it imports
only torch and transformers. The config and the model live in one file on purpose: remote code loads a separate
configuration module twice, and ``isinstance(model.config, Word2VecConfig)`` then fails.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedConfig, PreTrainedModel, PreTrainedTokenizerFast
from transformers import initialization as init
from transformers.conversion_mapping import register_checkpoint_conversion_mapping
from transformers.core_model_loading import WeightRenaming
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import cached_file, logging

from .subwords import normalized_ngram_buckets

logger = logging.get_logger(__name__)

HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder")
# The input vectors are the weight of an `nn.Embedding` module (`word_embeddings.weight` in the state dict), but
# model.safetensors keeps the name every release wrote, `embeddings`: old folders load unchanged, and readers of the
# file itself (sentence-transformers' StaticEmbedding, model2vec) find the table where they always did.
TABLE_FILE_KEY = "embeddings"
TABLE_MODULE_KEY = "word_embeddings.weight"
# Rows named in the warning about non-finite input vectors.
NON_FINITE_ROWS_SHOWN = 5
# The architectures a config records (None: vectors converted from a file, whose training is not recorded).
ARCHITECTURES = ("skip-gram", "cbow")
# How the Huffman tree of hierarchical softmax orders words of equal count (`Word2VecConfig.huffman_ties`). hashed:
# by a fixed scrambling of their ids, a word before an inner node of the same weight. id: ids in order, an inner
# node first (word2vec's two queues), the tree of folders saved before the choice was recorded.
HUFFMAN_TIES = ("hashed", "id")
# An odd multiplier (2^32 over the golden ratio): id * it mod 2^32 is one-to-one and sends neighbouring ids far apart.
TIE_SCRAMBLER = 0x9E3779B1
# Scores computed by one matrix product of a batch of queries (1 GiB in float32): the queries beyond go to the next.
SCORES_PER_PRODUCT = 2**28
# The dtypes model.safetensors may store the tables in (`Word2VecConfig.table_dtype`). int8 keeps one float32 scale a
# row beside the table, under the name model2vec gives per-token weights (`weights`): model2vec and
# sentence-transformers' StaticEmbedding multiply each row by it, so they read the int8 table's true vectors.
TABLE_DTYPES = ("float32", "float16", "bfloat16", "int8")
ROW_SCALES_KEY = "weights"
# Rows quantised or dequantised at a time, so that no float32 copy of a whole large table is made.
ROWS_PER_BLOCK = 65536


class CheckpointMismatchError(RuntimeError, OSError):
    """A tensor of the checkpoint does not have the shape the config gives it.

    A `RuntimeError`, as transformers raises for a size mismatch, and an `OSError`, as for any folder that does not
    load, so that code catching either gets it.
    """


class EvaluationFileError(ValueError):
    """A benchmark file is malformed; the message names the line."""


@dataclass
class WordSimilarityResult:
    """What `evaluate_word_pairs` measures: the correlations of cosines with human scores over `pairs` pairs,
    `skipped` pairs having a word outside the vocabulary searched."""

    name: str
    pearson: float
    spearman: float
    pairs: int
    skipped: int

    @property
    def skipped_share(self) -> float:
        return self.skipped / (self.pairs + self.skipped) if self.pairs + self.skipped else 0.0


@dataclass
class AnalogyResult:
    """What `evaluate_word_analogies` measures: 3CosAdd accuracy, overall and as (correct, incorrect) a section."""

    name: str
    accuracy: float
    correct: int
    incorrect: int
    skipped: int
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class HuffmanTree:
    """The binary tree of hierarchical softmax over a vocabulary, as word2vec's `CreateBinaryTree` builds it.

    Word w's path from the root has `lengths[w]` steps: at step j it is at inner node `points[w, j]` (a row of the
    model's `nodes` table) and turns `codes[w, j]` (0 or 1); the softmax trains node j towards label `1 - codes[w, j]`.
    Words with no count are not in the tree (length 0). Entries past a word's length are 0.

    Attributes:
        codes (`torch.int8` of shape `(vocab_size, depth)`): the turns, root first.
        points (`torch.int64` of shape `(vocab_size, depth)`): the inner nodes, root first (the root is row
            `words - 2` for a tree of `words` words).
        lengths (`torch.int64` of shape `(vocab_size,)`): each word's path length.
    """

    codes: torch.Tensor
    points: torch.Tensor
    lengths: torch.Tensor


def huffman_tree(counts: torch.Tensor, ties: str = "hashed") -> HuffmanTree:
    """The Huffman tree of the words with a positive count, deterministic for given counts and `ties` (one of
    `HUFFMAN_TIES`: how words and nodes of equal weight are ordered).

    A frequent word gets a short path. The tree of n words has n - 1 inner nodes, rows 0..n-2 of the `nodes` table
    (which has `vocab_size - 1` rows, the most any vocabulary needs).

    Why "hashed" is the default: the vocabulary lists equal counts alphabetically, so with ids in order the rare
    words became siblings of their alphabetical neighbours, which cost skip-gram + HS 0.013 WordSim-353 on bench-en
    (docs/training.md, "The Huffman tree's ties").
    """
    if ties not in HUFFMAN_TIES:
        raise ValueError(f"ties must be one of {', '.join(HUFFMAN_TIES)}, got {ties!r}")
    counts = counts.detach().cpu().to(torch.int64)
    vocab_size = counts.shape[0]
    in_tree = torch.nonzero(counts > 0).flatten()
    # Descending counts, ties in the rule's order reversed (the merge below takes leaves from the end): argsort is
    # stable, so equal counts keep the order they are given in.
    if ties == "hashed":
        in_tree = in_tree[torch.argsort((in_tree * TIE_SCRAMBLER) % 2**32, descending=True)]
    order = in_tree[torch.argsort(-counts[in_tree], stable=True)]
    words = order.shape[0]
    if words < 2:
        empty = torch.zeros(vocab_size, 1, dtype=torch.int64)
        return HuffmanTree(empty.to(torch.int8), empty, torch.zeros(vocab_size, dtype=torch.int64))
    # word2vec's two-queue merge: leaves (sorted, consumed from the rarest) and merged nodes (created in
    # increasing weight), so each step takes the two lightest in O(1).
    leaf_first = ties == "hashed"
    weight = counts[order].tolist() + [0] * (words - 1)
    parent = [0] * (2 * words - 1)
    turn = [0] * (2 * words - 1)
    leaf, merged = words - 1, words
    for step in range(words - 1):
        lightest = []
        for _ in range(2):
            if leaf >= 0 and (
                merged >= words + step
                or weight[leaf] < weight[merged]
                or (leaf_first and weight[leaf] == weight[merged])
            ):
                lightest.append(leaf)
                leaf -= 1
            else:
                lightest.append(merged)
                merged += 1
        weight[words + step] = weight[lightest[0]] + weight[lightest[1]]
        parent[lightest[0]] = parent[lightest[1]] = words + step
        turn[lightest[1]] = 1
    # Walk every leaf up to the root at once, one level per step, then read each path back root first.
    parent_t, turn_t = torch.tensor(parent), torch.tensor(turn, dtype=torch.int8)
    root = 2 * words - 2
    node = torch.arange(words)
    turns_up, points_up = [], []
    lengths = torch.zeros(words, dtype=torch.int64)
    while True:
        climbing = node != root
        if not climbing.any():
            break
        turns_up.append(turn_t[node])
        points_up.append(parent_t[node] - words)
        lengths += climbing
        node = torch.where(climbing, parent_t[node], node)
    depth = len(turns_up)
    steps_up = (lengths.unsqueeze(1) - 1 - torch.arange(depth)).clamp(min=0)
    valid = torch.arange(depth) < lengths.unsqueeze(1)
    codes_sorted = torch.stack(turns_up, 1).gather(1, steps_up) * valid
    points_sorted = torch.stack(points_up, 1).gather(1, steps_up) * valid
    codes = torch.zeros(vocab_size, depth, dtype=torch.int8)
    points = torch.zeros(vocab_size, depth, dtype=torch.int64)
    all_lengths = torch.zeros(vocab_size, dtype=torch.int64)
    codes[order], points[order], all_lengths[order] = codes_sorted.to(torch.int8), points_sorted, lengths
    return HuffmanTree(codes, points, all_lengths)


class Word2VecConfig(PreTrainedConfig):
    r"""
    Configuration of a [`Word2VecModel`]: the table's shape, its special ids, and the hyperparameters that trained
    it (recorded so that a model card can state them and so that training can continue with the same settings).

    Args:
        vocab_size (`int`): number of rows of the table, special tokens included.
        hidden_size (`int`): vector dimension.
        pad_token_id (`int`, *optional*): row kept at zero, used for padding.
        unk_token_id (`int`, *optional*): row of the unknown-word token.
        architecture (`str`, *optional*): how the vectors were trained: `"skip-gram"` (each word predicts its
            neighbours) or `"cbow"` (each word is predicted from its window, gensim's `sg=0`); None for vectors
            converted from a file, whose training is not recorded.
        has_context_vectors (`bool`): whether the checkpoint holds negative sampling's output vectors (`context`):
            trained with `negative` > 0. Vectors converted from word2vec, GloVe or fastText files have none.
        hs (`bool`): trained with hierarchical softmax (gensim's `hs=1`): the checkpoint holds its inner nodes'
            vectors (`nodes`), over the Huffman tree of `counts` (`Word2VecModel.huffman_tree`).
        huffman_ties (`str`): how the Huffman tree of `hs` orders words of equal count (`huffman_tree`): `"hashed"`,
            what training writes, or `"id"` (ids in order, as word2vec does), what folders saved before the choice
            was recorded were trained with, and so the default for a config without it.
        cbow_mean (`bool`): CBOW's input is the mean of the window's vectors (else their sum), gensim's
            `cbow_mean`.
        freeze_embeddings (`bool`): load the input vectors with `requires_grad=False`.
        bucket (`int`): the buckets character n-grams hash into (fastText's subwords, the `ngrams` table); 0: no
            subwords, and a word outside the vocabulary has no vector.
        ngram_rows (`int`, *optional*): rows of a compact n-gram table, which holds only the buckets its
            vocabulary's n-grams hash to (`ngram_buckets`); None: a full table, one row per bucket (as fastText's).
        min_n, max_n (`int`): the lengths of the character n-grams, in characters.
        window, negative, sample, min_count, max_vocab, epochs, alpha, min_alpha, ns_exponent: the training
            hyperparameters, named as in gensim's `Word2Vec`.
        phrases, phrase_min_count, phrase_threshold: how the tokenizer's phrases ("new_york") were learnt: passes
            (0: no phrases), and gensim's `Phrases(min_count, threshold)`.
        corpus (`str`, *optional*): a description of the training corpus.
        corpus_word_count (`int`): words in the training corpus, out-of-vocabulary words included.
        training_history (`list[dict]`, *optional*): every stage of training, oldest first, each {"corpus",
            "corpus_word_count", "epochs"}; `corpus` and `corpus_word_count` are the last stage's.
        table_dtype (`str`, *optional*): the dtype model.safetensors stores the tables in: `"float16"`,
            `"bfloat16"` or `"int8"` (with a float32 scale a row, `weights`); None for float32. `from_pretrained`
            gives vectors in the dtype asked for (`dtype=`, float32 by default) whatever the folder stores.
        shrink (`dict`, *optional*): how the folder was made smaller than the model it came from (`shrink_model`):
            {"vocab_size_before", "hidden_size_before", "max_vocab", "pca_dims", "pca_variance_kept"}.

    Example:

    ```python
    >>> from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
    >>> model = Word2VecModel(Word2VecConfig(vocab_size=1000, hidden_size=50))
    ```
    """

    model_type = "word2vec"
    # The hyperparameters that trained the vectors, recorded for model cards and for continuing training.
    training_hyperparameters = (
        "window", "negative", "hs", "cbow_mean", "sample", "min_count", "max_vocab", "epochs", "alpha", "min_alpha",
        "ns_exponent", "phrases", "phrase_min_count", "phrase_threshold",
    )  # fmt: skip

    vocab_size: int = 2
    hidden_size: int = 100
    pad_token_id: int | None = 0
    unk_token_id: int | None = 1
    architecture: str | None = "skip-gram"
    has_context_vectors: bool = True
    bucket: int = 0
    ngram_rows: int | None = None
    min_n: int = 3
    max_n: int = 6
    freeze_embeddings: bool = False
    window: int = 5
    negative: int = 5
    hs: bool = False
    huffman_ties: str = "id"
    cbow_mean: bool = True
    sample: float = 1e-3
    min_count: int = 5
    max_vocab: int | None = None
    epochs: int = 5
    alpha: float = 0.025
    min_alpha: float = 1e-4
    ns_exponent: float = 0.75
    phrases: int = 0
    phrase_min_count: int = 5
    phrase_threshold: float = 10.0
    corpus: str | None = None
    corpus_word_count: int = 0
    training_history: list[dict] | None = None
    table_dtype: str | None = None
    shrink: dict | None = None

    def __post_init__(self, **kwargs):
        if self.vocab_size < 1 or self.hidden_size < 1:
            raise ValueError(
                f"vocab_size and hidden_size must be positive, got {self.vocab_size} and {self.hidden_size}"
            )
        if self.architecture is not None and self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {', '.join(ARCHITECTURES)} or None, got {self.architecture!r}"
            )
        for name in ("pad_token_id", "unk_token_id"):
            token_id = getattr(self, name)
            if token_id is not None and not 0 <= token_id < self.vocab_size:
                raise ValueError(f"{name}={token_id} is outside the vocabulary of {self.vocab_size} rows")
        if self.huffman_ties not in HUFFMAN_TIES:
            raise ValueError(f"huffman_ties must be one of {', '.join(HUFFMAN_TIES)}, got {self.huffman_ties!r}")
        if self.table_dtype is not None and self.table_dtype not in TABLE_DTYPES:
            raise ValueError(f"table_dtype must be one of {', '.join(TABLE_DTYPES)}, got {self.table_dtype!r}")
        if self.ngram_rows is not None and not 0 <= self.ngram_rows <= self.bucket:
            raise ValueError(f"ngram_rows={self.ngram_rows} must be 0 to bucket={self.bucket} (or None: a full table)")
        super().__post_init__(**kwargs)


class Word2VecPreTrainedModel(PreTrainedModel):
    config_class = Word2VecConfig
    base_model_prefix = "word2vec"
    main_input_name = "input_ids"
    # A classifier's folder (Word2VecForSequenceClassification) holds its head beside the vectors: loading the
    # vectors alone leaves it out without a warning.
    _keys_to_ignore_on_load_unexpected = (r"^classifier\.", r"^hidden\.", r"^word_bigrams\.")
    # An int8 table's row scales load in float32 whatever dtype the table is asked in: rounded to float16 first,
    # they would add a second rounding to every value.
    _keep_in_fp32_modules_strict = (ROW_SCALES_KEY,)

    @torch.no_grad()
    def _dequantize_int8_table(self) -> None:
        """Multiply the rows of an int8 table (`embeddings`), loaded as whole numbers in the dtype asked for, by
        their scales (`weights`, then dropped): for the vectors and the classifier alike."""
        if ROW_SCALES_KEY not in self._buffers:
            return
        table, scales = self.embeddings.data, self._buffers.pop(ROW_SCALES_KEY).to(self.embeddings.device)
        for start in range(0, table.shape[0], ROWS_PER_BLOCK):
            rows = slice(start, start + ROWS_PER_BLOCK)
            table[rows] = (table[rows].float() * scales[rows, None]).to(table.dtype)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # gensim's initialisation: input vectors uniform in (-1/dim, 1/dim), zero context vectors. word2vec's range
        # is half as wide and trained slightly worse vectors (docs/training.md). The `init` helpers skip tensors that
        # were loaded from a checkpoint, so a loaded table is never overwritten.
        if isinstance(module, nn.Embedding):
            # The table, and the new rows of `resize_token_embeddings(..., mean_resizing=False)`.
            bound = 1.0 / module.embedding_dim
            initialised = getattr(module.weight, "_is_hf_initialized", False)
            init.uniform_(module.weight, -bound, bound)
            # [PAD] and [UNK] stay zero: padding adds nothing, and an unknown word contributes nothing to a mean.
            if not initialised:
                for special_id in (self.config.pad_token_id, self.config.unk_token_id):
                    if special_id is not None and special_id < module.num_embeddings:
                        module.weight[special_id].zero_()
        if isinstance(module, Word2VecModel):
            # word2vec starts both output layers at zero.
            for output_layer in (module.context, module.nodes):
                if output_layer is not None:
                    init.zeros_(output_layer)
            init.zeros_(module.counts)
            if module.ngrams is not None:
                # fastText's (and gensim's FastText) start of the n-gram rows: the word rows' range.
                bound = 1.0 / module.config.hidden_size
                init.uniform_(module.ngrams, -bound, bound)
            if module.ngram_buckets is not None:
                # A valid table (sorted, distinct buckets) until training puts its vocabulary's buckets there.
                init.copy_(module.ngram_buckets, torch.arange(module.ngram_buckets.shape[0]))


# gensim KeyedVectors names the model lacks: asking for one says where a real KeyedVectors comes from.
GENSIM_ONLY_NAMES = frozenset({
    "add_lifecycle_event", "add_vector", "add_vectors", "allocate_vecattrs", "cosine_similarities", "fill_norms",
    "get_index", "get_mean_vector", "get_normed_vectors", "get_vecattr", "has_index_for", "index2entity",
    "index2word", "init_sims", "intersect_word2vec_format", "load", "load_word2vec_format", "log_accuracy",
    "log_evaluate_word_pairs", "rank_by_centrality", "resize_vectors", "save", "set_vecattr",
    "similarity_unseen_docs", "sort_by_descending_frequency", "unit_normalize_all", "vectors_for_all", "vectors_norm",
    "vocab", "word_vec",
})  # fmt: skip


class Word2VecModel(Word2VecPreTrainedModel):
    r"""
    A word2vec embedding table and its output layers (the head that training continues from).

    Tensors (the keys of `model.safetensors`):
        embeddings (`[vocab_size, hidden_size]`): the input vectors, the word vectors people use: the weight of
            the `nn.Embedding` module `word_embeddings` (`get_input_embeddings()`), which `forward` calls.
        context (`[vocab_size, hidden_size]`): the output vectors of negative sampling, for skip-gram and CBOW
            alike; absent when `config.has_context_vectors` is false.
        nodes (`[vocab_size - 1, hidden_size]`): hierarchical softmax's vectors of the inner nodes of the Huffman
            tree of `counts` (`huffman_tree()`); present when `config.hs`.
        counts (`[vocab_size]`, int64): corpus frequency of each word; drives subsampling, the noise
            distribution and the Huffman tree when training continues.
        ngrams (`[bucket or ngram_rows, hidden_size]`): the character n-gram vectors (fastText's subwords), when
            `config.bucket` is positive: a word outside the vocabulary gets the mean of its n-grams' rows
            (`subword_vector`), and the queries take such words too. A known word's row in `embeddings` already
            holds its fastText vector.
        ngram_buckets (`[ngram_rows]`, int64): when the table is compact (`config.ngram_rows` set), the bucket of
            each row of `ngrams`, ascending: a trained model keeps only the buckets its vocabulary's n-grams hash
            to, and a bucket without a row reads as a zero row that still counts in the mean (what fastText
            computes from a full table holding zeros there). Absent: a full table, row b is bucket b.

    The loss of each mode, whose gradient training applies: `skipgram_loss` and `cbow_loss` (negative sampling),
    `skipgram_hs_loss` and `cbow_hs_loss` (hierarchical softmax).

    `forward` maps ids to their input vectors, which is what a feature-extraction pipeline and a frozen input layer
    need. The gensim-style queries (gensim's `KeyedVectors` query set: `most_similar`, `similarity`, `doesnt_match`,
    `wmdistance`, `evaluate_word_pairs`, `model[word]`... and `analogy`) need the vocabulary, which `from_pretrained`
    reads from the folder's `tokenizer.json`, or `set_tokenizer` supplies.
    """

    def __init__(self, config: Word2VecConfig):
        super().__init__(config)
        vocab_size, dim = config.vocab_size, config.hidden_size
        self.word_embeddings = nn.Embedding(vocab_size, dim, padding_idx=config.pad_token_id)
        if config.has_context_vectors:
            self.context = nn.Parameter(torch.empty(vocab_size, dim))
        else:
            self.register_parameter("context", None)
        if config.hs:
            self.nodes = nn.Parameter(torch.empty(max(vocab_size - 1, 0), dim))
        else:
            self.register_parameter("nodes", None)
        if config.bucket > 0:
            compact = config.ngram_rows is not None
            self.ngrams = nn.Parameter(torch.empty(config.ngram_rows if compact else config.bucket, dim))
        else:
            compact = False
            self.register_parameter("ngrams", None)
        if compact:
            self.register_buffer("ngram_buckets", torch.empty(config.ngram_rows, dtype=torch.int64), persistent=True)
        else:
            self.register_buffer("ngram_buckets", None)
        self.register_buffer("counts", torch.zeros(vocab_size, dtype=torch.int64), persistent=True)
        if config.table_dtype == "int8":
            # The int8 table's row scales, read with it and multiplied into it by `from_pretrained`, then dropped.
            self.register_buffer(ROW_SCALES_KEY, torch.ones(vocab_size, dtype=torch.float32), persistent=True)
        self.tokenizer: PreTrainedTokenizerFast | None = None
        self._key_to_index: dict[str, int] | None = None
        # The input vectors' row norms as `row_norms` last computed them, with the key of the table they belong to.
        self._norms: torch.Tensor | None = None
        self._norms_key: tuple | None = None
        self._norms_finite = False
        self._huffman_cache: tuple[tuple, HuffmanTree] | None = None
        # `load_state_dict` of a state dict saved with the file's names (`embeddings`), as plain torch code does.
        self._register_load_state_dict_pre_hook(_rename_table_key)
        self.post_init()
        self._apply_freeze_flag()

    @property
    def embeddings(self) -> nn.Parameter:
        """The input vectors `[vocab_size, hidden_size]`: the weight of `word_embeddings`."""
        return self.word_embeddings.weight

    @embeddings.setter
    def embeddings(self, table: nn.Parameter) -> None:
        if table.shape != self.word_embeddings.weight.shape:
            raise ValueError(
                f"the new table has shape {list(table.shape)}, this model {list(self.word_embeddings.weight.shape)}; "
                "use set_input_embeddings(nn.Embedding(...)) to change its size"
            )
        self.word_embeddings.weight = table if isinstance(table, nn.Parameter) else nn.Parameter(table)

    def __setattr__(self, name: str, value) -> None:
        # nn.Module would register a Parameter assigned to `embeddings` as a parameter of that name, never calling
        # the property's setter; object.__setattr__ calls it.
        if name == "embeddings":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike | None, *model_args, **kwargs):
        """Load as `PreTrainedModel.from_pretrained` does: tensors missing from the checkpoint are initialised by
        `_init_weights` and reported (a warning, and `output_loading_info=True`), and `ignore_mismatched_sizes`,
        `config=` and `state_dict=` work as for any model. It also checks what transformers does not:

        - a tensor whose shape differs from the config's raises `CheckpointMismatchError` (a `RuntimeError` and an
          `OSError`) naming both shapes and the ways out, unless `ignore_mismatched_sizes=True`;
        - `tokenizer.json` must parse, hold one token per row of the table and the special tokens at the ids the
          config gives them (`OSError` otherwise);
        - rows that are not finite (NaN, inf) are reported in a warning; the queries never return them.
        - a path that names no folder raises `OSError` (transformers would judge it a malformed Hub repository id).
        """
        name = str(pretrained_model_name_or_path)
        if not os.path.isdir(name) and (name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1):
            raise OSError(f"{name}: no such model folder (a model on the Hub is named namespace/name)")
        output_loading_info = kwargs.pop("output_loading_info", False)
        ignore_mismatched_sizes = kwargs.pop("ignore_mismatched_sizes", False)
        hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
        try:
            # Mismatched tensors are always re-initialised here, so that the error below can name their shapes;
            # transformers' own error only points at the report it logs.
            model, loading_info = super().from_pretrained(
                pretrained_model_name_or_path,
                *model_args,
                output_loading_info=True,
                ignore_mismatched_sizes=True,
                **kwargs,
            )
        except Exception as error:
            # Matched by name so that this file needs no import beyond torch and transformers.
            if type(error).__name__ != "SafetensorError":
                raise
            raise OSError(
                f"{pretrained_model_name_or_path}: model.safetensors is truncated or corrupt ({error}); "
                "download or save the model again"
            ) from error
        source = "the state_dict" if pretrained_model_name_or_path is None else pretrained_model_name_or_path
        if loading_info["mismatched_keys"] and not ignore_mismatched_sizes:
            raise CheckpointMismatchError(_mismatch_message(source, model, loading_info))
        if pretrained_model_name_or_path is not None:
            tokenizer_file = cached_file(
                pretrained_model_name_or_path,
                "tokenizer.json",
                _raise_exceptions_for_missing_entries=False,
                _raise_exceptions_for_connection_errors=False,
                **hub_kwargs,
            )
            if tokenizer_file is not None:
                model._attach_saved_tokenizer(tokenizer_file, ignore_mismatched_sizes)
        model._dequantize_int8_table()
        model._warn_about_non_finite_rows(source)
        model._apply_freeze_flag()
        return (model, loading_info) if output_loading_info else model

    def _attach_saved_tokenizer(self, tokenizer_file: str, ignore_mismatched_sizes: bool) -> None:
        """Attach the folder's tokenizer after checking that its ids are the table's rows."""
        try:
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=tokenizer_file)
        except Exception as error:
            # The tokenizers library raises a bare Exception for a file it cannot parse.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise OSError(
                f"{tokenizer_file} does not parse as a tokenizer ({reason}); save the model's tokenizer again "
                "(tokenizer.save_pretrained) or download the folder again"
            ) from error
        rows = self.config.vocab_size
        if len(tokenizer) != rows:
            message = (
                f"{tokenizer_file} has {len(tokenizer)} tokens but the embedding table has {rows} rows, so they "
                "belong to different models. Save the model and its tokenizer together (`word2vec train` and "
                "save_pretrained of both do)."
            )
            if not ignore_mismatched_sizes:
                raise OSError(message)
            # The user chose to load a table of another size: the tokenizer cannot index it.
            logger.warning(f"{message} The tokenizer is not attached.")
            return
        self._check_tokenizer_ids(tokenizer, tokenizer_file)
        self._check_special_tokens(tokenizer, tokenizer_file)
        if self.config.pad_token_id is not None:
            tokenizer.pad_token = tokenizer.convert_ids_to_tokens(self.config.pad_token_id)
        if self.config.unk_token_id is not None:
            tokenizer.unk_token = tokenizer.convert_ids_to_tokens(self.config.unk_token_id)
        self.set_tokenizer(tokenizer)

    def _check_tokenizer_ids(self, tokenizer: PreTrainedTokenizerFast, tokenizer_file: str) -> None:
        # As many tokens as rows, and a token for every row: then every id is a row. One pass through the Rust
        # tokenizer (about 1 s per million words), without building the vocabulary as a Python dict.
        backend, rows = tokenizer.backend_tokenizer, self.config.vocab_size
        if all(backend.id_to_token(row) is not None for row in range(rows)):
            return
        beyond = sorted((index, token) for token, index in backend.get_vocab().items() if not 0 <= index < rows)
        if beyond:
            index, token = beyond[0]
            raise OSError(
                f"{tokenizer_file} gives {token!r} the id {index}, beyond the embedding table's {rows} rows "
                f"(ids 0..{rows - 1}){f', as are {len(beyond) - 1} more tokens' if len(beyond) > 1 else ''}; the "
                "tokenizer belongs to another model: save the model and its tokenizer together"
            )
        empty_row = next(row for row in range(rows) if backend.id_to_token(row) is None)
        raise OSError(
            f"{tokenizer_file} has no token for row {empty_row} of the embedding table (two tokens share an id); "
            "save the model and its tokenizer together"
        )

    def _check_special_tokens(self, tokenizer: PreTrainedTokenizerFast, tokenizer_file: str) -> None:
        # [PAD] and [UNK] are zero rows that the queries leave out: at any other id a word would be lost and the
        # padding or the unknown word would get a word's vector.
        backend = tokenizer.backend_tokenizer
        special_ids = {index for index, token in backend.get_added_tokens_decoder().items() if token.special}
        for name in ("pad_token_id", "unk_token_id"):
            index = getattr(self.config, name)
            if index is not None and index not in special_ids:
                raise OSError(
                    f"config.json gives {name}={index}, but {tokenizer_file} has the ordinary token "
                    f"{backend.id_to_token(index)!r} there (special tokens: "
                    f"{sorted((backend.id_to_token(i), i) for i in special_ids)}); correct {name} in config.json "
                    "or save the model and its tokenizer together"
                )
        unk_token = getattr(backend.model, "unk_token", None)
        unk_id = self.config.unk_token_id
        if unk_token is not None and unk_id is not None and backend.token_to_id(unk_token) != unk_id:
            raise OSError(
                f"config.json gives unk_token_id={unk_id}, but {tokenizer_file} maps unknown words to {unk_token!r} "
                f"(id {backend.token_to_id(unk_token)}); correct unk_token_id in config.json or save the model and "
                "its tokenizer together"
            )

    def _warn_about_non_finite_rows(self, source: str | os.PathLike) -> None:
        rows = self.non_finite_rows()
        if not rows:
            return
        shown = rows[:NON_FINITE_ROWS_SHOWN]
        names = self.tokenizer.convert_ids_to_tokens(shown) if self.tokenizer is not None else shown
        logger.warning(
            f"{source}: {len(rows)} rows of the embedding table hold NaN or inf (first: {', '.join(map(str, names))}"
            f"{', ...' if len(rows) > len(shown) else ''}); the queries leave them out. Retrain or repair the "
            "model to use those words."
        )

    def non_finite_rows(self) -> list[int]:
        """Rows of the input vectors holding NaN or inf (a diverged training, a damaged file)."""
        # A row's float32 sum is NaN or inf when the row holds NaN or inf, or when its values are so large (about
        # 1e36) that the sum overflows, and then so does its norm, and no cosine with it is a number either. One pass
        # and no copy of the table: 0.4 s for 1M x 300 on a shared CPU, where a float64 sum took 3 s and
        # isfinite(table).all(1) 6 s.
        sums = self.embeddings.detach().sum(dim=1, dtype=torch.float32)
        return torch.nonzero(~torch.isfinite(sums)).flatten().tolist()

    def _apply_freeze_flag(self) -> None:
        self.embeddings.requires_grad_(not self.config.freeze_embeddings)

    def set_tokenizer(self, tokenizer: PreTrainedTokenizerFast) -> None:
        """Attach the tokenizer whose ids index this table; it supplies the words for `most_similar` and friends."""
        if len(tokenizer) != self.config.vocab_size:
            raise ValueError(
                f"the tokenizer has {len(tokenizer)} tokens but the embedding table has {self.config.vocab_size} "
                "rows; they come from different models. Save the model and its tokenizer together."
            )
        self.tokenizer = tokenizer
        self._key_to_index = None

    # gensim's names for the vocabulary. As Python objects a million words cost seconds and hundreds of MB, which the
    # queries do not need (they ask the tokenizer, in Rust), so neither is built before it is asked for.

    @property
    def index_to_key(self) -> Sequence[str]:
        """The word of each row, as in gensim's `KeyedVectors.index_to_key` (special tokens included): a read-only
        sequence that asks the tokenizer for each word it is asked for (`list(model.index_to_key)` copies them all)."""
        self._require_vocabulary()
        return TokenSequence(self.tokenizer.backend_tokenizer, self.config.vocab_size)

    @property
    def key_to_index(self) -> dict[str, int]:
        """The row of each word, as in gensim's `KeyedVectors.key_to_index` (special tokens included), built on first
        use."""
        self._require_vocabulary()
        if self._key_to_index is None:
            self._key_to_index = self.tokenizer.get_vocab()
        return self._key_to_index

    # ------------------------------------------------------------------ smaller folders: float16, bfloat16, int8

    def save_pretrained(self, save_directory: str | os.PathLike, *args, table_dtype: str | None = None, **kwargs):
        """`PreTrainedModel.save_pretrained`, with the tables stored in `table_dtype` (default float32, whatever the
        folder the model came from stored, so that a checkpoint never loses precision): `"float16"` and
        `"bfloat16"` halve the file; `"int8"` quarters it, each row `r` stored as `round(r / s)` with
        `s = max|r| / 127` (error at most `s / 2` a value) and `s` kept in `weights`. int8 stores the word vectors
        only: a model with the skip-gram head (`context`) must drop it first (`model.drop_context_vectors()`), as
        `shrink_model` does."""
        table_dtype = table_dtype or "float32"
        if table_dtype not in TABLE_DTYPES:
            raise ValueError(f"table_dtype must be one of {', '.join(TABLE_DTYPES)}, got {table_dtype!r}")
        if table_dtype == "float32":
            self.config.table_dtype = None
            return super().save_pretrained(save_directory, *args, **kwargs)
        if kwargs.get("state_dict") is not None:
            raise ValueError("pass state_dict or table_dtype, not both: a state_dict's tables are saved as they are")
        state = {name: tensor for name, tensor in self.state_dict().items() if name != ROW_SCALES_KEY}
        if table_dtype == "int8":
            if self.context is not None:
                raise ValueError(
                    "int8 stores the word vectors only, and this model has the skip-gram head (context vectors); "
                    "call model.drop_context_vectors() first (the full-precision folder is the one to continue "
                    "training from), or save as float16 or bfloat16, which keep it"
                )
            if self.ngrams is not None:
                raise ValueError(
                    "int8 stores the word vectors only, and this model has subword vectors (the n-gram table); save "
                    "it as float16 or bfloat16, which keep them"
                )
            state[TABLE_MODULE_KEY], state[ROW_SCALES_KEY] = quantize_rows(self.embeddings.detach())
        else:
            for name in (TABLE_MODULE_KEY, "context", "ngrams"):
                if name in state:
                    state[name] = state[name].to(getattr(torch, table_dtype))
        self.config.table_dtype = table_dtype
        return super().save_pretrained(save_directory, *args, state_dict=state, **kwargs)

    def drop_context_vectors(self) -> None:
        """Remove the skip-gram head (`context`): the folder saved then holds the word vectors and counts only, and
        training cannot continue from it."""
        self.context = None
        self.config.has_context_vectors = False

    # ------------------------------------------------------------------ embeddings as layers

    def get_input_embeddings(self) -> nn.Embedding:
        """The table as the `nn.Embedding` module that `forward` calls (hooks on it see every lookup)."""
        return self.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        """Make `value` the table, of any size: `context` and `counts` follow its rows (new rows zero, as
        `resize_token_embeddings` gives them), and the config its shape. A table of another width has no use for the
        old context vectors (they pair with input vectors of their own width): they are dropped, with a warning."""
        if not isinstance(value, nn.Embedding):
            raise TypeError(f"the input embeddings must be an nn.Embedding, got {type(value).__name__}")
        self._check_row_count(value.num_embeddings)
        if value.embedding_dim != self.config.hidden_size:
            if self.context is not None:
                logger.warning(
                    f"the new input embeddings have dimension {value.embedding_dim}, the context vectors "
                    f"{self.config.hidden_size}: the context vectors are dropped (has_context_vectors=False), so "
                    "training cannot continue from this model until it is trained anew"
                )
                self.context = None
                self.config.has_context_vectors = False
            if self.nodes is not None:
                logger.warning(
                    f"the new input embeddings have dimension {value.embedding_dim}, the hierarchical-softmax nodes "
                    f"{self.config.hidden_size}: the nodes are dropped (hs=False)"
                )
                self.nodes = None
                self.config.hs = False
            self.config.hidden_size = value.embedding_dim
        self._resize_rows(value.num_embeddings)
        self.word_embeddings = value
        self._apply_freeze_flag()

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> nn.Embedding:
        """Grow or shrink the table to `new_num_tokens` rows, as transformers does for language models, keeping the
        rest of the checkpoint consistent: `context` gets zero rows (word2vec's initialisation of context vectors)
        and `counts` zero counts, or both lose their last rows. New input vectors are initialised by transformers
        (`mean_resizing`: from the mean and covariance of the old ones).

        Save the tokenizer with the new tokens beside the model (its length must equal the number of rows, or the
        folder does not load); a tokenizer attached with `set_tokenizer` that no longer matches is detached.
        """
        if new_num_tokens is not None:
            self._check_row_count(new_num_tokens)
        return super().resize_token_embeddings(new_num_tokens, pad_to_multiple_of, mean_resizing)

    def _check_row_count(self, rows: int) -> None:
        special_ids = self._special_ids()
        if rows < 1 or (special_ids and rows <= max(special_ids)):
            raise ValueError(
                f"cannot resize the table to {rows} rows: it must keep the special tokens' rows "
                f"(pad_token_id={self.config.pad_token_id}, unk_token_id={self.config.unk_token_id})"
            )

    def _resize_rows(self, rows: int) -> None:
        """Bring `context`, `nodes`, `counts`, the config and the attached tokenizer to `rows` rows (the input
        vectors are the caller's)."""
        self._check_row_count(rows)
        if self.context is not None and self.context.shape[0] != rows:
            context = self.context.new_zeros(rows, self.context.shape[1])
            kept = min(rows, self.context.shape[0])
            with torch.no_grad():
                context[:kept] = self.context[:kept]
            self.context = nn.Parameter(context, requires_grad=self.context.requires_grad)
        if self.nodes is not None and self.nodes.shape[0] != rows - 1:
            # The tree of the new counts numbers its nodes afresh: the old nodes' vectors start training where they
            # are, as the context vectors do.
            nodes = self.nodes.new_zeros(rows - 1, self.nodes.shape[1])
            kept = min(rows - 1, self.nodes.shape[0])
            with torch.no_grad():
                nodes[:kept] = self.nodes[:kept]
            self.nodes = nn.Parameter(nodes, requires_grad=self.nodes.requires_grad)
        if self.counts.shape[0] != rows:
            counts = self.counts.new_zeros(rows)
            kept = min(rows, self.counts.shape[0])
            counts[:kept] = self.counts[:kept]
            self.counts = counts
        self.config.vocab_size = rows
        self._key_to_index = None
        if self.tokenizer is not None and len(self.tokenizer) != rows:
            logger.warning(
                f"the attached tokenizer has {len(self.tokenizer)} tokens but the table now has {rows} rows; it is "
                f"detached. Attach a tokenizer of {rows} tokens with model.set_tokenizer(tokenizer)."
            )
            self.tokenizer = None

    def frozen_embedding(self) -> nn.Embedding:
        """The input vectors as a frozen `nn.Embedding` (`padding_idx` set), sharing memory with this model.

        Use it as the input layer of another network: the optimiser never sees it, and it stays bit-identical.
        """
        return nn.Embedding.from_pretrained(self.embeddings.detach(), freeze=True, padding_idx=self.config.pad_token_id)

    def freeze(self, frozen: bool = True) -> None:
        """Set `requires_grad` on the input vectors and record it in the config, so that a saved model loads the
        same way (`save_pretrained` does not store `requires_grad`)."""
        self.config.freeze_embeddings = frozen
        self._apply_freeze_flag()

    # ------------------------------------------------------------------ forward and the skip-gram head

    def check_ids(self, ids: torch.Tensor) -> None:
        """Raise `IndexError` naming the first id outside `[0, vocab_size)`."""
        if ids.numel() == 0:
            return
        low, high = torch.aminmax(ids)
        vocab_size = self.config.vocab_size
        if low.item() < 0 or high.item() >= vocab_size:
            bad = int(ids[(ids < 0) | (ids >= vocab_size)].flatten()[0])
            raise IndexError(
                f"token id {bad} is outside the vocabulary of {vocab_size} words (valid ids are 0..{vocab_size - 1}); "
                "encode the text with this model's own tokenizer"
            )

    def _validate_ids(self, ids: torch.Tensor) -> None:
        # `check_ids` branches on the ids' values on the host: torch.compile cannot put that in its graph, and a CUDA
        # graph cannot capture the device-to-host copy it needs. There an assertion that stays on the device takes
        # its place; it cannot name the id without that copy, so it names the valid range.
        if torch.compiler.is_compiling() or (ids.is_cuda and torch.cuda.is_current_stream_capturing()):
            vocab_size = self.config.vocab_size
            torch._assert_async(
                ((ids >= 0) & (ids < vocab_size)).all(),
                f"a token id is outside the vocabulary of {vocab_size} words (valid ids are 0..{vocab_size - 1}); "
                "encode the text with this model's own tokenizer",
            )
            return
        self.check_ids(ids)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        subword_ids: torch.LongTensor | None = None,
    ) -> BaseModelOutput | tuple[torch.Tensor, ...]:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): token ids.
            attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*): 1 for real tokens,
                0 for padding; padded positions get zero vectors.
            inputs_embeds (`torch.Tensor` of shape `(batch_size, sequence_length, hidden_size)`, *optional*): vectors
                to use in place of the looked-up ones (give either these or `input_ids`).
            output_hidden_states (`bool`, *optional*): also return `hidden_states`: a model without layers has one,
                the embedding output, as transformers models return the embeddings as `hidden_states[0]`.
            return_dict (`bool`, *optional*): a [`BaseModelOutput`] (default) or a tuple.
            subword_ids (`torch.LongTensor` of shape `(batch_size, sequence_length, most_ngrams)`, *optional*): the
                n-gram buckets of each token, -1 where there is none, as the tokenizer of a model with subwords
                returns them (`Word2VecSubwordTokenizer`); a token that has any gets the mean of their rows of
                `ngrams` (zeros for a bucket a compact table lacks) in place of its looked-up vector (an unknown
                word, whose [UNK] row is zero).

        Returns:
            [`BaseModelOutput`] whose `last_hidden_state` of shape `(batch_size, sequence_length, hidden_size)`
            holds the input vector of each token.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        if return_dict is None:
            return_dict = self.config.return_dict
        if inputs_embeds is None:
            self._validate_ids(input_ids)
            inputs_embeds = self.word_embeddings(input_ids)
        if subword_ids is not None and self.ngrams is not None:
            inputs_embeds = self._with_subword_vectors(inputs_embeds, subword_ids)
        hidden = inputs_embeds
        if attention_mask is not None:
            hidden = hidden * attention_mask.unsqueeze(-1).to(hidden.dtype)
        hidden_states = (hidden,) if output_hidden_states else None
        if not return_dict:
            return (hidden,) if hidden_states is None else (hidden, hidden_states)
        return BaseModelOutput(last_hidden_state=hidden, hidden_states=hidden_states)

    def _with_subword_vectors(self, embeds: torch.Tensor, subword_ids: torch.LongTensor) -> torch.Tensor:
        """`embeds` with each position that has n-gram buckets in `subword_ids` replaced by their mean."""
        present = subword_ids >= 0
        positions = present.any(-1).nonzero(as_tuple=True)
        if not positions[0].numel():
            return embeds
        buckets, counted = subword_ids[positions], present[positions]
        if int(buckets.max()) >= self.config.bucket:
            raise ValueError(
                f"subword_ids holds bucket {int(buckets.max())}, beyond the n-gram table's {self.config.bucket} "
                "buckets; use the tokenizer saved with this model"
            )
        rows, held = self.ngram_table_rows(buckets.clamp(min=0))
        # A compact table of no rows (no word had an n-gram) still gives every bucket a zero row.
        table = self.ngrams if self.ngrams.shape[0] else self.ngrams.new_zeros(1, self.config.hidden_size)
        summed = (F.embedding(rows, table) * (counted & held).unsqueeze(-1)).sum(1)
        return embeds.index_put(positions, (summed / counted.sum(1, keepdim=True)).to(embeds.dtype))

    def ngram_table_rows(self, buckets: torch.LongTensor) -> tuple[torch.LongTensor, torch.BoolTensor]:
        """The rows of `ngrams` that hold `buckets` (any shape), and whether each bucket has one (same shape). A
        full table holds every bucket at its own row; a compact one (`ngram_buckets`) only its vocabulary's, and
        the caller reads a bucket without a row as zeros (its row is then any valid one)."""
        if self.ngram_buckets is None:
            return buckets, torch.ones_like(buckets, dtype=torch.bool)
        table_buckets = self.ngram_buckets.to(buckets.device)
        if not table_buckets.numel():
            return torch.zeros_like(buckets), torch.zeros_like(buckets, dtype=torch.bool)
        rows = torch.searchsorted(table_buckets, buckets).clamp(max=table_buckets.numel() - 1)
        return rows, table_buckets[rows] == buckets

    def skipgram_loss(
        self,
        center_ids: torch.LongTensor,
        context_ids: torch.LongTensor,
        negative_ids: torch.LongTensor,
        reduction: str = "mean",
    ) -> torch.Tensor:
        r"""
        Negative-sampling loss of skip-gram, $-\log\sigma(u_o \cdot v_c) - \sum_k \log\sigma(-u_k \cdot v_c)$, with
        $v$ the input vectors and $u$ the context vectors.

        Args:
            center_ids (`torch.LongTensor` of shape `(num_pairs,)`): center words $c$.
            context_ids (`torch.LongTensor` of shape `(num_pairs,)`): observed context words $o$.
            negative_ids (`torch.LongTensor` of shape `(num_pairs, negative)`): noise words $k$ for each pair.
            reduction: `"mean"` or `"sum"` over pairs, or `"none"` for the loss of each pair `(num_pairs,)`.
        """
        for ids in (center_ids, context_ids, negative_ids):
            self._validate_ids(ids)
        return _reduce(self._negative_sampling_loss(self.embeddings[center_ids], context_ids, negative_ids), reduction)

    def cbow_loss(
        self,
        window_ids: torch.LongTensor,
        center_ids: torch.LongTensor,
        negative_ids: torch.LongTensor,
        window_mask: torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> torch.Tensor:
        r"""
        Negative-sampling loss of CBOW, $-\log\sigma(u_c \cdot h) - \sum_k \log\sigma(-u_k \cdot h)$, with $h$ the
        mean (`config.cbow_mean`) or sum of the window's input vectors and $u$ the context vectors.

        word2vec and gensim (and `word2vec train`) add the gradient with respect to $h$ to every input vector of the
        window: with the mean that is the window's size times this loss's gradient for each of them.

        Args:
            window_ids (`torch.LongTensor` of shape `(num_windows, width)`): the words around each center.
            center_ids (`torch.LongTensor` of shape `(num_windows,)`): the words $c$ to predict.
            negative_ids (`torch.LongTensor` of shape `(num_windows, negative)`): noise words $k$ for each window.
            window_mask (`torch.Tensor` of shape `(num_windows, width)`, *optional*): 1 for the words of a window,
                0 for padding (default: every position is a word).
            reduction: `"mean"` or `"sum"` over windows, or `"none"` for the loss of each window `(num_windows,)`.
        """
        for ids in (window_ids, center_ids, negative_ids):
            self._validate_ids(ids)
        hidden = self._window_input(window_ids, window_mask)
        return _reduce(self._negative_sampling_loss(hidden, center_ids, negative_ids), reduction)

    def skipgram_hs_loss(
        self, center_ids: torch.LongTensor, context_ids: torch.LongTensor, reduction: str = "mean"
    ) -> torch.Tensor:
        r"""
        Hierarchical-softmax loss of skip-gram, $-\sum_j \log\sigma(s_j\, n_j \cdot v_c)$ over the inner nodes $n_j$
        on the Huffman path of the context word $o$ (`huffman_tree()`), with $s_j = 1 - 2\,\mathrm{code}_j$.

        Args:
            center_ids (`torch.LongTensor` of shape `(num_pairs,)`): center words $c$ (their input vectors).
            context_ids (`torch.LongTensor` of shape `(num_pairs,)`): observed context words $o$ (their paths).
            reduction: `"mean"` or `"sum"` over pairs, or `"none"` for the loss of each pair `(num_pairs,)`.
        """
        for ids in (center_ids, context_ids):
            self._validate_ids(ids)
        return _reduce(self._hierarchical_softmax_loss(self.embeddings[center_ids], context_ids), reduction)

    def cbow_hs_loss(
        self,
        window_ids: torch.LongTensor,
        center_ids: torch.LongTensor,
        window_mask: torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> torch.Tensor:
        r"""
        Hierarchical-softmax loss of CBOW: `skipgram_hs_loss`'s sum over the path of the center word $c$, with the
        window's mean (`config.cbow_mean`) or summed input vector in place of $v_c$; the arguments are
        `cbow_loss`'s, and training applies the gradient as `cbow_loss` says.
        """
        for ids in (window_ids, center_ids):
            self._validate_ids(ids)
        hidden = self._window_input(window_ids, window_mask)
        return _reduce(self._hierarchical_softmax_loss(hidden, center_ids), reduction)

    def huffman_tree(self) -> HuffmanTree:
        """The Huffman tree of hierarchical softmax, rebuilt from `counts` (the special tokens left out) as training
        built it: the same counts and `config.huffman_ties` give the same tree, so a saved folder reloads to the tree
        it was trained on. Cached until either changes."""
        key = (self.counts.data_ptr(), self.counts._version, self.counts.shape[0], self.config.huffman_ties)
        if self._huffman_cache is None or self._huffman_cache[0] != key:
            counts = self.counts.detach().cpu().clone()
            for special_id in self._special_ids():
                counts[special_id] = 0
            self._huffman_cache = (key, huffman_tree(counts, self.config.huffman_ties))
        return self._huffman_cache[1]

    def _window_input(self, window_ids: torch.Tensor, window_mask: torch.Tensor | None) -> torch.Tensor:
        """CBOW's input `[num_windows, hidden_size]`: the mean (`config.cbow_mean`) or sum of each window's rows."""
        mask = torch.ones_like(window_ids) if window_mask is None else window_mask
        mask = mask.to(self.embeddings.dtype).unsqueeze(-1)
        summed = (self.embeddings[window_ids] * mask).sum(1)
        if not self.config.cbow_mean:
            return summed
        sizes = mask.sum(1)
        if (sizes == 0).any():
            raise ValueError("a window of cbow_loss has no word (its window_mask is all 0): CBOW has no input there")
        return summed / sizes

    def _negative_sampling_loss(
        self, hidden: torch.Tensor, output_ids: torch.Tensor, negative_ids: torch.Tensor
    ) -> torch.Tensor:
        """`[n]`: -log sigmoid(u_o . h) - sum_k log sigmoid(-u_k . h) for inputs `hidden` `[n, hidden_size]`."""
        if self.context is None:
            raise RuntimeError(
                "this model has no context vectors (negative sampling's output layer): it was converted from a vector "
                "file or trained with hierarchical softmax alone (negative=0); train a model with `word2vec train` "
                "and --negative 1 or more to get them"
            )
        positive_score = (hidden * self.context[output_ids]).sum(-1)
        negative_score = torch.bmm(self.context[negative_ids], hidden.unsqueeze(-1)).squeeze(-1)
        return -F.logsigmoid(positive_score) - F.logsigmoid(-negative_score).sum(-1)

    def _hierarchical_softmax_loss(self, hidden: torch.Tensor, output_ids: torch.Tensor) -> torch.Tensor:
        """`[n]`: the sum over each output word's path of -log sigmoid(±node . h), for inputs `hidden`."""
        if self.nodes is None:
            raise RuntimeError(
                "this model has no hierarchical-softmax nodes (config.hs is false); train a model with "
                "`word2vec train --hs` to get them"
            )
        tree = self.huffman_tree()
        device = hidden.device
        lengths = tree.lengths.to(device)[output_ids]
        if (lengths == 0).any():
            word = int(output_ids[lengths == 0].flatten()[0])
            raise ValueError(f"word id {word} has no count, so it has no path in the Huffman tree to predict")
        points, codes = tree.points.to(device)[output_ids], tree.codes.to(device)[output_ids]
        on_path = torch.arange(points.shape[-1], device=device) < lengths.unsqueeze(-1)
        scores = torch.einsum("...jd,...d->...j", self.nodes[points], hidden)
        signs = 1 - 2 * codes.to(scores.dtype)  # label 1 - code, as +1 / -1
        return -(F.logsigmoid(signs * scores) * on_path).sum(-1)

    # ------------------------------------------------------------------ gensim-style queries

    def unit_vectors(self) -> torch.Tensor:
        """The input vectors scaled to unit length, in float32 on the model's device `[vocab_size, hidden_size]`.

        A new tensor on every call, computed from the table as it is now, norms included (a copy of the table's
        size, which the model does not keep): keep it for a batch of queries, and call again after the table changes.
        """
        return F.normalize(self.embeddings.detach().float(), dim=1)

    def row_norms(self) -> torch.Tensor:
        """The length of each input vector, float32 on the model's device `[vocab_size]` (at least 1e-12, so that
        dividing by it is safe), as gensim's `KeyedVectors.norms`.

        Kept between calls, as gensim keeps its norms, so that a single `most_similar` costs one pass over the
        table, not two. It is recomputed when the table is replaced or resized, or written in place through the
        parameter (any in-place operation bumps its version counter). Writes through `.data`, which no version
        counter sees, must be followed by `forget_row_norms()`: the trainer calls it after every block.
        """
        table = self.embeddings.detach()
        key = (table.data_ptr(), tuple(table.shape), table.dtype, table.device, table._version)
        if self._norms is None or self._norms_key != key:
            self._norms = torch.linalg.vector_norm(table, dim=1, dtype=torch.float32).clamp_min_(1e-12)
            self._norms_key = key
            # A row holding NaN or inf (or so large its norm overflows) has a norm that is not finite.
            self._norms_finite = bool(torch.isfinite(self._norms).all())
        return self._norms

    def _rows_all_finite(self) -> bool:
        self.row_norms()  # brings _norms_finite up to date with the table
        return self._norms_finite

    def forget_row_norms(self) -> None:
        """Drop the kept row norms: call after writing the input vectors through `.data` (as training does)."""
        self._norms = self._norms_key = None

    def _unit_row(self, index: int) -> torch.Tensor:
        return F.normalize(self.embeddings.detach()[index].float(), dim=0)

    def _finite_unit_row(self, word: str) -> torch.Tensor:
        vector = self.get_vector(word, norm=True)
        if not torch.isfinite(vector).all():
            raise ValueError(f"the vector of {word!r} holds NaN or inf, so nothing can be compared with it")
        return vector

    def _require_vocabulary(self) -> None:
        if self.tokenizer is None:
            raise RuntimeError(
                "this model has no vocabulary attached; load it with from_pretrained from a folder holding "
                "tokenizer.json, or call model.set_tokenizer(tokenizer)"
            )

    def word_id(self, word: str) -> int:
        """Row of `word`, looked up as given, then as the tokenizer normalises it (e.g. lowercased), then as the
        one token the tokenizer makes of it (a phrase: "New York" and "New_York" are "new_york")."""
        self._require_vocabulary()
        backend = self.tokenizer.backend_tokenizer
        index = backend.token_to_id(word)
        if index is None and backend.normalizer is not None:
            index = backend.token_to_id(backend.normalizer.normalize_str(word))
        if index is None:
            ids = backend.encode(word, add_special_tokens=False).ids
            index = ids[0] if len(ids) == 1 else None
        if index is None or index in self._special_ids():
            raise KeyError(f"word {word!r} is not in the vocabulary of {self.config.vocab_size} words")
        return index

    def _special_ids(self) -> set[int]:
        return {i for i in (self.config.pad_token_id, self.config.unk_token_id) if i is not None}

    def word_ids(self) -> list[int]:
        """Rows that are words, in frequency order: every row but [PAD] and [UNK]."""
        special_ids = self._special_ids()
        return [index for index in range(self.config.vocab_size) if index not in special_ids]

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name not in GENSIM_ONLY_NAMES:
                raise
        raise AttributeError(
            f"{type(self).__name__} has no {name!r}, a name of gensim's KeyedVectors: "
            "`word2vec_hub.to_keyed_vectors(model)` (pip install word2vec-hub gensim) gives a KeyedVectors that has it"
        )

    def __contains__(self, word: str) -> bool:
        try:
            self.word_id(word)
        except KeyError:
            return False
        return True

    def get_vector(self, word: str, norm: bool = False) -> torch.Tensor:
        """The input vector of `word` `[hidden_size]`, optionally unit-normalised. A word outside the vocabulary
        gets its `subword_vector` in a model with subwords (as fastText's `get_word_vector`); else KeyError."""
        if self.ngrams is not None and word not in self:
            vector = self.subword_vector(word)
            return F.normalize(vector.float(), dim=0) if norm else vector
        index = self.word_id(word)
        return self._unit_row(index) if norm else self.embeddings.detach()[index]

    def subword_vector(self, word: str) -> torch.Tensor:
        """The mean of the rows of `word`'s character n-grams `[hidden_size]` (zeros if it has none), the word
        normalised as the tokenizer normalises text (e.g. lowercased). Needs a model with subwords."""
        if self.ngrams is None:
            raise KeyError(
                f"word {word!r} is not in the vocabulary, and this model has no subword vectors to compose it from"
            )
        normalizer = self.tokenizer.backend_tokenizer.normalizer if self.tokenizer is not None else None
        config = self.config
        buckets = normalized_ngram_buckets(word, normalizer, config.min_n, config.max_n, config.bucket)
        if not buckets:
            return self.ngrams.new_zeros(config.hidden_size).detach()
        rows, held = self.ngram_table_rows(torch.tensor(buckets, device=self.ngrams.device))
        # A bucket without a row is a zero row that still counts, as in fastText's mean over a full table.
        return self.ngrams.detach()[rows[held]].sum(0) / len(buckets)

    def _query_vector(self, terms: Sequence[str | torch.Tensor], weights: Sequence[float]) -> tuple[torch.Tensor, set]:
        dim, device = self.config.hidden_size, self.embeddings.device
        query = torch.zeros(dim, device=device)
        used_ids = set()
        for term, weight in zip(terms, weights, strict=True):
            if isinstance(term, str):
                if self.ngrams is None or term in self:
                    used_ids.add(self.word_id(term))
                vector = self._finite_unit_row(term)
            else:
                vector = F.normalize(torch.as_tensor(term, device=device).float().flatten(), dim=0)
                if vector.numel() != dim:
                    raise ValueError(f"a query vector must have {dim} values, got {vector.numel()}")
                if not torch.isfinite(vector).all():
                    raise ValueError("a query vector holds NaN or inf, so nothing can be compared with it")
            query += weight * vector
        return F.normalize(query, dim=0), used_ids

    def most_similar(
        self,
        positive: str | torch.Tensor | Sequence[str | torch.Tensor] | None = None,
        negative: str | torch.Tensor | Sequence[str | torch.Tensor] | None = None,
        topn: int = 10,
        clip_start: int = 0,
        clip_end: int | None = None,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """The `topn` words closest by cosine to the mean of `positive` minus `negative` (words or vectors).

        Works as gensim's `KeyedVectors.most_similar`: the query words themselves and the special tokens are left
        out, and so are rows that hold NaN or inf. The search runs over the words from the `clip_start`-th to the
        `clip_end`-th most frequent, or over the `restrict_vocab` most frequent (which overrides both).
        """
        self._require_vocabulary()
        _check_topn(topn)
        positive = _as_list(positive)
        negative = _as_list(negative)
        if not positive and not negative:
            raise ValueError("most_similar needs at least one positive or negative word or vector")
        query, used_ids = self._query_vector(positive + negative, [1.0] * len(positive) + [-1.0] * len(negative))
        start, end = self._search_rows(clip_start, clip_end, restrict_vocab)
        return self._top_words(self._cosines(query[None], start, end), [used_ids], topn, start)[0]

    def most_similar_cosmul(
        self,
        positive: str | torch.Tensor | Sequence[str | torch.Tensor] | None = None,
        negative: str | torch.Tensor | Sequence[str | torch.Tensor] | None = None,
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """The `topn` words by 3CosMul (Levy and Goldberg 2014), as gensim's `most_similar_cosmul`: the product of
        the positive terms' cosines over the product of the negative terms', each cosine shifted to [0, 1].

        Query vectors count by their direction only, as words do.
        """
        self._require_vocabulary()
        _check_topn(topn)
        positive = _as_list(positive)
        negative = _as_list(negative)
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word or vector")
        terms, used_ids = [], set()
        for term in positive + negative:
            vector, ids = self._query_vector([term], [1.0])
            terms.append(vector)
            used_ids |= ids
        start, end = self._search_rows(0, None, restrict_vocab)
        shifted = (1 + self._cosines(torch.stack(terms), start, end)) / 2
        scores = shifted[: len(positive)].prod(0) / (shifted[len(positive) :].prod(0) + 1e-6)
        return self._top_words(scores[None], [used_ids], topn, start)[0]

    def similar_by_word(
        self, word: str | Sequence[str], topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]] | list[list[tuple[str, float]]]:
        """The `topn` words closest to `word`, itself left out; a list of words gives one list for each, from one
        matrix product."""
        if isinstance(word, str):
            return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)
        self._require_vocabulary()
        _check_topn(topn)
        ids = [self.word_id(each) for each in word]
        if not ids:
            return []
        queries = torch.stack([self._finite_unit_row(each) for each in word])
        return self._nearest(queries, [{index} for index in ids], topn, self._search_rows(0, None, restrict_vocab))

    similar_by_key = similar_by_word

    def similar_by_vector(
        self, vector: torch.Tensor, topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]] | list[list[tuple[str, float]]]:
        """The `topn` words closest to `vector` `[hidden_size]`; a batch `[num_queries, hidden_size]` gives one
        list for each row, from one matrix product (on the model's device)."""
        self._require_vocabulary()
        _check_topn(topn)
        vectors = torch.as_tensor(vector, device=self.embeddings.device).float()
        if vectors.dim() not in (1, 2) or vectors.shape[-1] != self.config.hidden_size:
            raise ValueError(
                f"similar_by_vector takes a vector of {self.config.hidden_size} values or a batch of them "
                f"[num_queries, {self.config.hidden_size}], got shape {list(vectors.shape)}"
            )
        if not torch.isfinite(vectors).all():
            raise ValueError("a query vector holds NaN or inf, so nothing can be compared with it")
        queries = F.normalize(vectors.reshape(-1, self.config.hidden_size), dim=1)
        results = self._nearest(queries, [set()] * len(queries), topn, self._search_rows(0, None, restrict_vocab))
        return results[0] if vectors.dim() == 1 else results

    def _nearest(
        self, unit_queries: torch.Tensor, excluded_ids: Sequence[set[int]], topn: int, rows: tuple[int, int]
    ) -> list[list[tuple[str, float]]]:
        """The `topn` words closest to each query: one matrix product for as many queries as fit in
        `SCORES_PER_PRODUCT` scores (a batch of 1,000 queries on 1M words takes four)."""
        start, end = rows
        per_product = max(1, SCORES_PER_PRODUCT // max(1, end - start))
        results = []
        for first in range(0, len(unit_queries), per_product):
            scores = self._cosines(unit_queries[first : first + per_product], start, end)
            results += self._top_words(scores, excluded_ids[first : first + per_product], topn, start)
        return results

    def _search_rows(self, clip_start: int, clip_end: int | None, restrict_vocab: int | None) -> tuple[int, int]:
        """The rows holding the words from the `clip_start`-th to the `clip_end`-th, counted as gensim does."""
        for name, value in (("clip_start", clip_start), ("clip_end", clip_end), ("restrict_vocab", restrict_vocab)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number of words, 0 or more, got {value!r}")
        if restrict_vocab is not None:
            clip_start, clip_end = 0, restrict_vocab
        return self._rows_holding_words(clip_start), self._rows_holding_words(clip_end)

    def _rows_holding_words(self, word_count: int | None) -> int:
        """How many leading rows hold the `word_count` most frequent words, the special tokens among them."""
        if word_count is None:
            return self.config.vocab_size
        rows = word_count
        for special_id in sorted(self._special_ids()):
            if special_id < rows:
                rows += 1
        return min(rows, self.config.vocab_size)

    def _cosines(self, unit_queries: torch.Tensor, start: int = 0, end: int | None = None) -> torch.Tensor:
        """Cosines `[num_queries, end - start]` of unit query vectors with the input vectors of rows `start` to
        `end`: dot products divided by the kept row norms (`row_norms`), no normalised copy of the table."""
        rows = self.embeddings.detach()[start:end]
        return (unit_queries.to(rows.dtype) @ rows.T).float().div_(self.row_norms()[start:end])

    def _top_words(
        self, scores: torch.Tensor, excluded_ids: Sequence[set[int]], topn: int, start: int
    ) -> list[list[tuple[str, float]]]:
        """The `topn` best-scoring words of each row of `scores` (columns are rows `start`... of the table),
        leaving out each query's `excluded_ids`, the special tokens and rows whose score is not finite."""
        columns = scores.shape[1]
        for query, ids in enumerate(excluded_ids):
            shown = [index - start for index in ids | self._special_ids() if 0 <= index - start < columns]
            if shown:
                scores[query, shown] = float("-inf")
        # A row holding NaN or inf scores NaN (or a finite row's norm overflows to inf): it is no neighbour. The
        # scores derive from the cosines with the rows: where every row's norm is finite, so is every score.
        if not self._rows_all_finite():
            scores = scores.nan_to_num_(nan=float("-inf"), posinf=float("-inf"), neginf=float("-inf"))
        best_values, best_indices = _largest(scores, min(topn, columns))
        results = []
        for values, indices in zip(best_values.tolist(), best_indices.tolist(), strict=True):
            kept = [(index + start, value) for index, value in zip(indices, values, strict=True) if value > -math.inf]
            words = self.index_to_key[[index for index, _ in kept]]
            results.append(list(zip(words, [value for _, value in kept], strict=True)))
        return results

    def encode(self, sentences: str | Sequence[str]) -> torch.Tensor:
        """Sentence vectors: the mean of the input vectors of the sentence's known words `[num_sentences, dim]`.

        Unknown words and padding are left out (as model2vec does), except in a model with subwords, where an
        unknown word counts with its `subword_vector`; a sentence without known words gets zeros.
        """
        self._require_vocabulary()
        sentences = [sentences] if isinstance(sentences, str) else list(sentences)
        with_subwords = self.ngrams is not None
        batch = self.tokenizer(
            sentences,
            padding=True,
            return_tensors="pt",
            add_special_tokens=False,
            return_offsets_mapping=with_subwords,
        )
        ids = batch["input_ids"].to(self.embeddings.device)
        present = batch["attention_mask"].to(ids.device).bool()
        known = present & ~torch.isin(ids, torch.tensor(sorted(self._special_ids()), device=ids.device))
        vectors = F.embedding(ids, self.embeddings.detach()) * known.unsqueeze(-1)
        if with_subwords and self.config.unk_token_id is not None:
            unknown = present & (ids == self.config.unk_token_id)
            for sentence, position in unknown.nonzero().tolist():
                start, end = batch["offset_mapping"][sentence, position].tolist()
                vectors[sentence, position] = self.subword_vector(sentences[sentence][start:end])
            known |= unknown
        return vectors.sum(1) / known.sum(1, keepdim=True).clamp(min=1)

    def save_word2vec_format(self, path: str | os.PathLike, binary: bool = False) -> None:
        """Write the word vectors in the format of the original word2vec tools (text, or `binary=True`).

        gensim's `KeyedVectors.load_word2vec_format` and the C tools read it. The special tokens are left out; the
        text format prints 9 significant digits, enough to read back the same float32 values. Like `open`, it
        writes `path` in place, replacing a file there; `word2vec_hub.export_word2vec_format` (and `word2vec convert
        --to`) refuses an existing file unless asked and never leaves half a file.
        """
        self._require_vocabulary()
        rows = self.word_ids()
        vectors = self.embeddings.detach().float().cpu()[rows].numpy()
        words = [self.index_to_key[index] for index in rows]
        for word in words:
            if not word or any(character.isspace() for character in word):
                raise ValueError(f"word {word!r} contains whitespace and cannot be written in word2vec format")
        with open(path, "wb") as handle:
            handle.write(f"{len(words)} {vectors.shape[1]}\n".encode())
            for word, vector in zip(words, vectors, strict=True):
                if binary:
                    handle.write(word.encode("utf-8") + b" " + vector.astype("<f4").tobytes() + b"\n")
                else:
                    values = " ".join(f"{value:.9g}" for value in vector.tolist())
                    handle.write(f"{word} {values}\n".encode())

    def similarity(self, word_a: str, word_b: str) -> float:
        """Cosine similarity of two words' input vectors."""
        return float(self._finite_unit_row(word_a) @ self._finite_unit_row(word_b))

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """Words `d` such that `a` is to `b` as `c` is to `d` (3CosAdd: closest to b - a + c)."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn)

    def __getitem__(self, word_or_words: str | Sequence[str]) -> torch.Tensor:
        """`model[word]`: its input vector `[hidden_size]`; `model[[words]]`: theirs `[len(words), hidden_size]`."""
        if isinstance(word_or_words, str):
            return self.get_vector(word_or_words)
        if self.ngrams is not None:
            return torch.stack([self.get_vector(word) for word in word_or_words])
        return self.embeddings.detach()[[self.word_id(word) for word in word_or_words]]

    def distance(self, word_a: str, word_b: str) -> float:
        """Cosine distance, 1 - `similarity`."""
        return 1 - self.similarity(word_a, word_b)

    def distances(self, word_or_vector: str | torch.Tensor, other_words: Sequence[str] = ()) -> torch.Tensor:
        """Cosine distances from a word or vector to `other_words`, or to every row of the table (indexed as
        `index_to_key`; special tokens and zero rows at distance 1) when `other_words` is empty."""
        query, _ = self._query_vector([word_or_vector], [1.0])
        if not other_words:
            return 1 - self._cosines(query[None])[0]
        rows = self.embeddings.detach()[[self.word_id(word) for word in other_words]].float()
        return 1 - F.normalize(rows, dim=1) @ query

    def n_similarity(self, words_a: Sequence[str], words_b: Sequence[str]) -> float:
        """Cosine similarity of the means of two word lists' input vectors; unknown words are left out."""
        means = [self.embeddings.detach()[self._known_ids(words, name)].float().mean(0) for words, name in (
            (words_a, "words_a"), (words_b, "words_b"))]  # fmt: skip
        return float(F.cosine_similarity(means[0], means[1], dim=0))

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest (by cosine) from the mean of the words' unit vectors; unknown words are left out."""
        ids = self._known_ids(words, "doesnt_match's words")
        if len(ids) < 2:
            raise ValueError(
                f"doesnt_match needs at least two known words to compare, got {len(ids)} of {list(words)!r}"
            )
        vectors = F.normalize(self.embeddings.detach()[ids].float(), dim=1)
        if not torch.isfinite(vectors).all():
            raise ValueError("a word of doesnt_match's list has a vector holding NaN or inf")
        known = [word for word in words if word in self]
        return known[int(torch.argmin(vectors @ F.normalize(vectors.mean(0), dim=0)))]

    def _known_ids(self, words: Sequence[str], name: str) -> list[int]:
        """The rows of the known words of `words`, unknown ones left out as gensim does; none known is an error."""
        if isinstance(words, str) or not len(words):
            raise ValueError(f"{name} must be a non-empty list of words, got {words!r}")
        ids = [self.word_id(word) for word in words if word in self]
        if not ids:
            raise KeyError(f"none of the words of {name} is in the vocabulary: {list(words)[:10]!r}")
        return ids

    def closer_than(self, word_a: str, word_b: str) -> list[str]:
        """Every word closer (by cosine) to `word_a` than `word_b` is, in vocabulary order, `word_a` left out."""
        return self.index_to_key[self._closer_than_mask(word_a, word_b).nonzero()[:, 0].tolist()]

    words_closer_than = closer_than

    def rank(self, word_a: str, word_b: str) -> int:
        """The rank of `word_b` among `word_a`'s neighbours: 1 + how many words are closer to `word_a`."""
        return int(self._closer_than_mask(word_a, word_b).sum()) + 1

    def _closer_than_mask(self, word_a: str, word_b: str) -> torch.Tensor:
        index_a, index_b = self.word_id(word_a), self.word_id(word_b)
        scores = self._cosines(self._finite_unit_row(word_a)[None])[0]
        # NaN compares false: a row holding NaN or inf is never closer.
        closer = scores > scores[index_b]
        closer[list(self._special_ids() | {index_a})] = False
        return closer

    def most_similar_to_given(self, word: str, candidates: Sequence[str]) -> str:
        """The word of `candidates` most similar (by cosine) to `word`."""
        if isinstance(candidates, str) or not len(candidates):
            raise ValueError(f"most_similar_to_given needs a non-empty list of candidate words, got {candidates!r}")
        vectors = torch.stack([self._finite_unit_row(candidate) for candidate in candidates])
        return candidates[int(torch.argmax(vectors @ self._finite_unit_row(word)))]

    def relative_cosine_similarity(self, word_a: str, word_b: str, topn: int = 10) -> float:
        """`similarity(word_a, word_b)` over the sum of the similarities of `word_a`'s `topn` nearest words
        (Leeuwenberg et al. 2016); above 0.10 for `topn=10`, the two are closer than arbitrary word pairs."""
        neighbours = self.similar_by_word(word_a, topn)
        if not neighbours:
            raise ValueError(f"{word_a!r} has no neighbour to compare with (the vocabulary holds no other word)")
        return self.similarity(word_a, word_b) / sum(score for _, score in neighbours)

    def wmdistance(self, document_a: Sequence[str], document_b: Sequence[str], norm: bool = True) -> float:
        """Word Mover's Distance (Kusner et al. 2015) between two lists of words, as gensim computes it with POT:
        the least total Euclidean distance that moves one document's word frequencies onto the other's, between
        unit vectors when `norm`. Unknown words are left out; a document without known words is a `KeyError`
        (gensim returns inf)."""
        try:
            from ot import emd2
        except ImportError as error:
            raise ImportError(
                "wmdistance needs POT, the optimal-transport library: "
                "pip install 'word2vec-hub[wmd]' (or pip install POT)"
            ) from error
        masses, vectors = [], []
        for document, name in ((document_a, "document_a"), (document_b, "document_b")):
            ids, counts = torch.unique(torch.tensor(self._known_ids(document, name)), return_counts=True)
            masses.append((counts / counts.sum()).double().numpy())
            rows = self.embeddings.detach()[ids.to(self.embeddings.device)].double()
            vectors.append(F.normalize(rows, dim=1) if norm else rows)
        return float(emd2(masses[0], masses[1], torch.cdist(vectors[0], vectors[1]).cpu().numpy()))

    def evaluate_word_pairs(
        self, pairs: str | os.PathLike, delimiter: str = "\t", restrict_vocab: int = 300_000
    ) -> WordSimilarityResult:
        """Pearson and Spearman correlation of cosine similarities with human scores, as gensim's
        `evaluate_word_pairs` computes them (without p-values, which would need scipy).

        `word<delimiter>word<delimiter>score` lines, `#` comments; pairs with a word outside the `restrict_vocab`
        most frequent words are skipped (compared case-insensitively) and counted.
        """
        path = Path(pairs)
        vocabulary = self._case_insensitive_vocabulary(restrict_vocab)
        unit = self.unit_vectors()
        model_scores, human_scores, skipped = [], [], 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split(delimiter)
            if len(parts) != 3:
                shown = "<TAB>" if delimiter == "\t" else delimiter
                raise EvaluationFileError(f"{path}:{number}: expected 'word{shown}word{shown}score', got {line[:60]!r}")
            first, second = parts[0].upper(), parts[1].upper()
            if first not in vocabulary or second not in vocabulary:
                skipped += 1
                continue
            model_scores.append(float(unit[vocabulary[first]] @ unit[vocabulary[second]]))
            human_scores.append(float(parts[2]))
        if len(model_scores) < 2:
            raise EvaluationFileError(f"{path}: fewer than two pairs have both words in the vocabulary")
        human, model = torch.tensor(human_scores, dtype=torch.float64), torch.tensor(model_scores, dtype=torch.float64)
        return WordSimilarityResult(
            name=path.stem,
            pearson=_pearson(human, model),
            spearman=_pearson(_average_ranks(human), _average_ranks(model)),
            pairs=len(model_scores),
            skipped=skipped,
        )

    def evaluate_word_analogies(
        self, analogies: str | os.PathLike, restrict_vocab: int = 300_000, batch_size: int = 1024
    ) -> AnalogyResult:
        """3CosAdd accuracy on `: section` / `a b c d` lines, as gensim's `evaluate_word_analogies`: is d the word
        closest to b - a + c? The search runs over the `restrict_vocab` most frequent words, leaves a, b and c out,
        and questions with a word outside them are skipped; `batch_size` questions make one matrix product.
        """
        path = Path(analogies)
        vocabulary = self._case_insensitive_vocabulary(restrict_vocab)
        questions: list[tuple[str, tuple[int, int, int], str]] = []
        section, skipped = None, 0
        section_order: list[str] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.startswith(":"):
                section = line.lstrip(":").strip()
                section_order.append(section)
                continue
            if not line.strip():
                continue
            if section is None:
                raise EvaluationFileError(f"{path}:{number}: a question before the first ': section' line")
            words = [word.upper() for word in line.split()]
            if len(words) != 4:
                raise EvaluationFileError(f"{path}:{number}: expected four words, got {line[:60]!r}")
            if any(word not in vocabulary for word in words):
                skipped += 1
                continue
            questions.append((section, tuple(vocabulary[word] for word in words[:3]), words[3]))

        unit = self.unit_vectors()
        candidate_rows = torch.tensor(self.word_ids()[:restrict_vocab], device=unit.device)
        column_of_row = torch.full((unit.shape[0],), -1, dtype=torch.long, device=unit.device)
        column_of_row[candidate_rows] = torch.arange(candidate_rows.shape[0], device=unit.device)
        candidates = unit[candidate_rows]
        per_section = {name: [0, 0] for name in section_order}
        for start in range(0, len(questions), batch_size):
            batch = questions[start : start + batch_size]
            ids = torch.tensor([rows for _, rows, _ in batch], device=unit.device)
            query = unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]
            scores = F.normalize(query, dim=1) @ candidates.T
            scores.scatter_(1, column_of_row[ids], float("-inf"))
            top = candidate_rows[scores.topk(min(5, candidates.shape[0]), dim=1).indices].tolist()
            for (name, rows, expected), ranked in zip(batch, top, strict=True):
                # As gensim: the first of the 5 best whose upper-cased form is none of a, b, c (other casings of
                # them included); if all 5 are, the fifth stands.
                ignore = {self.index_to_key[row].upper() for row in rows}
                predicted = None
                for row in ranked:
                    predicted = self.index_to_key[row].upper()
                    if predicted in vocabulary and predicted not in ignore:
                        break
                per_section[name][0 if predicted == expected else 1] += 1
        correct = sum(right for right, _ in per_section.values())
        incorrect = sum(wrong for _, wrong in per_section.values())
        return AnalogyResult(
            name=path.stem,
            accuracy=correct / (correct + incorrect) if correct + incorrect else 0.0,
            correct=correct,
            incorrect=incorrect,
            skipped=skipped,
            sections={name: (right, wrong) for name, (right, wrong) in per_section.items()},
        )

    def _case_insensitive_vocabulary(self, restrict_vocab: int) -> dict[str, int]:
        """Upper-cased word to row over the `restrict_vocab` most frequent words; the most frequent casing wins."""
        vocabulary = {}
        for row in reversed(self.word_ids()[:restrict_vocab]):
            vocabulary[self.index_to_key[row].upper()] = row
        return vocabulary


@torch.no_grad()
def quantize_rows(table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 quantisation a row: `table` `[rows, dim]` (finite) to int8 `[rows, dim]` and float32 scales
    `[rows]`, `table[i] ≈ quantized[i] * scales[i]` within `scales[i] / 2`. A zero row gets scale 0."""
    quantized = torch.empty(table.shape, dtype=torch.int8, device=table.device)
    scales = torch.empty(table.shape[0], dtype=torch.float32, device=table.device)
    for start in range(0, table.shape[0], ROWS_PER_BLOCK):
        rows = table[start : start + ROWS_PER_BLOCK].float()
        if not torch.isfinite(rows).all():
            bad = start + int(torch.nonzero(~torch.isfinite(rows).all(1))[0])
            raise ValueError(f"row {bad} of the table holds NaN or inf, which int8 cannot store; repair or retrain")
        block_scales = rows.abs().amax(1) / 127
        divisors = torch.where(block_scales > 0, block_scales, torch.ones_like(block_scales))
        quantized[start : start + ROWS_PER_BLOCK] = torch.round(rows / divisors[:, None]).clamp_(-127, 127)
        scales[start : start + ROWS_PER_BLOCK] = block_scales
    return quantized, scales


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def file_key(name: str) -> str:
    """The name in model.safetensors of the model's tensor `name` (the table's module weight is `embeddings`)."""
    return TABLE_FILE_KEY if name == TABLE_MODULE_KEY else name


def _rename_table_key(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs) -> None:
    """Load-state-dict pre-hook: the table under the name model.safetensors gives it goes to its module."""
    if prefix + TABLE_FILE_KEY in state_dict and prefix + TABLE_MODULE_KEY not in state_dict:
        state_dict[prefix + TABLE_MODULE_KEY] = state_dict.pop(prefix + TABLE_FILE_KEY)


def _mismatch_message(source: str | os.PathLike, model: Word2VecModel, loading_info: dict) -> str:
    config = model.config
    shapes = "; ".join(
        f"{file_key(name)} is {list(saved)} in the checkpoint but {list(expected)} by the config"
        for name, saved, expected in sorted(loading_info["mismatched_keys"])
    )
    return (
        f"{source}: {shapes} (the config: vocab_size={config.vocab_size}, hidden_size={config.hidden_size}). "
        "Correct vocab_size/hidden_size in config.json to the checkpoint's, or pass ignore_mismatched_sizes=True "
        "to initialise those tensors anew"
    )


class TokenSequence(Sequence):
    """The tokens of a `tokenizers.Tokenizer` in id order, looked up in the tokenizer when read; a list of ids reads
    the tokens of those ids.

    A token of the tokenizer's model is read from the model: the tokenizer itself gives an added token's content as
    normalised, which for a phrase is "new york" where the vocabulary holds "new_york"."""

    def __init__(self, tokenizer, size: int):
        self._tokenizer = tokenizer
        self._size = size

    def __len__(self) -> int:
        return self._size

    def _token(self, index: int) -> str | None:
        token = self._tokenizer.model.id_to_token(index)
        return token if token is not None else self._tokenizer.id_to_token(index)

    def __getitem__(self, index: int | slice | list[int]) -> str | list[str]:
        if isinstance(index, slice):
            return [self._token(i) for i in range(*index.indices(self._size))]
        if isinstance(index, list):
            return [self[i] for i in index]
        position = index + self._size if index < 0 else index
        if not 0 <= position < self._size:
            raise IndexError(f"row {index} is outside the vocabulary of {self._size} words")
        return self._token(position)

    def __contains__(self, token: object) -> bool:
        index = self._tokenizer.token_to_id(token) if isinstance(token, str) else None
        return index is not None and index < self._size

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) or not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == self._size and all(mine == theirs for mine, theirs in zip(self, other, strict=True))

    __hash__ = None

    def __repr__(self) -> str:
        shown = ", ".join(repr(token) for token in self[:5])
        return f"TokenSequence([{shown}{', ...' if self._size > 5 else ''}], {self._size} tokens)"


def _pearson(first: torch.Tensor, second: torch.Tensor) -> float:
    first, second = first - first.mean(), second - second.mean()
    return float(first @ second / (first.norm() * second.norm()))


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks from 1, tied values sharing their mean rank (scipy's `rankdata`), for Spearman's correlation."""
    ordered, order = values.sort()
    _, group_of_sorted, group_sizes = torch.unique_consecutive(ordered, return_inverse=True, return_counts=True)
    group_ends = group_sizes.cumsum(0).to(torch.float64)
    ranks = torch.empty_like(values, dtype=torch.float64)
    ranks[order] = (group_ends - (group_sizes - 1) / 2)[group_of_sorted]
    return ranks


# Every SAMPLE_STRIDE-th score of a single query on the CPU is searched first for a bound on its k best.
SAMPLE_STRIDE = 64


def _largest(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The `k` largest values of each row of `scores` `[num_queries, columns]` and their columns, best first, as
    `torch.topk` gives them: values and indices `[num_queries, k]`.

    A single row on the CPU is searched as follows, because `torch.topk` there selects from a copy of the whole row in
    one thread (on a million words it takes about as long as ten passes over the scores): the k-th best of every
    SAMPLE_STRIDE-th score is a value that at least k scores reach, so the k best are among the few scores that reach
    it, where `topk` then runs."""
    columns = scores.shape[1]
    if scores.shape[0] != 1 or scores.device.type != "cpu" or columns < SAMPLE_STRIDE * k * 4:
        best = torch.topk(scores, k, dim=1)
        return best.values, best.indices
    row = scores[0]
    bound = torch.topk(row[::SAMPLE_STRIDE], k).values[-1]
    candidates = torch.nonzero(row >= bound).flatten()
    values, order = torch.topk(row[candidates], k)
    return values[None], candidates[order][None]


def _check_topn(topn: int) -> None:
    if isinstance(topn, bool) or not isinstance(topn, int) or topn < 1:
        raise ValueError(f"topn must be a whole number of words, 1 or more, got {topn!r}")


def _as_list(terms) -> list:
    if terms is None:
        return []
    if isinstance(terms, (str, torch.Tensor)):
        return [terms]
    return list(terms)


# transformers renames checkpoint keys on load, and back on save, by the mapping registered for the class; remote code
# registers it too, as this file is imported.
register_checkpoint_conversion_mapping(
    Word2VecModel.__name__,
    [WeightRenaming(source_patterns=f"^{TABLE_FILE_KEY}", target_patterns=TABLE_MODULE_KEY)],
    overwrite=True,
)

__all__ = [
    "AnalogyResult",
    "CheckpointMismatchError",
    "EvaluationFileError",
    "Word2VecConfig",
    "Word2VecModel",
    "Word2VecPreTrainedModel",
    "WordSimilarityResult",
]
