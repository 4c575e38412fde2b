"""The learning curve: test accuracy against the number of labelled training texts, for five uses of the vectors.

Three arms train the same small transformer (`classifier.build_classifier`) with the same settings and number of
steps: the word2vec table frozen, the word2vec table as initial values then fine-tuned, and random trainable
embeddings. The fourth needs no transformer: the mean word vector of each text into a logistic regression. For
each label count and seed every arm sees the same balanced subset of the training texts, and the same
initialisation and batch order; the test set is fixed. The fifth is our own classifier
(`Word2VecForSequenceClassification`) at its default settings.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import torch

from word2vec_hub.downstream.classifier import accuracy, build_classifier, encode_texts, train_for_steps
from word2vec_hub.downstream.classifier_settings import ClassifierSettings
from word2vec_hub.downstream.curve_settings import CurveSettings
from word2vec_hub.downstream.labelled_texts import LabelledTexts
from word2vec_hub.downstream.logistic_regression import (
    fit_logistic_regression,
    logistic_regression_accuracy,
    mean_vectors,
)
from word2vec_hub.downstream.text_classifier import (
    TokenizedTexts,
    classifier_from_vectors,
    predict,
    tokenize,
    train_classifier,
)
from word2vec_hub.modeling import Word2VecModel

# Arm name: its description in the table and the picture. The first three are `build_classifier`'s modes.
ARMS = {
    "frozen": "word2vec frozen",
    "fine-tuned": "word2vec fine-tuned",
    "random": "random embeddings",
    "logistic": "mean word2vec + logistic regression",
    "classifier": "Word2VecForSequenceClassification",
}
# Marker and line style of each arm in the picture: arms whose accuracies coincide stay told apart.
ARM_STYLES = {
    "frozen": ("o", "-"),
    "fine-tuned": ("s", "--"),
    "random": ("^", ":"),
    "logistic": ("D", "-."),
    "classifier": ("v", (0, (5, 1, 1, 1))),
}


def balanced_subset(labels: Sequence[int], count: int, seed: int) -> list[int]:
    """`count` indices of `labels`, taken in turn from each label's texts in an order shuffled by `seed`, so that
    the labels are as evenly represented as the data allows (all indices when `count` exceeds them)."""
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    for indices in by_label.values():
        rng.shuffle(indices)
    in_turn = [index for row in zip_longest(*(by_label[label] for label in sorted(by_label))) for index in row]
    return [index for index in in_turn if index is not None][:count]


@dataclass
class LearningCurve:
    """`accuracies[arm][i][seed]`: the test accuracy of `arm` trained on `label_counts[i]` labelled texts."""

    label_counts: list[int]
    accuracies: dict[str, list[list[float]]]

    def mean_and_spread(self, arm: str) -> tuple[list[float], list[float]]:
        """Per label count: the mean accuracy over seeds and its standard deviation (0 with a single seed)."""
        runs = [torch.tensor(accuracies, dtype=torch.float64) for accuracies in self.accuracies[arm]]
        means = [run.mean().item() for run in runs]
        spreads = [run.std().item() if len(run) > 1 else 0.0 for run in runs]
        return means, spreads


def run_learning_curve(
    vectors: Word2VecModel,
    train: LabelledTexts,
    test: LabelledTexts,
    settings: CurveSettings,
    log: Callable[[str], None] = print,
) -> LearningCurve:
    """Every arm at every label count with `settings.seeds` seeds; `log` gets one line per label count and seed."""
    num_labels = len(train.label_names)
    label_counts = sorted(
        {len(train.texts) if count is None else min(count, len(train.texts)) for count in settings.label_counts}
    )
    train_inputs = encode_texts(vectors.tokenizer, train, settings.max_length)
    test_inputs = encode_texts(vectors.tokenizer, test, settings.max_length)
    train_features, test_features = mean_vectors(vectors, train.texts), mean_vectors(vectors, test.texts)
    train_tokens, test_tokens = tokenize(vectors.tokenizer, train.texts), tokenize(vectors.tokenizer, test.texts)
    accuracies = {arm: [[] for _ in label_counts] for arm in ARMS}
    for position, count in enumerate(label_counts):
        for seed in range(settings.seeds):
            started = time.perf_counter()
            subset = balanced_subset(train.labels, count, seed)
            for arm in ARMS:
                if arm == "logistic":
                    linear = fit_logistic_regression(train_features[subset], train_inputs.labels[subset], num_labels)
                    result = logistic_regression_accuracy(linear, test_features, test_inputs.labels)
                elif arm == "classifier":
                    # Our classifier at its defaults: the settings of the curve's transformers are not its own.
                    classifier_settings = ClassifierSettings(seed=seed).for_texts(len(subset))
                    classifier = classifier_from_vectors(vectors, train.label_names, classifier_settings)
                    subset_tokens = TokenizedTexts([train_tokens.ids[i] for i in subset], train_tokens.pad_token_id)
                    labels = [train.labels[i] for i in subset]
                    train_classifier(classifier, subset_tokens, labels, classifier_settings, vectors.embeddings.device)
                    result = (predict(classifier, test_tokens) == test_inputs.labels).float().mean().item()
                else:
                    torch.manual_seed(seed)
                    classifier = build_classifier(vectors, num_labels, arm, settings.max_length, settings.layers)
                    train_for_steps(
                        classifier,
                        train_inputs.subset(subset),
                        settings.steps,
                        settings.batch_size,
                        settings.learning_rate,
                        seed,
                    )
                    result = accuracy(classifier, test_inputs)
                accuracies[arm][position].append(result)
            results = "  ".join(f"{arm} {accuracies[arm][position][-1]:.3f}" for arm in ARMS)
            log(f"{count:>5} labelled, seed {seed}: {results}  ({time.perf_counter() - started:.0f} s)")
    return LearningCurve(label_counts, accuracies)


def format_table(curve: LearningCurve) -> str:
    """A Markdown table: one row per label count, one column per arm, mean ± standard deviation over seeds."""
    columns = {arm: curve.mean_and_spread(arm) for arm in ARMS}
    lines = [
        "| labelled texts | " + " | ".join(ARMS.values()) + " |",
        "|---:|" + "---:|" * len(ARMS),
    ]
    for position, count in enumerate(curve.label_counts):
        cells = [f"{means[position]:.3f} ± {spreads[position]:.3f}" for means, spreads in columns.values()]
        lines.append(f"| {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw_learning_curve(curve: LearningCurve, title: str = ""):
    """The matplotlib Figure of the curve: accuracy against labelled texts on a log axis, one line per arm (its own
    marker and line style) with its ± one standard deviation band, the legend below the axes. A Figure of its own,
    not pyplot's: the caller's backend and figures stay as they were (a notebook displays the Figure returned)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), dpi=100, layout="constrained")
    axes = figure.subplots()
    for arm, description in ARMS.items():
        means, spreads = curve.mean_and_spread(arm)
        low = [mean - spread for mean, spread in zip(means, spreads, strict=True)]
        high = [mean + spread for mean, spread in zip(means, spreads, strict=True)]
        marker, linestyle = ARM_STYLES[arm]
        (line,) = axes.plot(
            curve.label_counts, means, marker=marker, linestyle=linestyle, markerfacecolor="none", label=description
        )
        axes.fill_between(curve.label_counts, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set_xscale("log")
    axes.set_xticks(curve.label_counts, [str(count) for count in curve.label_counts])
    axes.minorticks_off()
    axes.set_xlabel("labelled training texts (log scale)")
    axes.set_ylabel("test accuracy")
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", ncols=2)
    if title:
        axes.set_title(title)
    return figure


def plot_learning_curve(curve: LearningCurve, path: str | Path, title: str = "") -> None:
    """The curve (`draw_learning_curve`) saved as PNG. The file appears complete or not at all."""
    figure = draw_learning_curve(curve, title)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        figure.savefig(partial, format="png")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
