"""Word2vec vectors as the frozen input layer of a transformer: BBC News topic classification, twice.

    python scripts/train.py                         # makes word2vec-ptb (or pass any model folder)
    python scripts/classify_bbc.py --model word2vec-ptb

Trains a small BertForSequenceClassification (hidden size = the vectors' dimension, our tokenizer) once with the
word2vec vectors frozen as its word embeddings and once with random trainable embeddings, prints both test
accuracies and saves the loss curves to a PNG.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from transformers import AutoTokenizer

from downstream import build_classifier, plot_losses, read_labelled_jsonl, train_classifier
from modeling import Word2VecModel
from training.cli import run_command

SHARED_BBC = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "bbc-news"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="word2vec-ptb", help="word2vec model folder")
    parser.add_argument("--data", type=Path, default=SHARED_BBC, help="folder with train.jsonl and test.jsonl")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=256, help="tokens kept of each article")
    parser.add_argument("--limit", type=int, help="use only the first N training and test articles")
    parser.add_argument("--plot", default="bbc_loss_curves.png", help="where to save the loss curves")
    options = parser.parse_args(argv)
    try:
        for name in ("train.jsonl", "test.jsonl"):
            if not (options.data / name).is_file():
                raise FileNotFoundError(f"{options.data / name} not found (BBC News from ../shared/data/bbc-news)")
        vectors = Word2VecModel.from_pretrained(options.model)
        tokenizer = AutoTokenizer.from_pretrained(options.model)
    except OSError as error:
        hint = " (run python scripts/train.py first)" if options.model == "word2vec-ptb" else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return 2
    train = read_labelled_jsonl(options.data / "train.jsonl", limit=options.limit)
    test = read_labelled_jsonl(options.data / "test.jsonl", train.label_names, limit=options.limit)
    print(f"{len(train.texts)} training and {len(test.texts)} test articles, labels {', '.join(train.label_names)}")
    runs = []
    for frozen in (True, False):
        name = "frozen word2vec embeddings" if frozen else "random trainable embeddings"
        classifier = build_classifier(vectors, len(train.label_names), frozen, options.max_length)
        run = train_classifier(
            classifier, tokenizer, train, test, name, epochs=options.epochs, max_length=options.max_length
        )
        print(f"{name}: test accuracy {run.test_accuracy:.3f}, final training loss {run.losses[-1]:.3f}")
        runs.append(run)
    plot_losses(runs, options.plot)
    print(f"loss curves saved to {options.plot}")
    return 0


if __name__ == "__main__":
    run_command(main)
