"""Words in text written without spaces (Chinese, Japanese, Thai): found in the corpus, segmented by the tokenizer.

The pre-tokenizer cuts each run of such characters out of its neighbours (Latin words and digits stay words of
their own); a `tokenizers` Unigram model then segments each run into the most probable sequence of vocabulary
words (Viterbi over their log-probabilities). The model is part of tokenizer.json and runs in Rust, so
`AutoTokenizer`, sentence-transformers and model2vec segment a user's sentence exactly as training did, with no
Python segmenter at load time. A character outside the vocabulary becomes `[UNK]` on its own (neighbouring ones
fuse into one `[UNK]`); the rest of its run is still segmented into words.

Training: candidate words come from a discovery step (jieba's dictionary, or a Unigram language model trained on
the corpus's runs); every character of the runs is a candidate too, and so is every piece outside the runs (Latin
words, digits, punctuation) seen at least `min_count` times, all scored alike, so that a known word always comes
out whole while an unknown one is cut into the fewest known words if it can be (`"thereof"` into `"there"`,
`"of"`) instead of becoming `[UNK]` as it does without segmentation. The distinct words of the corpus go through
the tokenizer with every candidate; candidates used fewer than `min_count` times are dropped, and the words whose
segmentation used one go through the final tokenizer again. The ids training sees are the saved tokenizer's own.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer, models, trainers
from tqdm.auto import tqdm

from word2vec_hub.tokenization.word_level import (
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_TOKEN,
    TokenIds,
    build_normalizer,
    build_pre_tokenizer,
    vocabulary_from_counts,
)
from word2vec_hub.tokenization.writing_systems import (
    AUTO_WORD_SHARE,
    HAN_CHARACTER,
    KANA_CHARACTER,
    THAI_CHARACTER,
    UNSPACED_CHARACTER,
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
# A corpus at least this much in one of these scripts is in its language.
LANGUAGE_SHARE = 0.3


# Counting characters by deleting the others (a C-level pass, no string per character).
_NOT_UNSPACED = re.compile(f"[^{UNSPACED_CHARACTER[1:-1]}]+")
_HAN_RUN = re.compile(f"{HAN_CHARACTER}+")
_KANA_RUN = re.compile(f"{KANA_CHARACTER}+")
_THAI_RUN = re.compile(f"{THAI_CHARACTER}+")


def _count(run: re.Pattern, text: str) -> int:
    """How many characters of `text` the pattern `run` (a character class, repeated) matches."""
    return len(text) - len(run.sub("", text))


def _texts_by_count(texts: Sequence[str], counts: Sequence[int]) -> dict[int, list[str]]:
    """The texts grouped by how often each occurs, so that each group can go through C-level string work at once."""
    groups: dict[int, list[str]] = {}
    for text, count in zip(texts, counts, strict=True):
        groups.setdefault(count, []).append(text)
    return groups


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
        total = unspaced = han = kana = thai = 0
        for count, texts in _texts_by_count(words, word_counts).items():
            text = "".join(texts)
            found = _NOT_UNSPACED.sub("", text)
            total += len(text) * count
            unspaced += len(found) * count
            han += _count(_HAN_RUN, found) * count
            kana += _count(_KANA_RUN, found) * count
            thai += _count(_THAI_RUN, found) * count
        share = unspaced or 1
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
    progress: bool = False,
) -> tuple[Tokenizer, TokenIds]:
    """A tokenizer that segments Chinese, Japanese and Thai text into words, trained on the distinct
    whitespace-separated `words` of a corpus and their counts, and the ids it gives each of them.

    The vocabulary is `[PAD]` 0, `[UNK]` 1, then the tokens by decreasing count in the corpus as the tokenizer
    segments it (ties alphabetical); `max_vocab` caps it (special tokens not counted). `shares`: the corpus's
    `ScriptShares`, if already known. `progress`: a bar names each of the four steps as it starts.

    Candidates (words for the runs, the frequent pieces outside them) are found from the text in Python; the
    words then go through `tokenizers` whole (normaliser, pre-tokenizer, Unigram model: in Rust, in parallel),
    once with every candidate, and a second time, with the final vocabulary, only where the first segmentation
    used a candidate that was dropped. The ids training sees are therefore the saved tokenizer's own.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    bar = tqdm(total=4, desc="segmentation: finding candidate words", unit="step", disable=not progress)
    with bar:
        return _train_segmenting_tokenizer(
            words, word_counts, min_count, max_vocab, lowercase, nfkc, split_punctuation, discovery, shares, bar
        )


def _next_step(bar: tqdm, description: str) -> None:
    bar.update()
    bar.set_description(f"segmentation: {description}")


def _train_segmenting_tokenizer(
    words: Sequence[str],
    word_counts: Sequence[int],
    min_count: int,
    max_vocab: int | None,
    lowercase: bool,
    nfkc: bool,
    split_punctuation: bool,
    discovery: str,
    shares: ScriptShares | None,
    bar: tqdm,
) -> tuple[Tokenizer, TokenIds]:
    template = Tokenizer(models.WordLevel({UNK_TOKEN: 0}, unk_token=UNK_TOKEN))
    normalizer = build_normalizer(lowercase=lowercase, nfkc=nfkc)
    if normalizer is not None:
        template.normalizer = normalizer
    template.pre_tokenizer = build_pre_tokenizer(split_punctuation, unspaced="runs")
    normalize = normalizer.normalize_str if normalizer is not None else str
    counts = np.asarray(word_counts, dtype=np.int64)
    normalized_words, normal_characters = _normalized_words(words, normalize)
    # Every character of the runs is a candidate, so that no run needs [UNK] before rare words are dropped.
    characters = {character for character in normal_characters if unspaced_character.match(character)}

    discovery = resolve_discovery(discovery, shares or ScriptShares.of(words, word_counts))
    if discovery == "jieba":
        candidates, unknown_score = jieba_candidates(normalize)
    else:
        candidates = corpus_candidates(_count_matches(unspaced_run, normalized_words, counts))
        unknown_score = min(candidates.values(), default=0.0) - 1.0
    # A word with a character the runs lack can match nowhere.
    candidates = {word: score for word, score in candidates.items() if characters.issuperset(word)}
    for character in characters:
        candidates.setdefault(character, unknown_score)
    other_piece = _other_piece_pattern(split_punctuation)
    others = {
        piece: OTHER_WORD_SCORE
        for piece, count in _count_matches(other_piece, normalized_words, counts).items()
        if count >= min_count and piece not in SPECIAL_TOKENS
    }
    del normalized_words
    floor = min(unknown_score, OTHER_WORD_SCORE, *candidates.values())

    # The corpus segmented with every candidate; how often each is used.
    _next_step(bar, f"segmenting {len(words):,} distinct words with {len(candidates) + len(others):,} candidates")
    first_tokenizer = _unigram_tokenizer({**candidates, **others}, template, floor)
    first = _encode_each(first_tokenizer, words)
    uses = np.bincount(first.ids, weights=np.repeat(counts, first.lengths), minlength=first_tokenizer.get_vocab_size())
    uses = uses.astype(np.int64).tolist()
    first_vocabulary = first_tokenizer.get_vocab()
    used = {token: uses[index] for token, index in first_vocabulary.items() if uses[index] >= min_count}
    scores = {
        token: candidates.get(token, OTHER_WORD_SCORE)
        for token in vocabulary_from_counts(used, min_count, max_vocab)
        if token not in SPECIAL_TOKENS
    }

    # Dropping candidates a word's best segmentation does not use leaves that segmentation the best one: every
    # other segmentation was there before and scored lower, or holds an [UNK] where a dropped character stood,
    # which scores below that character did (the floor pins [UNK]'s score in both). So only words whose first
    # segmentation used a dropped candidate are segmented again.
    _next_step(bar, "segmenting again the words that used a dropped candidate")
    tokenizer = _unigram_tokenizer(scores, template, floor)
    vocabulary = tokenizer.get_vocab()
    id_of_first = np.full(len(first_vocabulary), -1, dtype=np.int64)
    for token, index in first_vocabulary.items():
        id_of_first[index] = vocabulary.get(token, -1)
    ids = id_of_first[first.ids]
    owner = np.repeat(np.arange(len(words)), first.lengths)
    redo = np.flatnonzero(np.bincount(owner, weights=ids < 0, minlength=len(words)))
    segmented = _replace_words(TokenIds(ids, first.lengths), redo, _encode_each(tokenizer, [words[i] for i in redo]))

    # Ids by count; a word the final segmentation never uses leaves, which by the same argument changes nothing.
    _next_step(bar, "ordering the vocabulary")
    final_uses = np.bincount(
        segmented.ids, weights=np.repeat(counts, segmented.lengths), minlength=tokenizer.get_vocab_size()
    )
    final_uses = final_uses.astype(np.int64).tolist()
    used = {token: final_uses[index] for token, index in vocabulary.items() if final_uses[index] > 0}
    order = [token for token in vocabulary_from_counts(used, min_count=1) if token not in SPECIAL_TOKENS]
    final = _unigram_tokenizer({token: scores[token] for token in order}, template, floor)
    new_id = np.full(len(vocabulary), -1, dtype=np.int64)
    for token, index in final.get_vocab().items():
        new_id[vocabulary[token]] = index
    bar.update()
    return final, TokenIds(new_id[segmented.ids], segmented.lengths)


def _normalized_words(words: Sequence[str], normalize: Callable[[str], str]) -> tuple[list[str], set[str]]:
    """Each word normalised character by character, to find candidates, and the characters of the result (the few
    characters whose normal form depends on their neighbours, such as a kana and a combining sound mark, may come
    out otherwise than the tokenizer gives them, which costs at most a candidate: the segmentation itself is the
    tokenizer's)."""
    table = {}
    characters = set()
    for character in set("".join(words)):
        normal = normalize(character)
        characters.update(normal)
        if normal != character:
            table[ord(character)] = normal
    return ("\n".join(words).translate(table).split("\n") if table else list(words)), characters


def _other_piece_pattern(split_punctuation: bool) -> re.Pattern:
    """The pieces of words outside the runs, as the pre-tokenizer cuts them (Python's \\w differs from Rust's on
    rare characters, which costs at most a candidate)."""
    unspaced = UNSPACED_CHARACTER[1:-1]
    if split_punctuation:
        # Word characters but those of the runs, or else neither word characters, spaces nor those of the runs.
        return re.compile(rf"[^\W{unspaced}]+|[^\w\s{unspaced}]+")
    return re.compile(rf"[^\s{unspaced}]+")


def _count_matches(pattern: re.Pattern, texts: Sequence[str], counts: np.ndarray) -> Counter[str]:
    """How often `pattern` matches each string in `texts`, each text occurring `counts` times. Texts are grouped
    by count, so that each group is one `findall` and one C-level count."""
    total = Counter()
    for count, group in _texts_by_count(texts, counts.tolist()).items():
        found = Counter(pattern.findall("\n".join(group)))
        if count == 1:
            total.update(found)
        else:
            total.update({match: occurrences * count for match, occurrences in found.items()})
    return total


def _encode_each(tokenizer: Tokenizer, texts: Sequence[str]) -> TokenIds:
    """The ids `tokenizer` gives each of `texts` (without special tokens), from one parallel `encode_batch`."""
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return TokenIds(
        np.fromiter(itertools.chain.from_iterable(encoding.ids for encoding in encodings), dtype=np.int64),
        np.fromiter((len(encoding) for encoding in encodings), dtype=np.int64, count=len(encodings)),
    )


def _replace_words(segmented: TokenIds, words: np.ndarray, replacement: TokenIds) -> TokenIds:
    """`segmented` with the ids of the words at indices `words` (increasing) replaced by those of `replacement`."""
    replaced = np.zeros(len(segmented.lengths), dtype=bool)
    replaced[words] = True
    lengths = segmented.lengths.copy()
    lengths[words] = replacement.lengths
    ids = np.empty(int(lengths.sum()), dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    kept = np.flatnonzero(~replaced)
    kept_ids = segmented.ids[np.repeat(~replaced, segmented.lengths)]
    _scatter(ids, starts, kept, segmented.lengths[kept], kept_ids)
    _scatter(ids, starts, words, replacement.lengths, replacement.ids)
    return TokenIds(ids, lengths)


def _scatter(out: np.ndarray, starts: np.ndarray, owners: np.ndarray, lengths: np.ndarray, values: np.ndarray) -> None:
    """Write `values`, the ids of the words `owners` one after another (`lengths` each), at those words' `starts`."""
    within = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[np.repeat(starts[owners], lengths) + within] = values
