"""Word2vec vectors as the input layer of a text classifier, fastText's supervised model as a Hugging Face model.

Copied to the Hub beside `modeling_word2vec.py` (which it imports) and loaded there with `trust_remote_code=True`,
so it imports only torch, transformers and that sibling file.

The weights keep a word2vec folder's tensors under their names (`embeddings`, `context`, `counts`) beside the
classifier's own (`word_bigrams.weight`, `hidden.*`, `classifier.*`): `Word2VecModel.from_pretrained` loads the word
vectors of a classifier folder, and this class loads a word2vec folder (its head then starts from scratch).
"""

from __future__ import annotations

import os

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedConfig
from transformers import initialization as init
from transformers.conversion_mapping import register_checkpoint_conversion_mapping
from transformers.core_model_loading import WeightRenaming
from transformers.modeling_outputs import SequenceClassifierOutput

from .modeling_word2vec import (
    HUB_KWARGS,
    ROW_SCALES_KEY,
    TABLE_FILE_KEY,
    TABLE_MODULE_KEY,
    Word2VecConfig,
    Word2VecPreTrainedModel,
    _rename_table_key,
)

# The classifier's settings, stored in the config beside the vectors' own. A config without them (a word2vec
# folder's) gets these defaults, frozen vectors among them: pretrained vectors pay most where labels are few, and
# fine-tuning them on a few hundred texts moves only the words those texts hold.
CLASSIFIER_DEFAULTS = {
    # Rows of the hashed word-bigram table (fastText's -wordNgrams 2, -bucket); 0: words only.
    "word_bigram_buckets": 0,
    # Whether each known word also gets a row of that table beside its pretrained vector: a trainable word vector,
    # as fastText's, while the pretrained ones stay as they are.
    "hashed_words": False,
    # Width of the hidden layer between the pooled vector and the labels; 0: a linear classifier (fastText's).
    "classifier_hidden_size": 0,
    "classifier_dropout": 0.0,
    "freeze_embeddings": True,
}
# fastText's multiplier for hashing a word pair into a bucket (Dictionary::addWordNgrams).
BIGRAM_HASH_MULTIPLIER = 116049371


def is_classifier_config(config: PreTrainedConfig | dict) -> bool:
    """Whether a config (or config.json's dict) holds the classifier's settings, rather than a word2vec folder's."""
    keys = config if isinstance(config, dict) else vars(config)
    return "word_bigram_buckets" in keys


class Word2VecForSequenceClassification(Word2VecPreTrainedModel):
    r"""
    A text classifier over word2vec vectors: the mean of the vectors of a text's known words (and, with
    `config.word_bigram_buckets`, of hashed word-bigram vectors, and with `config.hashed_words` of a hashed
    trainable vector for each word), optionally through one hidden layer, into a
    linear layer to the labels, as fastText's supervised model.

    Config (beside [`Word2VecConfig`]'s own): `num_labels`, `id2label`, `label2id`, `problem_type`
    (`"single_label_classification"`, softmax, or `"multi_label_classification"`, a sigmoid per label: inferred
    from the labels' dtype when not set), `word_bigram_buckets`, `hashed_words`, `classifier_hidden_size`,
    `classifier_dropout`, and `freeze_embeddings` (True unless asked: `from_pretrained(folder,
    freeze_embeddings=False)` fine-tunes).

    Tensors: `embeddings`, `context`, `counts` (those of [`Word2VecModel`]; `context` and `counts` are carried,
    unused, so that the folder still continues word2vec training), `word_bigrams.weight`, `hidden.*`,
    `classifier.*`.
    """

    def __init__(self, config: Word2VecConfig):
        # A word2vec config gets every default, frozen vectors among them; a classifier's, the settings it lacks.
        vectors_only = not is_classifier_config(config)
        for name, value in CLASSIFIER_DEFAULTS.items():
            if vectors_only or not hasattr(config, name):
                setattr(config, name, value)
        super().__init__(config)
        vocab_size, dim = config.vocab_size, config.hidden_size
        self.word_embeddings = nn.Embedding(vocab_size, dim, padding_idx=config.pad_token_id)
        if config.has_context_vectors:
            self.context = nn.Parameter(torch.empty(vocab_size, dim), requires_grad=False)
        else:
            self.register_parameter("context", None)
        self.register_buffer("counts", torch.zeros(vocab_size, dtype=torch.int64), persistent=True)
        if config.table_dtype == "int8":
            # An int8 folder's row scales (`convert --dtype int8`), multiplied into the table by `from_pretrained`.
            self.register_buffer(ROW_SCALES_KEY, torch.ones(vocab_size, dtype=torch.float32), persistent=True)
        self.word_bigrams = nn.Embedding(config.word_bigram_buckets, dim) if config.word_bigram_buckets else None
        hidden_size = config.classifier_hidden_size
        self.hidden = nn.Linear(dim, hidden_size) if hidden_size else None
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(hidden_size or dim, config.num_labels)
        self._register_load_state_dict_pre_hook(_rename_table_key)
        self.post_init()
        self.freeze(config.freeze_embeddings)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike | None, *model_args, **kwargs):
        """Load a classifier folder, or start one from a word2vec folder: its vectors, and a new head for
        `num_labels` labels (or `id2label`), with `CLASSIFIER_DEFAULTS` for the settings not given."""
        if pretrained_model_name_or_path is not None and kwargs.get("config") is None:
            # The classifier's settings are no attributes of a word2vec folder's config, so from_pretrained would
            # hand them to __init__: they go into the config here.
            hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
            settings = {name: kwargs.pop(name) for name in CLASSIFIER_DEFAULTS if name in kwargs}
            config, kwargs = Word2VecConfig.from_pretrained(
                pretrained_model_name_or_path, return_unused_kwargs=True, **kwargs
            )
            if not is_classifier_config(config):
                settings = {**CLASSIFIER_DEFAULTS, **settings}
            for name, value in settings.items():
                setattr(config, name, value)
            kwargs = {**kwargs, **hub_kwargs, "config": config}
        loaded = super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        if ROW_SCALES_KEY in model._buffers:
            model._dequantize_int8_table()
            # The table is whole vectors now, in the dtype asked for, and the classifier saves it so.
            model.config.table_dtype = None
        # Loading puts new Parameters in place, trainable whatever the config says.
        model.freeze(model.config.freeze_embeddings)
        return loaded

    @property
    def embeddings(self) -> nn.Parameter:
        """The word vectors `[vocab_size, hidden_size]`: the weight of `word_embeddings`."""
        return self.word_embeddings.weight

    def get_input_embeddings(self) -> nn.Embedding:
        return self.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.word_embeddings = value

    def freeze(self, frozen: bool = True) -> None:
        """Keep the word vectors fixed while the rest trains (or not), recorded in the config so that a saved
        classifier loads the same way."""
        self.config.freeze_embeddings = frozen
        self.word_embeddings.weight.requires_grad_(not frozen)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if module is self.word_bigrams:
            # fastText's initialisation of its input rows; the word table keeps word2vec's (the parent's).
            bound = 1.0 / module.embedding_dim
            init.uniform_(module.weight, -bound, bound)
        elif isinstance(module, nn.Linear):
            # The output layer starts at zero, as a logistic regression does: every label equally likely.
            if module is self.classifier:
                init.zeros_(module.weight)
            else:
                init.normal_(module.weight, std=module.in_features**-0.5)
            init.zeros_(module.bias)
        elif module is self:
            if module.context is not None:
                init.zeros_(module.context)
            init.zeros_(module.counts)
        else:
            super()._init_weights(module)

    def hashed_ids(self, input_ids: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows of the hashed table `word_bigrams` that the texts use `[batch, n]`, and which of them count
        (bool, same shape): the bucket of each pair of neighbouring known words (`n = length - 1`) and, with
        `config.hashed_words`, of each known word (`n = 2 * length - 1`), hashed as its pair with the id
        `vocab_size`, which no word has."""
        pairs = known[:, :-1] & known[:, 1:]
        buckets = (input_ids[:, :-1] * BIGRAM_HASH_MULTIPLIER + input_ids[:, 1:]) % self.config.word_bigram_buckets
        if self.config.hashed_words:
            words = (input_ids * BIGRAM_HASH_MULTIPLIER + self.config.vocab_size) % self.config.word_bigram_buckets
            buckets, pairs = torch.cat([buckets, words], 1), torch.cat([pairs, known], 1)
        return buckets, pairs

    def known_words(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Which tokens the text vector counts `[batch, length]` (bool): neither padding nor `[UNK]`, nor masked."""
        special = [i for i in (self.config.pad_token_id, self.config.unk_token_id) if i is not None]
        known = ~torch.isin(input_ids, torch.tensor(special, device=input_ids.device))
        if attention_mask is not None:
            known &= attention_mask.bool()
        return known

    def pool(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The text vectors `[batch, hidden_size]`: the mean over the known words' vectors and the rows of the hashed
        table they use (`hashed_ids`). Padding and unknown words are left out; a text without a known word gets
        zeros."""
        known = self.known_words(input_ids, attention_mask)
        # embedding_bag sums without the [batch, length, dim] tensor that a lookup and a masked sum would build.
        weights = known.to(self.word_embeddings.weight.dtype)
        total = F.embedding_bag(input_ids, self.word_embeddings.weight, mode="sum", per_sample_weights=weights)
        count = weights.sum(1, keepdim=True)
        buckets, pairs = self.hashed_ids(input_ids, known) if self.word_bigrams is not None else (None, None)
        if buckets is not None and buckets.shape[1]:
            pair_weights = pairs.to(weights.dtype)
            total = total + F.embedding_bag(
                buckets, self.word_bigrams.weight, mode="sum", per_sample_weights=pair_weights
            )
            count = count + pair_weights.sum(1, keepdim=True)
        return total / count.clamp(min=1)

    def logits_from_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """The labels' logits `[batch, num_labels]` of text vectors `[batch, hidden_size]` (those of `pool`)."""
        hidden = self.dropout(pooled)
        if self.hidden is not None:
            hidden = self.dropout(F.relu(self.hidden(hidden)))
        return self.classifier(hidden)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple[torch.Tensor, ...]:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): token ids of this model's
                tokenizer.
            attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*): 0 for padding.
            labels (`torch.Tensor`, *optional*): label ids `(batch_size,)` for single-label classification, or
                0/1 per label `(batch_size, num_labels)` for multi-label; the output then holds the loss.
            token_type_ids: accepted for tokenizers that return them, and ignored (a bag of words has no segments).
        """
        if input_ids is None:
            raise ValueError("input_ids are required: token ids of this model's tokenizer")
        if return_dict is None:
            return_dict = self.config.return_dict
        if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= self.config.vocab_size):
            raise IndexError(
                f"a token id is outside the vocabulary of {self.config.vocab_size} words; encode the text with "
                "this model's own tokenizer"
            )
        logits = self.logits_from_pooled(self.pool(input_ids, attention_mask))
        loss = None if labels is None else self.classification_loss(logits, labels)
        if not return_dict:
            return (logits,) if loss is None else (loss, logits)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def classification_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy for label ids, binary cross-entropy per label for multi-label targets (the problem type is
        recorded in the config the first time, as transformers' classifiers do)."""
        if self.config.problem_type is None:
            single = labels.dtype in (torch.long, torch.int) and labels.dim() == 1
            self.config.problem_type = "single_label_classification" if single else "multi_label_classification"
        if self.config.problem_type == "single_label_classification":
            return F.cross_entropy(logits, labels.long().to(logits.device))
        if self.config.problem_type == "multi_label_classification":
            return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype).to(logits.device))
        raise ValueError(
            f"problem_type {self.config.problem_type!r} is not supported; use 'single_label_classification' or "
            "'multi_label_classification'"
        )


register_checkpoint_conversion_mapping(
    Word2VecForSequenceClassification.__name__,
    [WeightRenaming(source_patterns=f"^{TABLE_FILE_KEY}", target_patterns=TABLE_MODULE_KEY)],
    overwrite=True,
)

__all__ = ["Word2VecForSequenceClassification"]
