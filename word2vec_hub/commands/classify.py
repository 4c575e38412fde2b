"""Learning curve on BBC News topics: word2vec vectors frozen, fine-tuned, random embeddings, mean vectors + LR.

  word2vec train                                  # makes word2vec-ptb (or pass any model folder)
  word2vec classify --model word2vec-ptb          # 25, 50, 100, 200, 400 and all 1,700 labelled articles
  word2vec classify --model MODEL --quick --limit 40

For each number of labelled training articles and each seed (a balanced subset, an initialisation and a batch
order), trains a small BertForSequenceClassification (hidden size = the vectors' dimension, our tokenizer) three
times with the same settings and number of steps: its word table the word2vec vectors frozen, the vectors
fine-tuned, or random and trainable; and fits a logistic regression on the mean word vector of each article.
Prints the test accuracy of each arm (mean ± standard deviation over seeds) and saves the curve as a PNG.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from word2vec_hub.argument_checks import UsageError, check_file, check_model, check_parent
from word2vec_hub.downstream.curve_settings import QUICK_SETTINGS, CurveSettings, parse_label_count, parse_positive
from word2vec_hub.shared_data import ENVIRONMENT_VARIABLE

DEFAULT_DATA = "data/bbc-news"
DEFAULTS = CurveSettings()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="word2vec-ptb", help="word2vec model folder")
    parser.add_argument(
        "--data", type=Path,
        help=f"folder with train.jsonl and test.jsonl (default: {DEFAULT_DATA} of the shared data folder)",
    )  # fmt: skip
    parser.add_argument(
        "--shared", metavar="DIR",
        help=f"the shared data folder (default: ${ENVIRONMENT_VARIABLE}, or ../shared beside the clone)",
    )  # fmt: skip
    counts = " ".join("all" if count is None else str(count) for count in DEFAULTS.label_counts)
    parser.add_argument(
        "--label-counts", nargs="+", type=parse_label_count, metavar="N",
        help=f"numbers of labelled training articles, or 'all' (default: {counts})",
    )  # fmt: skip
    parser.add_argument(
        "--seeds", type=parse_positive, help=f"runs per label count, each its own subset (default: {DEFAULTS.seeds})"
    )
    parser.add_argument(
        "--max-length", type=parse_positive,
        help=f"tokens kept of each article by the transformer (default: {DEFAULTS.max_length})",
    )  # fmt: skip
    parser.add_argument("--limit", type=parse_positive, help="use only the first N training and test articles")
    parser.add_argument(
        "--quick", action="store_true",
        help=f"a check in seconds: label counts {' '.join(map(str, QUICK_SETTINGS.label_counts))}, "
        f"{QUICK_SETTINGS.seeds} seeds, {QUICK_SETTINGS.steps} steps, {QUICK_SETTINGS.max_length} tokens",
    )  # fmt: skip
    parser.add_argument("--plot", type=Path, default=Path("bbc_learning_curve.png"), help="where to save the curve")


def settings_from(options: argparse.Namespace) -> CurveSettings:
    """The fixed settings (or the quick ones), with the label counts, seeds and length the options give."""
    given = {"label_counts": options.label_counts, "seeds": options.seeds, "max_length": options.max_length}
    return replace(QUICK_SETTINGS if options.quick else DEFAULTS, **{k: v for k, v in given.items() if v is not None})


def check_arguments(options: argparse.Namespace) -> None:
    try:
        check_model(options.model, "--model")
    except UsageError as error:
        hint = " (run `word2vec train` first to make it)" if options.model == "word2vec-ptb" else ""
        raise UsageError(f"{error}{hint}") from None
    check_parent(options.plot, "--plot")
    if options.data:
        for name in ("train.jsonl", "test.jsonl"):
            check_file(options.data / name, "--data")


def run(options: argparse.Namespace) -> int:
    from word2vec_hub.downstream.classifier import read_labelled_jsonl
    from word2vec_hub.downstream.learning_curve import format_table, plot_learning_curve, run_learning_curve
    from word2vec_hub.modeling import Word2VecModel
    from word2vec_hub.shared_data import SharedDataError, shared_file

    settings = settings_from(options)
    try:
        data = options.data or shared_file(DEFAULT_DATA, options.shared)
        for name in ("train.jsonl", "test.jsonl"):
            if not (data / name).is_file():
                raise FileNotFoundError(f"{data / name} not found (BBC News is in the shared data, {DEFAULT_DATA})")
        train = read_labelled_jsonl(data / "train.jsonl", limit=options.limit)
        test = read_labelled_jsonl(data / "test.jsonl", train.label_names, limit=options.limit)
        vectors = Word2VecModel.from_pretrained(options.model)
        if vectors.tokenizer is None:
            raise FileNotFoundError(f"{options.model} has no tokenizer (tokenizer.json); save the model with it")
    except (SharedDataError, OSError, ValueError) as error:
        hint = (
            " (run `word2vec train` first)" if options.model == "word2vec-ptb" and "word2vec-ptb" in str(error) else ""
        )
        print(f"error: {error}{hint}", file=sys.stderr)
        return 2
    print(
        f"{len(train.texts)} training and {len(test.texts)} test articles, labels {', '.join(train.label_names)}; "
        f"each transformer trains {settings.steps} steps of {settings.batch_size} articles (AdamW, learning rate "
        f"{settings.learning_rate:g}) on their first {settings.max_length} tokens"
    )
    curve = run_learning_curve(vectors, train, test, settings)
    print(format_table(curve))
    plot_learning_curve(curve, options.plot, title=f"BBC News topics, vectors from {Path(options.model).name}")
    print(f"learning curve saved to {options.plot}")
    return 0
