"""The learning-rate schedule: alpha decaying linearly with training progress to min_alpha.

Every engine takes its rates from here: the torch engine per batch, the triton engine for the first and last pair
of a block (its pairs are shuffled, so the rate falls linearly over them), and the numba kernel, which compiles
`rate_at_progress` into itself to apply it after every sentence (see `numba_engine`). `Schedule.progress` says
what progress is under each of `arguments.LR_SCHEDULES`.

Plain Python arithmetic on floats, so that numba can compile `rate_at_progress` unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass


def rate_at_progress(progress: float, alpha: float, min_alpha: float) -> float:
    """The learning rate at `progress` (0 at the start, 1 at the end): alpha falling linearly to min_alpha, and
    min_alpha past the end."""
    return max(alpha - (alpha - min_alpha) * progress, min_alpha)


@dataclass(frozen=True)
class Schedule:
    """The rates of one run: `epochs` passes of `epoch_words` words each (over all ranks), trained by `writers`
    threads side by side (over all ranks)."""

    alpha: float
    min_alpha: float
    epochs: int
    epoch_words: int
    kind: str = "linear"
    writers: int = 1

    @property
    def total_words(self) -> int:
        return self.epochs * self.epoch_words

    def progress(self, words_done: float) -> tuple[float, float]:
        """Training progress when `words_done` words of all threads are trained, and how much each further word
        of one thread adds to it.

        linear: words_done over all words of all epochs, every thread's words counting alike (word2vec).
        gensim: each epoch starts at epoch / epochs, and each thread counts only its own words against the epoch,
        so that within an epoch progress rises 1 / writers as fast (gensim's corpus_file mode)."""
        if self.kind == "linear":
            return words_done / self.total_words, self.writers / self.total_words
        epoch = min(words_done // self.epoch_words, self.epochs - 1)
        within_epoch = (words_done - epoch * self.epoch_words) / self.writers / self.epoch_words
        return (epoch + within_epoch) / self.epochs, 1 / self.total_words

    def learning_rate(self, words_done: float) -> float:
        """The rate when `words_done` words of all threads are trained."""
        return rate_at_progress(self.progress(words_done)[0], self.alpha, self.min_alpha)
