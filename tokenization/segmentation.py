"""Words in text written without spaces (Chinese, Japanese, Thai): found in the corpus, segmented by the tokenizer.

The pre-tokenizer cuts each run of such characters out of its neighbours (Latin words and digits stay words of
their own); a `tokenizers` Unigram model then segments each run into the most probable sequence of vocabulary
words (Viterbi over their log-probabilities). The model is part of tokenizer.json and runs in Rust, so
`AutoTokenizer`, sentence-transformers and model2vec segment a user's sentence exactly as training did, with no
Python segmenter at load time. A character outside the vocabulary becomes `[UNK]` on its own (neighbouring ones
fuse into one `[UNK]`); the rest of its run is still segmented into words.

Training: candidate words come from a discovery step (jieba's dictionary, or a Unigram language model trained on
the corpus's runs), every character of the runs is a candidate too, the corpus is segmented with them and words
seen fewer than `min_count` times are dropped; the tokenizer that results segments the corpus once more, and those
are the tokens training sees and the counts the model stores. Words outside the runs (Latin words, digits,
punctuation) are kept as the WordLevel tokenizer keeps them, at least `min_count` occurrences each; they all score
alike, so a known word always comes out whole, while an unknown one is cut into the fewest known words if it can be
(`"thereof"` into `"there"`, `"of"`) instead of becoming `[UNK]` as it does without segmentation.
"""

from __future__ import annotations

import itertools
import json
import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer, models, trainers

from word2vec_hub.tokenization.word_level import (
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_TOKEN,
    build_normalizer,
    build_pre_tokenizer,
    count_tokens,
    pre_tokens_of_words,
    vocabulary_from_counts,
)
from word2vec_hub.tokenization.writing_systems import (
    AUTO_WORD_SHARE,
    han_character,
    kana_character,
    thai_character,
    unspaced_character,
    unspaced_run,
)

# Score of every word outside the runs: equal scores make Viterbi choose the fewest pieces.
OTHER_WORD_SCORE = -1.0
# jieba's own frequency for a word its dictionary lacks.
JIEBA_UNKNOWN_FREQUENCY = 1
# Characters of runs the corpus statistics are learnt from (a sample: more costs time, gains little).
CORPUS_DISCOVERY_CHARACTERS = 3_000_000
CORPUS_DISCOVERY_MAX_WORD = 4
# Text at least this Han is Chinese enough for jieba's dictionary (and the model card's language).
JIEBA_HAN_SHARE = 0.9
# Japanese text mixes Han with kana; Chinese has none.
JAPANESE_KANA_SHARE = 0.05
# ScriptShares tells the scripts apart on every this-many-th word written in one of them.
SCRIPT_SAMPLE = 8
# A corpus at least this much in one of these scripts is in its language.
LANGUAGE_SHARE = 0.3


class SegmentationError(ValueError):
    """Segmentation cannot run as asked; the message says why and what to do."""


@dataclass
class ScriptShares:
    """How much of a corpus is text written without spaces, and of which script."""

    unspaced: float  # share of all characters
    han: float  # shares of the unspaced characters
    kana: float
    thai: float

    @classmethod
    def of(cls, words: Sequence[str], word_counts: Sequence[int]) -> ScriptShares:
        """The shares over the distinct whitespace-separated `words` of a corpus and their counts."""
        total = unspaced = sampled = sampled_characters = han = kana = thai = 0
        for word, count in zip(words, word_counts, strict=True):
            total += len(word) * count
            found = unspaced_character.findall(word)
            if found:
                unspaced += len(found) * count
                # Which script it is: every SCRIPT_SAMPLE-th word that has any, which is plenty.
                sampled += 1
                if sampled % SCRIPT_SAMPLE == 1:
                    found = "".join(found)
                    sampled_characters += len(found) * count
                    han += len(han_character.findall(found)) * count
                    kana += len(kana_character.findall(found)) * count
                    thai += len(thai_character.findall(found)) * count
        share = sampled_characters or 1
        return cls(unspaced / total if total else 0.0, han / share, kana / share, thai / share)

    @property
    def language(self) -> str | None:
        """The language code for the model card when most of the corpus is in one of these scripts."""
        if self.unspaced < LANGUAGE_SHARE:
            return None
        if self.kana >= JAPANESE_KANA_SHARE:
            return "ja"
        if self.han >= JIEBA_HAN_SHARE:
            return "zh"
        return "th" if self.thai >= JIEBA_HAN_SHARE else None


def resolve_segmentation(segmentation: str, shares: ScriptShares) -> str:
    """`word`, `character` or `none` for a corpus: `auto` is `word` where Chinese, Japanese or Thai text makes up
    at least AUTO_WORD_SHARE of the characters, `character` for less (a trace in other text keeps the English path
    and its speed), `none` when there is no such text at all."""
    if segmentation != "auto":
        return segmentation
    if shares.unspaced == 0:
        return "none"
    return "word" if shares.unspaced >= AUTO_WORD_SHARE else "character"


def resolve_discovery(discovery: str, shares: ScriptShares) -> str:
    """`jieba` or `corpus`: `auto` takes jieba's dictionary for Chinese text when jieba is installed."""
    if discovery == "jieba" and not _jieba_installed():
        raise SegmentationError("word discovery with jieba needs jieba: pip install 'word2vec-hub[chinese]'")
    if discovery != "auto":
        return discovery
    chinese = shares.han >= JIEBA_HAN_SHARE and shares.kana < JAPANESE_KANA_SHARE
    return "jieba" if chinese and _jieba_installed() else "corpus"


def _jieba_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("jieba") is not None


def jieba_candidates(normalize: Callable[[str], str]) -> tuple[dict[str, float], float]:
    """jieba's dictionary as word log-probabilities (jieba's own scores, words normalised as the corpus is), and
    the score jieba gives a word its dictionary lacks."""
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.initialize()
    frequencies = Counter()
    for word, frequency in jieba.dt.FREQ.items():
        # Entries with frequency 0 are prefixes jieba keeps for its search, not words.
        if frequency > 0 and unspaced_run.fullmatch(word):
            if not unicodedata.is_normalized("NFKC", word):
                word = normalize(word)
            frequencies[word] += frequency
    total = jieba.dt.total
    scores = {word: math.log(frequency / total) for word, frequency in frequencies.items()}
    return scores, math.log(JIEBA_UNKNOWN_FREQUENCY / total)


def corpus_candidates(run_counts: Mapping[str, int]) -> dict[str, float]:
    """Words of at most CORPUS_DISCOVERY_MAX_WORD characters learnt by a Unigram language model (SentencePiece's
    EM) from an evenly spaced sample of the distinct runs, about CORPUS_DISCOVERY_CHARACTERS characters of them
    with their counts."""
    total = sum(len(run) * count for run, count in run_counts.items())
    step = max(1, math.ceil(total / CORPUS_DISCOVERY_CHARACTERS))
    sample = list(itertools.islice(run_counts.items(), 0, None, step))
    characters = sum(len(run) * count for run, count in sample)
    distinct_characters = len({character for run, _ in sample for character in run})
    learner = Tokenizer(models.Unigram())
    trainer = trainers.UnigramTrainer(
        vocab_size=max(distinct_characters + len(SPECIAL_TOKENS) + 1, min(60_000, characters // 40)),
        special_tokens=list(SPECIAL_TOKENS),
        unk_token=UNK_TOKEN,
        max_piece_length=CORPUS_DISCOVERY_MAX_WORD,
        show_progress=False,
    )
    learner.train_from_iterator((run for run, count in sample for _ in range(count)), trainer)
    pieces = json.loads(learner.to_str())["model"]["vocab"]
    return {piece: score for piece, score in pieces if piece not in SPECIAL_TOKENS}


def _unigram_tokenizer(scores: Mapping[str, float], template: Tokenizer, floor: float) -> Tokenizer:
    """A Unigram tokenizer with `template`'s normaliser and pre-tokenizer; ids follow the order of `scores`, after
    `[PAD]` 0 and `[UNK]` 1. `[PAD]` scores `floor`, which it never competes at, to pin the score of an unknown
    character (10 below the lowest score) whatever words the vocabulary keeps."""
    vocab = [(PAD_TOKEN, floor), (UNK_TOKEN, 0.0), *scores.items()]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=1, byte_fallback=False))
    if template.normalizer is not None:
        tokenizer.normalizer = template.normalizer
    tokenizer.pre_tokenizer = template.pre_tokenizer
    return tokenizer


def _segment(tokenizer: Tokenizer, pieces: list[str]) -> list[list[str]]:
    """The tokens `tokenizer` makes of each piece, pieces being already normalised and pre-tokenised, which the
    model alone then segments as the whole tokenizer does (tokens from the ids: Unigram gives an unknown span's own
    text as its token, with the [UNK] id)."""
    token_of_id = [""] * tokenizer.get_vocab_size()
    for token, index in tokenizer.get_vocab().items():
        token_of_id[index] = token
    model_only = Tokenizer(tokenizer.model)
    encodings = model_only.encode_batch(pieces, add_special_tokens=False)
    return [[token_of_id[index] for index in encoding.ids] for encoding in encodings]


def train_segmenting_tokenizer(
    words: Sequence[str],
    word_counts: Sequence[int],
    min_count: int = 5,
    max_vocab: int | None = None,
    lowercase: bool = True,
    nfkc: bool = True,
    split_punctuation: bool = True,
    discovery: str = "auto",
    shares: ScriptShares | None = None,
) -> tuple[Tokenizer, list[list[str]]]:
    """A tokenizer that segments Chinese, Japanese and Thai text into words, trained on the distinct
    whitespace-separated `words` of a corpus and their counts, and the tokens it makes of each of them.

    The vocabulary is `[PAD]` 0, `[UNK]` 1, then the tokens by decreasing count in the corpus as the tokenizer
    segments it (ties alphabetical); `max_vocab` caps it (special tokens not counted). `shares`: the corpus's
    `ScriptShares`, if already known."""
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    template = Tokenizer(models.WordLevel({UNK_TOKEN: 0}, unk_token=UNK_TOKEN))
    normalizer = build_normalizer(lowercase=lowercase, nfkc=nfkc)
    if normalizer is not None:
        template.normalizer = normalizer
    template.pre_tokenizer = build_pre_tokenizer(split_punctuation, unspaced="runs")
    # Normalising and pre-tokenising a piece again leave it as it is, so each distinct piece is segmented once.
    pieces_of_words = pre_tokens_of_words(template, words)
    piece_counts = count_tokens(pieces_of_words, word_counts)
    runs = [piece for piece in piece_counts if unspaced_run.fullmatch(piece)]
    run_counts = [piece_counts[run] for run in runs]
    other_counts = {
        piece: count
        for piece, count in piece_counts.items()
        if count >= min_count and piece not in SPECIAL_TOKENS and not unspaced_run.fullmatch(piece)
    }

    discovery = resolve_discovery(discovery, shares or ScriptShares.of(words, word_counts))
    if discovery == "jieba":
        candidates, unknown_score = jieba_candidates(normalizer.normalize_str if normalizer is not None else str)
    else:
        candidates = corpus_candidates(dict(zip(runs, run_counts, strict=True)))
        unknown_score = min(candidates.values(), default=0.0) - 1.0
    # Every character of the runs is a candidate, so that no run needs [UNK] before rare words are dropped; a word
    # with a character the runs lack can match nowhere.
    characters = {character for run in runs for character in run}
    candidates = {word: score for word, score in candidates.items() if characters.issuperset(word)}
    for character in characters:
        candidates.setdefault(character, unknown_score)
    floor = min(unknown_score, OTHER_WORD_SCORE, *candidates.values())

    # The corpus segmented with every candidate: which words it uses, and how often.
    candidate_tokens = _segment(_unigram_tokenizer(candidates, template, floor), runs)
    kept = {
        word: count
        for word, count in count_tokens(candidate_tokens, run_counts).items()
        if count >= min_count and word not in SPECIAL_TOKENS
    }
    scores = {
        token: candidates[token] if token in kept else OTHER_WORD_SCORE
        for token in vocabulary_from_counts({**kept, **other_counts}, min_count, max_vocab)
        if token not in SPECIAL_TOKENS
    }

    # Dropping words a run's best segmentation does not use leaves that segmentation the best one: every other
    # segmentation was there before and scored lower, or holds an [UNK] where a dropped character stood, which
    # scores below that character did (the floor pins [UNK]'s score). So only runs that used a dropped word are
    # segmented again, and the pieces outside runs, which no candidate could match, for the first time.
    tokenizer = _unigram_tokenizer(scores, template, floor)
    tokens_of_piece = dict(zip(runs, candidate_tokens, strict=True))
    redo = [run for run, tokens in zip(runs, candidate_tokens, strict=True) if any(t not in scores for t in tokens)]
    redo += [piece for piece in piece_counts if piece not in tokens_of_piece]
    tokens_of_piece.update(zip(redo, _segment(tokenizer, redo), strict=True))
    # Ids by count; a word the final segmentation never uses leaves, which by the same argument changes nothing.
    counts = count_tokens(tokens_of_piece.values(), [piece_counts[piece] for piece in tokens_of_piece])
    order = [token for token in vocabulary_from_counts(counts, min_count=1) if token not in SPECIAL_TOKENS]
    final = _unigram_tokenizer({token: scores[token] for token in order}, template, floor)
    return final, [[token for piece in word for token in tokens_of_piece[piece]] for word in pieces_of_words]
