"""Callbacks into a training run from the Python API: gensim's `CallbackAny2Vec` ideas under transformers'
`TrainerCallback` names.

    class StopWhenFlat(TrainerCallback):
        def on_epoch_end(self, state):
            if len(state.history) > 1 and state.history[-2]["loss"] - state.history[-1]["loss"] < 0.01:
                state.should_training_stop = True

    train_word2vec(corpus, args, callbacks=[StopWhenFlat()], checkpoint_dir="checkpoint")

Each hook gets the run's `TrainerState`; the model in it holds the tables as trained so far (its queries see
them), and a hook that sets `state.should_training_stop` ends training cleanly: the block in progress finishes, a
checkpoint is saved where `checkpoint_dir` was given (`--resume` continues from it), and `train_word2vec` returns
the model trained so far with `TrainingResult.stopped_early` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from word2vec_hub.modeling import Word2VecModel

    from .arguments import TrainingArguments


@dataclass
class TrainerState:
    """Where a run stands, as the hooks see it (transformers' `TrainerState` and `TrainerControl` in one)."""

    model: Word2VecModel
    args: TrainingArguments
    epoch: int  # the epoch in progress or just ended, from 1
    words_trained: int  # words trained so far, over every epoch (and every rank of a torchrun job)
    total_words: int  # words the whole run trains
    # The last block's loss per pair and the epoch's so far (numba: measured on a sample of the pairs); NaN before
    # the first block.
    loss: float = float("nan")
    epoch_loss: float = float("nan")
    learning_rate: float = float("nan")
    history: list[dict] = field(default_factory=list)  # one record per finished epoch, as `TrainingResult.history`
    # Set by a hook to end training after the block in progress (transformers' `TrainerControl` name).
    should_training_stop: bool = False


class TrainerCallback:
    """Hooks called by the epoch loop; override those you need. In a torchrun job they run on every rank, and
    training stops when any rank's hook asks for it."""

    def on_train_begin(self, state: TrainerState) -> None:
        """Before the first block (after resuming, before the first block still to train)."""

    def on_epoch_begin(self, state: TrainerState) -> None:
        """Before an epoch's first block (of a resumed epoch: before its next block)."""

    def on_block_end(self, state: TrainerState) -> None:
        """After each block of about a million words: `state.loss` is the block's, `state.words_trained` counts it."""

    def on_epoch_end(self, state: TrainerState) -> None:
        """After an epoch: its record is `state.history[-1]`."""

    def on_train_end(self, state: TrainerState) -> None:
        """After the last block, whether training ran to its end or a hook stopped it (not after Ctrl-C or a
        divergence, which raise)."""
