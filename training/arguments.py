"""The training hyperparameters and the choices the command line offers, without importing torch.

The command line builds its parser from these before anything heavy is imported, so that `--help` and argument
errors are instant. The defaults are gensim's `Word2Vec(sg=1)`; `Word2VecConfig` (in `modeling/`, which must stay
self-contained for the Hub) records the same names with the same defaults, and a test checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from word2vec_hub.tokenization.writing_systems import SEGMENTATIONS, WORD_DISCOVERIES

# gensim (the default): gensim's corpus_file mode, where each epoch starts at alpha - (alpha - min_alpha) * epoch /
# epochs and each of W threads counts only its own words against the epoch, so the rate falls 1/W as far within an
# epoch. linear: word2vec's decay from alpha to min_alpha over all words of all epochs, counted over every thread.
# docs/training.md has why gensim's is the default (its vectors are better at few epochs: measured there).
LR_SCHEDULES = ("gensim", "linear")
# numba: word2vec's per-pair kernel on CPU threads; triton: the same update fused into one CUDA kernel per block;
# torch: batches of pairs as tensor operations, on any device.
BACKENDS = ("auto", "numba", "triton", "torch")
# How ranks of a torchrun job combine their changes to the tables (see training/distributed.py).
SYNC_CHOICES = ("sum", "average")
# Words each rank trains between two synchronisations: fewer cost more time exchanging rows instead of training,
# more let the ranks' copies drift apart (benchmarks/README.md, "Several processes: torchrun", has the measurements).
SYNC_EVERY = 1 << 19
# The character n-gram lengths of subwords, fastText's for text written with spaces, and for text the tokenizer
# segments (Chinese, Japanese, Thai: words of one to a few characters, each character carrying meaning), where
# benchmarks/chinese_subwords.py measured 1-2 best on wordsim-240, CA8 and unseen words (docs/subwords.md).
NGRAM_LENGTHS = (3, 6)
SEGMENTED_NGRAM_LENGTHS = (1, 2)
# The learning rate and decay without and with subwords: gensim's Word2Vec's, and fastText's (its lr 0.05, decayed
# linearly), with which our subword model matched fastText's quality (benchmarks/README.md, "Training with subwords").
ALPHA, SUBWORD_ALPHA = 0.025, 0.05
# CBOW on the mean of its window starts at word2vec's rate for it (the C tool's default with -cbow 1; gensim keeps
# 0.025): at 0.025 it trailed gensim's analogy, at 0.05 it is far ahead on bench-en (docs/training.md, "CBOW's
# learning rate").
CBOW_ALPHA = 0.05
# fastText's rows of the n-gram table.
BUCKET = 2_000_000


@dataclass
class TrainingArguments:
    """Hyperparameters, named and defaulted as gensim's `Word2Vec(sg=1)` (`dim` is gensim's `vector_size`)."""

    dim: int = 100
    window: int = 5
    # CBOW (word2vec's -cbow 1, gensim's sg=0): predict a word from the mean (cbow_mean) or sum of its window.
    cbow: bool = False
    cbow_mean: bool = True
    # Hierarchical softmax (gensim's hs=1) over the Huffman tree of the counts, beside or instead of negatives.
    hs: bool = False
    negative: int = 5
    # fastText's subwords: a word's input vector is the mean of its own row and its character n-grams' rows
    # (`min_n` to `max_n` characters, hashed into `bucket` rows), so unseen words get vectors.
    subwords: bool = False
    # None: NGRAM_LENGTHS, or SEGMENTED_NGRAM_LENGTHS for text the tokenizer segments (`with_ngram_lengths`).
    min_n: int | None = None
    max_n: int | None = None
    # None: BUCKET for a new model, the folder's when continuing one.
    bucket: int | None = None
    sample: float = 1e-3
    min_count: int = 5
    max_vocab: int | None = None
    epochs: int = 5
    # None: ALPHA; SUBWORD_ALPHA with subwords, CBOW_ALPHA for CBOW on the mean.
    alpha: float | None = None
    min_alpha: float = 1e-4
    ns_exponent: float = 0.75
    batch_size: int = 1024
    seed: int = 1
    device: str = "auto"
    backend: str = "auto"
    workers: int = 0
    # None: "gensim", or "linear" (fastText's decay) with subwords.
    lr_schedule: str | None = None
    lowercase: bool = True
    nfkc: bool = True
    # None: split punctuation off words unless the corpus is pre-tokenised (`TextCorpus.pre_tokenized`).
    split_punctuation: bool | None = None
    # Text written without spaces (Chinese, Japanese, Thai): see tokenization/writing_systems.py.
    segmentation: str = "auto"
    word_discovery: str = "auto"
    # Phrases ("new_york", gensim's Phrases): passes learning them (0: none; 2 for phrases of three or four words),
    # gensim's min_count and threshold for word2vec's word2phrase score. See training/phrases.py.
    phrases: int = 0
    phrase_min_count: int = 5
    phrase_threshold: float = 10.0
    progress: bool = True

    def __post_init__(self):
        if self.alpha is None:
            self.alpha = default_alpha(self.subwords, self.cbow, self.cbow_mean)
        if self.lr_schedule is None:
            self.lr_schedule = "linear" if self.subwords else "gensim"
        positive = ("dim", "window", "min_count", "epochs", "batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.negative < 0:
            raise ValueError(f"negative must be at least 0, got {self.negative}")
        if self.negative == 0 and not self.hs:
            raise ValueError("negative=0 leaves no output layer: give negative >= 1, or hs=True (hierarchical softmax)")
        if self.subwords and self.bucket is not None and self.bucket < 1:
            raise ValueError(
                f"subwords need an n-gram table: bucket (--bucket) must be at least 1, got {self.bucket}; leave it "
                "out for fastText's 2,000,000 rows, or give fewer (such as 200000) for a small corpus"
            )
        for name in ("min_n", "max_n"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 character, got {getattr(self, name)}")
        if self.min_n is not None and self.max_n is not None and self.min_n > self.max_n:
            raise ValueError(
                f"min_n ({self.min_n}) is above max_n ({self.max_n}): give --min-n no greater than --max-n "
                "(fastText's defaults are 3 and 6)"
            )
        if self.max_vocab is not None and self.max_vocab < 1:
            raise ValueError(f"max_vocab must be at least 1, got {self.max_vocab}")
        if not 0 < self.min_alpha <= self.alpha:
            raise ValueError(f"need 0 < min_alpha <= alpha, got alpha={self.alpha}, min_alpha={self.min_alpha}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.segmentation not in SEGMENTATIONS:
            raise ValueError(f"segmentation must be one of {', '.join(SEGMENTATIONS)}, got {self.segmentation!r}")
        if self.word_discovery not in WORD_DISCOVERIES:
            raise ValueError(
                f"word_discovery must be one of {', '.join(WORD_DISCOVERIES)}, got {self.word_discovery!r}"
            )
        if self.phrases < 0:
            raise ValueError(f"phrases must be at least 0 passes (0: no phrases), got {self.phrases}")
        if self.phrase_min_count < 1:
            raise ValueError(f"phrase_min_count must be at least 1, got {self.phrase_min_count}")
        if not self.phrase_threshold > 0:
            raise ValueError(
                f"phrase_threshold must be above 0 (gensim's default is 10; higher keeps fewer phrases), got "
                f"{self.phrase_threshold}"
            )
        if self.sample < 0:
            raise ValueError(f"sample must be >= 0 (0 disables subsampling), got {self.sample}")

    def with_ngram_lengths(self, segmented: bool) -> TrainingArguments:
        """These arguments with the n-gram lengths they leave open decided for the text (NGRAM_LENGTHS, or
        SEGMENTED_NGRAM_LENGTHS where the tokenizer segments it), and the table's rows if open (BUCKET). A length
        left open never crosses one given (`--min-n 3` on Chinese text gives max_n 3)."""
        low, high = SEGMENTED_NGRAM_LENGTHS if segmented else NGRAM_LENGTHS
        min_n = min(low, self.max_n) if self.min_n is None and self.max_n is not None else self.min_n or low
        max_n = max(high, min_n) if self.max_n is None else self.max_n
        return replace(self, min_n=min_n, max_n=max_n, bucket=BUCKET if self.bucket is None else self.bucket)


def cannot_grow_converted(folder: object) -> str:
    """Why converted vectors (a folder without context vectors) cannot grow a vocabulary, and what to do instead:
    said by the command line before torch is imported, and by the trainer."""
    return (
        f"{folder} holds converted vectors, without output (context) vectors or word counts, so it cannot continue "
        "training with a grown vocabulary (--grow-vocabulary); train a new model on the old and the new text, or "
        "continue without --grow-vocabulary (the new words then stay unknown)"
    )


def default_alpha(subwords: bool, cbow: bool, cbow_mean: bool) -> float:
    """The learning rate a run starts at unless `--alpha` is given."""
    if subwords:
        return SUBWORD_ALPHA
    return CBOW_ALPHA if cbow and cbow_mean else ALPHA
