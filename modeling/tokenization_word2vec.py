"""The tokenizer of a model with subword vectors: the folder's WordLevel tokenizer, which also says which character
n-grams each unknown word has, so that the model can give it a vector.

`tokenizers`' WordLevel model maps a word outside the vocabulary to [UNK] and keeps nothing of it, and no
`tokenizers` component hashes character n-grams. So this class, saved beside the model code and loaded with
`AutoTokenizer.from_pretrained(folder, trust_remote_code=True)`, adds one model input to what the WordLevel
tokenizer returns: `subword_ids`, for each token the buckets its n-grams hash to (fastText's), padded with -1; only
[UNK] tokens get any. `Word2VecModel.forward` finds their rows of the `ngrams` table (a compact table holds only
some buckets) and gives such a token their mean instead of [UNK]'s zero vector. Known words' ids, and their
vectors, are the plain tokenizer's. docs/subwords.md says why this design.

This file goes to the Hub beside the model's code: it imports only transformers and its sibling files.
"""

from __future__ import annotations

from transformers import BatchEncoding, PreTrainedTokenizerFast

from .subwords import normalized_ngram_buckets

NO_SUBWORD = -1


class Word2VecSubwordTokenizer(PreTrainedTokenizerFast):
    """A `PreTrainedTokenizerFast` over a WordLevel tokenizer that also returns `subword_ids`
    (`[batch_size, sequence_length, most n-grams]`, -1 where there is none) for the [UNK] tokens of plain texts (a
    string or a list of strings); other inputs (pairs, pre-split words) get what the plain tokenizer gives.

    Args (keywords of `__init__`, kept in `init_kwargs`):
        min_n, max_n (`int`): the lengths of the character n-grams, in characters.
        bucket (`int`): the buckets n-grams hash into (the model's `config.bucket`).
        model_input_names: give `["input_ids", "attention_mask", "subword_ids"]`.
    """

    # No __init__ of its own: transformers 5 rebuilds the backend of a class that has one from the vocabulary alone
    # (as BPE), losing the WordLevel tokenizer of tokenizer.json. The settings ride in `init_kwargs`, which
    # tokenizer_config.json saves and loading gives back.

    @property
    def min_n(self) -> int:
        return self.init_kwargs.get("min_n", 3)

    @property
    def max_n(self) -> int:
        return self.init_kwargs.get("max_n", 6)

    @property
    def bucket(self) -> int:
        return self.init_kwargs.get("bucket", 0)

    def __call__(self, text=None, *args, **kwargs) -> BatchEncoding:
        plain = isinstance(text, str) or (isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text))
        if self.bucket <= 0 or not plain or args or kwargs.get("text_pair") or kwargs.get("is_split_into_words"):
            return super().__call__(text, *args, **kwargs)
        return_tensors = kwargs.pop("return_tensors", None)
        keep_offsets = kwargs.pop("return_offsets_mapping", False)
        encoding = super().__call__(text, return_offsets_mapping=True, **kwargs)
        batched = not isinstance(text, str)
        texts = list(text) if batched else [text]
        all_ids = encoding["input_ids"] if batched else [encoding["input_ids"]]
        all_offsets = encoding["offset_mapping"] if batched else [encoding["offset_mapping"]]
        subword_ids = [
            [self.ngram_rows(text[start:end]) if token == self.unk_token_id else [] for token, (start, end) in
             zip(ids, offsets, strict=True)]
            for text, ids, offsets in zip(texts, all_ids, all_offsets, strict=True)
        ]  # fmt: skip
        width = max((len(rows) for sequence in subword_ids for rows in sequence), default=0) or 1
        padded = [[rows + [NO_SUBWORD] * (width - len(rows)) for rows in sequence] for sequence in subword_ids]
        encoding["subword_ids"] = padded if batched else padded[0]
        if not keep_offsets:
            del encoding["offset_mapping"]
        data = dict(encoding)
        if return_tensors is not None and not batched:
            # A single text gets a batch axis when made into tensors, as the plain tokenizer's output does.
            data = {name: [values] for name, values in data.items()}
        return BatchEncoding(data, tensor_type=return_tensors)

    def ngram_rows(self, word: str) -> list[int]:
        """The buckets of `word`'s n-grams, the word normalised as the tokenizer normalises text."""
        return normalized_ngram_buckets(word, self.backend_tokenizer.normalizer, self.min_n, self.max_n, self.bucket)
