"""Using word2vec vectors downstream: the frozen input layer of a transformer classifier."""

from .classifier import (
    ClassifierRun,
    LabelledTexts,
    build_classifier,
    plot_losses,
    read_labelled_jsonl,
    train_classifier,
    trainable_parameters,
)

__all__ = [
    "ClassifierRun",
    "LabelledTexts",
    "build_classifier",
    "plot_losses",
    "read_labelled_jsonl",
    "train_classifier",
    "trainable_parameters",
]
