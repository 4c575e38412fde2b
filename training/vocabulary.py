"""The front end of training: the corpus read once, its vocabulary built (a WordLevel one, or a tokenizer that
segments Chinese, Japanese and Thai text), and the text encoded as token ids on disk."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from tokenizers import Tokenizer, models

from word2vec_hub.tokenization.phrases import tokenizer_phrases, use_phrases
from word2vec_hub.tokenization.segmentation import ScriptShares, resolve_segmentation, train_segmenting_tokenizer
from word2vec_hub.tokenization.word_level import (
    UNK_TOKEN,
    TokenIds,
    count_tokens,
    empty_word_level_tokenizer,
    grown_vocabulary,
    tokens_of_words,
    vocabulary_from_counts,
)

from .arguments import TrainingArguments
from .corpus import CorpusError, TextCorpus
from .devices import cpu_workers
from .distributed import Distributed
from .encoding import EncodedCorpus, read_files, read_words
from .phrases import PhraseReport, encode_with_phrases


@dataclass
class EncodedText:
    """A corpus ready to train on: the tokenizer whose ids `encoded` holds, and what was learnt on the way."""

    tokenizer: Tokenizer
    encoded: EncodedCorpus
    corpus_tokens: int  # in-vocabulary tokens, over every rank of a distributed run
    segmentation: str | None  # "word", "character" or "none"; None for a tokenizer that was given
    language: str | None  # zh, ja or th where the script tells it
    seconds_reading: float
    seconds_encoding: float
    phrases: PhraseReport | None = None  # where phrases were learnt or applied


def encode_corpus(
    corpus: TextCorpus,
    args: TrainingArguments,
    workdir: str | Path,
    tokenizer: Tokenizer | None = None,
    distributed: Distributed | None = None,
    device: torch.device | None = None,
    grow_vocabulary: bool = False,
) -> EncodedText:
    """Read `corpus` into `workdir` and encode it: with `tokenizer` if given (continued training keeps its
    vocabulary), else with a vocabulary built from the corpus as `args` say (`segmentation`, `min_count`, ...).

    `grow_vocabulary` with a WordLevel `tokenizer`: a copy of it whose vocabulary also holds the corpus's tokens it
    lacks that reach `min_count` (appended: every old token keeps its id, `word_level.grown_vocabulary`) encodes the
    text and comes back as `EncodedText.tokenizer`; `tokenizer` itself is left as it was."""
    args = corpus.decide_defaults(args)
    started = time.perf_counter()
    workers = cpu_workers(args.workers, distributed.local_world_size if distributed else 1)
    if corpus.files is not None:
        words = read_files(corpus.files, workdir, workers, progress=args.progress)
    else:
        words = read_words(corpus, workdir, workers, progress=args.progress)
    seconds_reading = time.perf_counter() - started
    segmentation = language = phrases = None
    word_counts = words.word_counts.tolist() if tokenizer is None or grow_vocabulary else []
    if tokenizer is None:
        shares = ScriptShares.of(words.words, word_counts)
        language = shares.language
        segmentation = resolve_segmentation(args.segmentation, shares)
        if distributed is not None:
            segmentation = distributed.broadcast(segmentation if distributed.is_main else None)
            if segmentation == "word":
                raise CorpusError(
                    "word segmentation of Chinese, Japanese or Thai text runs in one process only; train "
                    "without torchrun, or pass --segmentation character"
                )
    # A given tokenizer (continued training) joins the phrases it holds, and learns none.
    joins_phrases = tokenizer_phrases(tokenizer) if tokenizer is not None else args.phrases > 0
    if joins_phrases:
        _check_phrases(segmentation, distributed)
        if grow_vocabulary:
            raise CorpusError(
                "the vocabulary of a model with phrases cannot grow (its phrases are joined by the tokenizer it was "
                "saved with); continue without --grow-vocabulary, or train a new model on the old and new text"
            )
        building_phrases = tokenizer is None
        if building_phrases:
            tokenizer = empty_word_level_tokenizer(
                lowercase=args.lowercase,
                nfkc=args.nfkc,
                split_punctuation=args.split_punctuation,
                split_unspaced_characters=segmentation == "character",
            )
            use_phrases(tokenizer)
        tokenizer, encoded, phrases = encode_with_phrases(
            words,
            tokenizer,
            workdir,
            passes=args.phrases if building_phrases else 0,
            phrase_min_count=args.phrase_min_count,
            threshold=args.phrase_threshold,
            min_count=args.min_count,
            max_vocab=args.max_vocab,
            progress=args.progress,
        )
    elif segmentation == "word":
        tokenizer, word_ids = train_segmenting_tokenizer(
            words.words,
            word_counts,
            min_count=args.min_count,
            max_vocab=args.max_vocab,
            lowercase=args.lowercase,
            nfkc=args.nfkc,
            split_punctuation=args.split_punctuation,
            discovery=args.word_discovery,
            shares=shares,
            progress=args.progress,
        )
    else:
        building = tokenizer is None
        growing = grow_vocabulary and not building
        if growing:
            if not isinstance(tokenizer.model, models.WordLevel):
                raise CorpusError(
                    f"the vocabulary cannot grow: the model's tokenizer is a {type(tokenizer.model).__name__} model "
                    "that segments text written without spaces, whose pieces are learnt with it; train a new model "
                    "on the old and new text, or continue without --grow-vocabulary"
                )
            tokenizer = Tokenizer.from_str(tokenizer.to_str())
        if building:
            tokenizer = empty_word_level_tokenizer(
                lowercase=args.lowercase,
                nfkc=args.nfkc,
                split_punctuation=args.split_punctuation,
                split_unspaced_characters=segmentation == "character",
            )
        tokens_per_word = tokens_of_words(tokenizer, words.words)
        if building or growing:
            token_counts = count_tokens(tokens_per_word, word_counts)
            if distributed is not None:
                token_counts = distributed.merge_counts(token_counts)
            if building:
                vocabulary = vocabulary_from_counts(token_counts, args.min_count, args.max_vocab)
            else:
                old_vocabulary = tokenizer.get_vocab(with_added_tokens=False)
                vocabulary = grown_vocabulary(old_vocabulary, token_counts, args.min_count, args.max_vocab)
            if distributed is not None:
                vocabulary = distributed.broadcast(vocabulary if distributed.is_main else None)
            tokenizer.model = models.WordLevel(vocab=vocabulary, unk_token=UNK_TOKEN)
        word_ids = TokenIds.from_tokens(tokens_per_word, tokenizer.get_vocab())
        del tokens_per_word
    if not joins_phrases:
        encoded = words.encode(tokenizer, word_ids, workers)
        del word_ids
    del words  # the distinct words and line lengths are not needed to train
    corpus_tokens = encoded.num_tokens
    if distributed is not None:
        counts = distributed.all_reduce(torch.from_numpy(encoded.counts).to(device)).cpu().numpy()
        encoded = replace(encoded, counts=counts, word_count=int(counts.sum()))
        corpus_tokens = int(distributed.all_reduce(torch.tensor([corpus_tokens], device=device)).item())
    return EncodedText(
        tokenizer,
        encoded,
        corpus_tokens,
        segmentation,
        language,
        seconds_reading,
        time.perf_counter() - started - seconds_reading,
        phrases,
    )


def _check_phrases(segmentation: str | None, distributed: Distributed | None) -> None:
    """Phrases are joined by one process, in text written with spaces."""
    if segmentation == "word":
        raise CorpusError(
            "phrases join words written with spaces; with Chinese, Japanese or Thai text segmented into words, "
            "leave out --phrases or pass --segmentation character"
        )
    if distributed is not None:
        raise CorpusError("phrases are joined in one process only; train without torchrun, or leave out --phrases")
