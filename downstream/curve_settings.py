"""The fixed settings of the learning curve, in a module light enough for the command line's parser.

Every arm trains with the same settings; they were chosen from the time budget (a few minutes on 2 CPU cores for
the default run) and the training loss, before any test accuracy was looked at, and are not tuned per arm.
"""

from __future__ import annotations

from argparse import ArgumentTypeError
from dataclasses import dataclass


@dataclass(frozen=True)
class CurveSettings:
    """`label_counts`: numbers of labelled training articles (`None`: all of them); `seeds`: runs per count, each
    with its own subset, initialisation and batch order; the transformer trains for `steps` AdamW steps of
    `batch_size` articles at `learning_rate` whatever the label count, on the first `max_length` tokens."""

    label_counts: tuple[int | None, ...] = (25, 50, 100, 200, 400, None)
    seeds: int = 3
    steps: int = 80
    batch_size: int = 16
    learning_rate: float = 1e-3
    max_length: int = 64
    layers: int = 2


QUICK_SETTINGS = CurveSettings(label_counts=(10, 20), seeds=2, steps=6, batch_size=8, max_length=32)


def parse_label_count(text: str) -> int | None:
    """`"all"` or a whole number of at least 1, for argparse's `type=`."""
    return None if text == "all" else parse_positive(text, "a label count is 'all' or a whole number")


def parse_positive(text: str, what: str = "expected a whole number") -> int:
    """A whole number of at least 1, for argparse's `type=`."""
    if not text.isdigit() or int(text) < 1:
        raise ArgumentTypeError(f"{what} of at least 1; got {text!r}")
    return int(text)
