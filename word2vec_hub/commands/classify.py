"""Word2vec vectors as the frozen input layer of a transformer: BBC News topic classification, twice.

  word2vec train                                  # makes word2vec-ptb (or pass any model folder)
  word2vec classify --model word2vec-ptb

Trains a small BertForSequenceClassification (hidden size = the vectors' dimension, our tokenizer) once with the
word2vec vectors frozen as its word embeddings and once with random trainable embeddings, prints both test
accuracies and saves the loss curves to a PNG.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from word2vec_hub.shared_data import ENVIRONMENT_VARIABLE

DEFAULT_DATA = "data/bbc-news"


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
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=256, help="tokens kept of each article")
    parser.add_argument("--limit", type=int, help="use only the first N training and test articles")
    parser.add_argument("--plot", default="bbc_loss_curves.png", help="where to save the loss curves")


def run(options: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from word2vec_hub.downstream.classifier import (
        build_classifier,
        plot_losses,
        read_labelled_jsonl,
        train_classifier,
    )
    from word2vec_hub.modeling import Word2VecModel
    from word2vec_hub.shared_data import shared_file

    try:
        data = options.data or shared_file(DEFAULT_DATA, options.shared)
        for name in ("train.jsonl", "test.jsonl"):
            if not (data / name).is_file():
                raise FileNotFoundError(f"{data / name} not found (BBC News is in the shared data, {DEFAULT_DATA})")
        vectors = Word2VecModel.from_pretrained(options.model)
        tokenizer = AutoTokenizer.from_pretrained(options.model)
    except OSError as error:
        hint = " (run `word2vec train` first)" if options.model == "word2vec-ptb" else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return 2
    train = read_labelled_jsonl(data / "train.jsonl", limit=options.limit)
    test = read_labelled_jsonl(data / "test.jsonl", train.label_names, limit=options.limit)
    print(f"{len(train.texts)} training and {len(test.texts)} test articles, labels {', '.join(train.label_names)}")
    runs = []
    for frozen in (True, False):
        name = "frozen word2vec embeddings" if frozen else "random trainable embeddings"
        classifier = build_classifier(vectors, len(train.label_names), frozen, options.max_length)
        run_result = train_classifier(
            classifier, tokenizer, train, test, name, epochs=options.epochs, max_length=options.max_length
        )
        print(f"{name}: test accuracy {run_result.test_accuracy:.3f}, final training loss {run_result.losses[-1]:.3f}")
        runs.append(run_result)
    plot_losses(runs, options.plot)
    print(f"loss curves saved to {options.plot}")
    return 0
