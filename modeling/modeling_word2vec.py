"""Word2vec (skip-gram with negative sampling) as a Hugging Face model.

This file goes to the Hub beside the weights and is loaded there with ``trust_remote_code=True``, so it imports
only torch and transformers. The config and the model live in one file on purpose: remote code loads a separate
configuration module twice, and ``isinstance(model.config, Word2VecConfig)`` then fails.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedConfig, PreTrainedModel, PreTrainedTokenizerFast
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import cached_file, logging

logger = logging.get_logger(__name__)

TENSOR_NAMES = ("embeddings", "context", "counts")
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder")


class Word2VecConfig(PreTrainedConfig):
    r"""
    Configuration of a [`Word2VecModel`]: the table's shape, its special ids, and the hyperparameters that trained
    it (recorded so that a model card can state them and so that training can continue with the same settings).

    Args:
        vocab_size (`int`): number of rows of the table, special tokens included.
        hidden_size (`int`): vector dimension.
        pad_token_id (`int`, *optional*): row kept at zero, used for padding.
        unk_token_id (`int`, *optional*): row of the unknown-word token.
        has_context_vectors (`bool`): whether the checkpoint holds the skip-gram head (`context`). Vectors converted
            from word2vec, GloVe or fastText files have none.
        freeze_embeddings (`bool`): load the input vectors with `requires_grad=False`.
        window, negative, sample, min_count, max_vocab, epochs, alpha, min_alpha, ns_exponent: the training
            hyperparameters, named as in gensim's `Word2Vec`.
        corpus (`str`, *optional*): a description of the training corpus.
        corpus_word_count (`int`): words in the training corpus, out-of-vocabulary words included.
        training_history (`list[dict]`, *optional*): every stage of training, oldest first, each {"corpus",
            "corpus_word_count", "epochs"}; `corpus` and `corpus_word_count` are the last stage's.

    Example:

    ```python
    >>> from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
    >>> model = Word2VecModel(Word2VecConfig(vocab_size=1000, hidden_size=50))
    ```
    """

    model_type = "word2vec"
    # The hyperparameters that trained the vectors, recorded for model cards and for continuing training.
    training_hyperparameters = (
        "window", "negative", "sample", "min_count", "max_vocab", "epochs", "alpha", "min_alpha", "ns_exponent",
    )  # fmt: skip

    vocab_size: int = 2
    hidden_size: int = 100
    pad_token_id: int | None = 0
    unk_token_id: int | None = 1
    has_context_vectors: bool = True
    freeze_embeddings: bool = False
    window: int = 5
    negative: int = 5
    sample: float = 1e-3
    min_count: int = 5
    max_vocab: int | None = None
    epochs: int = 5
    alpha: float = 0.025
    min_alpha: float = 1e-4
    ns_exponent: float = 0.75
    corpus: str | None = None
    corpus_word_count: int = 0
    training_history: list[dict] | None = None

    def __post_init__(self, **kwargs):
        if self.vocab_size < 1 or self.hidden_size < 1:
            raise ValueError(
                f"vocab_size and hidden_size must be positive, got {self.vocab_size} and {self.hidden_size}"
            )
        for name in ("pad_token_id", "unk_token_id"):
            token_id = getattr(self, name)
            if token_id is not None and not 0 <= token_id < self.vocab_size:
                raise ValueError(f"{name}={token_id} is outside the vocabulary of {self.vocab_size} rows")
        super().__post_init__(**kwargs)


class Word2VecPreTrainedModel(PreTrainedModel):
    config_class = Word2VecConfig
    base_model_prefix = "word2vec"
    main_input_name = "input_ids"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # word2vec's own initialisation: small uniform input vectors, zero context vectors. The `init` helpers skip
        # tensors that were loaded from a checkpoint, so a loaded table is never overwritten.
        if isinstance(module, nn.Embedding):
            # The new rows of `resize_token_embeddings(..., mean_resizing=False)`.
            bound = 0.5 / self.config.hidden_size
            init.uniform_(module.weight, -bound, bound)
        if isinstance(module, Word2VecModel):
            bound = 0.5 / self.config.hidden_size
            init.uniform_(module.embeddings, -bound, bound)
            # [PAD] and [UNK] stay zero: padding adds nothing, and an unknown word contributes nothing to a mean.
            if not getattr(module.embeddings, "_is_hf_initialized", False):
                for special_id in (self.config.pad_token_id, self.config.unk_token_id):
                    if special_id is not None:
                        module.embeddings[special_id].zero_()
            if module.context is not None:
                init.zeros_(module.context)
            init.zeros_(module.counts)


# gensim KeyedVectors names the model lacks: asking for one says where a real KeyedVectors comes from.
GENSIM_ONLY_NAMES = frozenset({
    "add_lifecycle_event", "add_vector", "add_vectors", "allocate_vecattrs", "closer_than", "cosine_similarities",
    "distance", "distances", "doesnt_match", "evaluate_word_analogies", "evaluate_word_pairs", "fill_norms",
    "get_index", "get_mean_vector", "get_normed_vectors", "get_vecattr", "has_index_for", "index2entity",
    "index2word", "init_sims", "intersect_word2vec_format", "load", "load_word2vec_format", "log_accuracy",
    "log_evaluate_word_pairs", "most_similar_cosmul", "most_similar_to_given", "n_similarity", "rank",
    "rank_by_centrality", "relative_cosine_similarity", "resize_vectors", "save", "set_vecattr", "similar_by_key",
    "similar_by_vector", "similar_by_word", "similarity_unseen_docs", "sort_by_descending_frequency",
    "unit_normalize_all", "vectors_for_all", "vectors_norm", "vocab", "wmdistance", "word_vec", "words_closer_than",
})  # fmt: skip


class Word2VecModel(Word2VecPreTrainedModel):
    r"""
    A word2vec embedding table and its skip-gram head.

    Tensors (the keys of `model.safetensors`):
        embeddings (`[vocab_size, hidden_size]`): the input vectors, the word vectors people use.
        context (`[vocab_size, hidden_size]`): the context vectors of skip-gram with negative sampling; absent when
            `config.has_context_vectors` is false.
        counts (`[vocab_size]`, int64): corpus frequency of each word; drives subsampling and the noise
            distribution when training continues.

    `forward` maps ids to their input vectors, which is what a feature-extraction pipeline and a frozen input layer
    need. The gensim-style queries (`most_similar`, `similarity`, `analogy`) need the vocabulary, which
    `from_pretrained` reads from the folder's `tokenizer.json`, or `set_tokenizer` supplies.
    """

    def __init__(self, config: Word2VecConfig):
        super().__init__(config)
        vocab_size, dim = config.vocab_size, config.hidden_size
        self.embeddings = nn.Parameter(torch.empty(vocab_size, dim))
        if config.has_context_vectors:
            self.context = nn.Parameter(torch.empty(vocab_size, dim))
        else:
            self.register_parameter("context", None)
        self.register_buffer("counts", torch.zeros(vocab_size, dtype=torch.int64), persistent=True)
        self.tokenizer: PreTrainedTokenizerFast | None = None
        self._key_to_index: dict[str, int] | None = None
        self.post_init()
        self._apply_freeze_flag()

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *model_args, **kwargs):
        """Load as `PreTrainedModel.from_pretrained` does, but refuse a folder that is incomplete.

        Raises `OSError` if a tensor is missing from the checkpoint (transformers would only warn and initialise it
        at random) or if `tokenizer.json` has a different number of words than the table has rows, and for a path
        that names no folder (transformers would judge it as a malformed Hub repository id).
        """
        name = str(pretrained_model_name_or_path)
        if not os.path.isdir(name) and (name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1):
            raise OSError(f"{name}: no such model folder (a model on the Hub is named namespace/name)")
        output_loading_info = kwargs.pop("output_loading_info", False)
        hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
        try:
            model, loading_info = super().from_pretrained(
                pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs
            )
        except Exception as error:
            # Matched by name so that this file needs no import beyond torch and transformers.
            if type(error).__name__ != "SafetensorError":
                raise
            raise OSError(
                f"{pretrained_model_name_or_path}: model.safetensors is truncated or corrupt ({error}); "
                "download or save the model again"
            ) from error
        expected = [name for name in TENSOR_NAMES if name != "context" or model.config.has_context_vectors]
        missing = [name for name in expected if name in loading_info.get("missing_keys", ())]
        if missing or loading_info.get("mismatched_keys"):
            problem = f"missing {missing}" if missing else f"of the wrong shape {loading_info['mismatched_keys']}"
            raise OSError(
                f"{pretrained_model_name_or_path}: the checkpoint has tensors {problem}; a word2vec folder needs "
                f"{expected} with vocab_size={model.config.vocab_size} rows. Re-save or re-download the model."
            )
        tokenizer_file = cached_file(
            pretrained_model_name_or_path,
            "tokenizer.json",
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
            **hub_kwargs,
        )
        if tokenizer_file is not None:
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=tokenizer_file)
            if len(tokenizer) != model.config.vocab_size:
                raise OSError(
                    f"{pretrained_model_name_or_path}: tokenizer.json has {len(tokenizer)} tokens but the embedding "
                    f"table has {model.config.vocab_size} rows, so they belong to different models. Save the model "
                    "and its tokenizer together (`word2vec train` and save_pretrained of both do)."
                )
            if model.config.pad_token_id is not None:
                tokenizer.pad_token = tokenizer.convert_ids_to_tokens(model.config.pad_token_id)
            if model.config.unk_token_id is not None:
                tokenizer.unk_token = tokenizer.convert_ids_to_tokens(model.config.unk_token_id)
            model.set_tokenizer(tokenizer)
        model._apply_freeze_flag()
        return (model, loading_info) if output_loading_info else model

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

    # ------------------------------------------------------------------ embeddings as layers

    def get_input_embeddings(self) -> nn.Embedding:
        """An `nn.Embedding` whose weight *is* this model's `embeddings` parameter (training it trains the model).

        Nothing is allocated: the module is built around the existing table.
        """
        vocab_size, dim = self.embeddings.shape
        embedding = nn.Embedding(vocab_size, dim, padding_idx=self.config.pad_token_id, _weight=self.embeddings)
        # nn.Embedding wraps `_weight` in a new Parameter object; the caller must get this model's own.
        embedding.weight = self.embeddings
        return embedding

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        if value.embedding_dim != self.config.hidden_size:
            raise ValueError(
                f"the new input embeddings have dimension {value.embedding_dim}, this model {self.config.hidden_size}"
            )
        self._resize_rows(value.num_embeddings)
        self.embeddings = value.weight
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
        """Bring `context`, `counts`, the config and the attached tokenizer to `rows` rows (the input vectors are
        the caller's)."""
        self._check_row_count(rows)
        if self.context is not None and self.context.shape[0] != rows:
            context = self.context.new_zeros(rows, self.context.shape[1])
            kept = min(rows, self.context.shape[0])
            with torch.no_grad():
                context[:kept] = self.context[:kept]
            self.context = nn.Parameter(context, requires_grad=self.context.requires_grad)
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
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutput | tuple[torch.Tensor]:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): token ids.
            attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*): 1 for real tokens,
                0 for padding; padded positions get zero vectors.

        Returns:
            [`BaseModelOutput`] whose `last_hidden_state` of shape `(batch_size, sequence_length, hidden_size)`
            holds the input vector of each token.
        """
        self._validate_ids(input_ids)
        hidden = F.embedding(input_ids, self.embeddings, padding_idx=self.config.pad_token_id)
        if attention_mask is not None:
            hidden = hidden * attention_mask.unsqueeze(-1).to(hidden.dtype)
        if return_dict is False:
            return (hidden,)
        return BaseModelOutput(last_hidden_state=hidden)

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
        if self.context is None:
            raise RuntimeError(
                "this model has no context vectors (it was converted from a vector file), so it has no skip-gram "
                "head; train a model with `word2vec train` to get one"
            )
        for ids in (center_ids, context_ids, negative_ids):
            self._validate_ids(ids)
        center = self.embeddings[center_ids]
        positive_score = (center * self.context[context_ids]).sum(-1)
        negative_score = torch.bmm(self.context[negative_ids], center.unsqueeze(-1)).squeeze(-1)
        loss = -F.logsigmoid(positive_score) - F.logsigmoid(-negative_score).sum(-1)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        if reduction == "mean":
            return loss.mean()
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")

    # ------------------------------------------------------------------ gensim-style queries

    def unit_vectors(self) -> torch.Tensor:
        """The input vectors scaled to unit length, in float32 on the model's device `[vocab_size, hidden_size]`.

        A new tensor on every call, computed from the table as it is now: keep it for a batch of queries, and call
        again after the table changes. (The model keeps no such copy: training writes the table through `.data`,
        which no version counter sees, so a kept copy could silently go stale.)
        """
        return F.normalize(self.embeddings.detach().float(), dim=1)

    def _unit_row(self, index: int) -> torch.Tensor:
        return F.normalize(self.embeddings.detach()[index].float(), dim=0)

    def _require_vocabulary(self) -> None:
        if self.tokenizer is None:
            raise RuntimeError(
                "this model has no vocabulary attached; load it with from_pretrained from a folder holding "
                "tokenizer.json, or call model.set_tokenizer(tokenizer)"
            )

    def word_id(self, word: str) -> int:
        """Row of `word`, looked up as given and then as the tokenizer normalises it (e.g. lowercased)."""
        self._require_vocabulary()
        backend = self.tokenizer.backend_tokenizer
        index = backend.token_to_id(word)
        if index is None and backend.normalizer is not None:
            index = backend.token_to_id(backend.normalizer.normalize_str(word))
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
        """The input vector of `word` `[hidden_size]`, optionally unit-normalised."""
        index = self.word_id(word)
        return self._unit_row(index) if norm else self.embeddings.detach()[index]

    def _query_vector(self, terms: Sequence[str | torch.Tensor], weights: Sequence[float]) -> tuple[torch.Tensor, set]:
        dim, device = self.config.hidden_size, self.embeddings.device
        query = torch.zeros(dim, device=device)
        used_ids = set()
        for term, weight in zip(terms, weights, strict=True):
            if isinstance(term, str):
                index = self.word_id(term)
                used_ids.add(index)
                vector = self._unit_row(index)
            else:
                vector = F.normalize(torch.as_tensor(term, device=device).float().flatten(), dim=0)
                if vector.numel() != dim:
                    raise ValueError(f"a query vector must have {dim} values, got {vector.numel()}")
            query += weight * vector
        return F.normalize(query, dim=0), used_ids

    def most_similar(
        self,
        positive: str | torch.Tensor | Sequence[str | torch.Tensor] | None = None,
        negative: str | torch.Tensor | Sequence[str | torch.Tensor] | None = None,
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """The `topn` words closest by cosine to the mean of `positive` minus `negative` (words or vectors).

        Works as gensim's `KeyedVectors.most_similar`: the query words themselves and the special tokens are left
        out; `restrict_vocab` limits the search to the most frequent words.
        """
        self._require_vocabulary()
        positive = _as_list(positive)
        negative = _as_list(negative)
        if not positive and not negative:
            raise ValueError("most_similar needs at least one positive or negative word or vector")
        query, used_ids = self._query_vector(positive + negative, [1.0] * len(positive) + [-1.0] * len(negative))
        limit = self.config.vocab_size if restrict_vocab is None else min(restrict_vocab, self.config.vocab_size)
        scores = self._cosines(query, limit)
        excluded = [i for i in used_ids | self._special_ids() if i < limit]
        if excluded:
            scores[excluded] = float("-inf")
        count = min(topn, limit - len(excluded))
        best = torch.topk(scores, count)
        words = self.tokenizer.convert_ids_to_tokens(best.indices.tolist())
        return list(zip(words, best.values.tolist(), strict=True))

    def _cosines(self, unit_query: torch.Tensor, limit: int) -> torch.Tensor:
        """Cosine of `unit_query` with each of the first `limit` input vectors, from the table as it is now: dot
        products divided by row norms, two passes over the table and no normalised copy of it."""
        rows = self.embeddings.detach()[:limit]
        norms = torch.linalg.vector_norm(rows, dim=1, dtype=torch.float32).clamp_min_(1e-12)
        return (rows @ unit_query.to(rows.dtype)).float().div_(norms)

    def encode(self, sentences: str | Sequence[str]) -> torch.Tensor:
        """Sentence vectors: the mean of the input vectors of the sentence's known words `[num_sentences, dim]`.

        Unknown words and padding are left out (as model2vec does); a sentence without known words gets zeros.
        """
        self._require_vocabulary()
        sentences = [sentences] if isinstance(sentences, str) else list(sentences)
        batch = self.tokenizer(sentences, padding=True, return_tensors="pt", add_special_tokens=False)
        ids = batch["input_ids"].to(self.embeddings.device)
        known = batch["attention_mask"].to(ids.device).bool() & ~torch.isin(
            ids, torch.tensor(sorted(self._special_ids()), device=ids.device)
        )
        vectors = F.embedding(ids, self.embeddings.detach()) * known.unsqueeze(-1)
        return vectors.sum(1) / known.sum(1, keepdim=True).clamp(min=1)

    def save_word2vec_format(self, path: str | os.PathLike, binary: bool = False) -> None:
        """Write the word vectors in the format of the original word2vec tools (text, or `binary=True`).

        gensim's `KeyedVectors.load_word2vec_format` and the C tools read it. The special tokens are left out; the
        text format prints 9 significant digits, enough to read back the same float32 values.
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
        return float(self._unit_row(self.word_id(word_a)) @ self._unit_row(self.word_id(word_b)))

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """Words `d` such that `a` is to `b` as `c` is to `d` (3CosAdd: closest to b - a + c)."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn)


class TokenSequence(Sequence):
    """The tokens of a `tokenizers.Tokenizer` in id order, looked up in the tokenizer when read."""

    def __init__(self, tokenizer, size: int):
        self._tokenizer = tokenizer
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._tokenizer.id_to_token(i) for i in range(*index.indices(self._size))]
        position = index + self._size if index < 0 else index
        if not 0 <= position < self._size:
            raise IndexError(f"row {index} is outside the vocabulary of {self._size} words")
        return self._tokenizer.id_to_token(position)

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


def _as_list(terms) -> list:
    if terms is None:
        return []
    if isinstance(terms, (str, torch.Tensor)):
        return [terms]
    return list(terms)


__all__ = ["Word2VecConfig", "Word2VecModel", "Word2VecPreTrainedModel"]
