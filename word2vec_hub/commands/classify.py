"""Train a text classifier over word2vec vectors, or draw the learning curve of the vectors' uses.

  word2vec classify --model word2vec-ptb --train train.jsonl --test test.jsonl --output my-classifier
  word2vec push my-classifier your-name/my-classifier
  word2vec classify --model word2vec-ptb --learning-curve          # BBC News: 25 ... 1,700 labelled articles

The default job trains one Word2VecForSequenceClassification (the mean of the text's word vectors, frozen unless
--fine-tune, and, where there are 1,000 training texts or more, of trainable hashed vectors of its word bigrams and
words, into a linear layer; fastText's supervised model over pretrained vectors) on the {"label", "text"} lines of
--train, prints its accuracy on --test and writes the folder: `pipeline("text-classification",
model=FOLDER, trust_remote_code=True)` serves it, `word2vec push` shares it. Without --train and --test it uses
BBC News from the shared data.

--learning-curve trains, for each number of labelled training articles and each seed (a balanced subset, an
initialisation and a batch order), a small BertForSequenceClassification (hidden size = the vectors' dimension,
our tokenizer) three times with the same settings and number of steps: its word table the word2vec vectors frozen,
the vectors fine-tuned, or random and trainable; fits a logistic regression on the mean word vector of each
article; and trains our classifier with its default settings. Prints the test accuracy of each arm (mean ±
standard deviation over seeds) and saves the curve as a PNG.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from word2vec_hub.argument_checks import UsageError, check_file, check_model, check_parent
from word2vec_hub.downstream.classifier_settings import ClassifierSettings
from word2vec_hub.downstream.curve_settings import QUICK_SETTINGS, CurveSettings, parse_label_count, parse_positive
from word2vec_hub.shared_data import ENVIRONMENT_VARIABLE

DEFAULT_DATA = "data/bbc-news"
DEFAULTS = CurveSettings()
CLASSIFIER_DEFAULTS = ClassifierSettings()


def parse_learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a learning rate is a number above 0; got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="word2vec-ptb", help="word2vec model folder (or Hub id): the vectors")
    parser.add_argument("--train", type=Path, help='{"label": ..., "text": ...} lines to train on')
    parser.add_argument("--test", type=Path, help="lines of the same form to measure the accuracy on")
    parser.add_argument("--output", help="the classifier's folder (default: MODEL-classifier beside the model)")
    parser.add_argument(
        "--num-labels", type=parse_positive, help="the number of labels expected in --train (checked, not needed)"
    )
    parser.add_argument(
        "--epochs", type=parse_positive, default=CLASSIFIER_DEFAULTS.epochs, help="passes over the training texts"
    )
    parser.add_argument(
        "--learning-rate", type=parse_learning_rate, default=CLASSIFIER_DEFAULTS.learning_rate,
        help="Adagrad's learning rate at the start (it decays linearly to 0)",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=parse_positive, default=CLASSIFIER_DEFAULTS.batch_size)
    parser.add_argument(
        "--word-bigrams", type=int, default=CLASSIFIER_DEFAULTS.word_bigram_buckets, metavar="BUCKETS",
        help="rows of hashed word-bigram vectors, as fastText's -wordNgrams 2, used where --train has at least "
        f"{CLASSIFIER_DEFAULTS.bigram_min_texts} texts (0: words only)",
    )  # fmt: skip
    parser.add_argument(
        "--hashed-words", action=argparse.BooleanOptionalAction, default=CLASSIFIER_DEFAULTS.hashed_words,
        help="with the bigrams, also a trainable vector for each word, hashed into the same buckets, beside its "
        "pretrained one (which stays as it is unless --fine-tune)",
    )  # fmt: skip
    parser.add_argument(
        "--hidden-size",
        type=int,
        default=CLASSIFIER_DEFAULTS.hidden_size,
        help="a hidden layer of this width (0: none)",
    )
    parser.add_argument("--fine-tune", action="store_true", help="train the word vectors too (default: frozen)")
    parser.add_argument("--seed", type=int, default=CLASSIFIER_DEFAULTS.seed)
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    parser.add_argument(
        "--learning-curve", action="store_true",
        help="draw the learning curve on BBC News instead of training one classifier (the options below)",
    )  # fmt: skip
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
        help="tokens kept of each text: by the classifier (default: whole texts) and, with --learning-curve, by "
        f"the transformer arms (default: {DEFAULTS.max_length})",
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


def classifier_settings_from(options: argparse.Namespace) -> ClassifierSettings:
    return ClassifierSettings(
        epochs=options.epochs,
        batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        word_bigram_buckets=options.word_bigrams,
        hashed_words=options.hashed_words,
        hidden_size=options.hidden_size,
        freeze_embeddings=not options.fine_tune,
        max_length=options.max_length,
        seed=options.seed,
    )


def data_files(options: argparse.Namespace) -> tuple[Path, Path | None]:
    """--train and --test, or train.jsonl and test.jsonl of --data or of the shared data's BBC News."""
    if options.train:
        return options.train, options.test
    if options.test:
        raise UsageError("--test needs --train: the classifier is trained on --train and tested on --test")
    from word2vec_hub.shared_data import shared_file

    data = options.data or shared_file(DEFAULT_DATA, options.shared)
    return data / "train.jsonl", data / "test.jsonl"


def default_output(options: argparse.Namespace) -> Path:
    return Path(f"{Path(options.model).name}-classifier")


def check_arguments(options: argparse.Namespace) -> None:
    try:
        check_model(options.model, "--model")
    except UsageError as error:
        hint = " (run `word2vec train` first to make it)" if options.model == "word2vec-ptb" else ""
        raise UsageError(f"{error}{hint}") from None
    model = Path(options.model).expanduser()
    if model.is_dir() and not (model / "model.safetensors").is_file():
        raise UsageError(
            f"--model {options.model}: the folder has no model.safetensors, so no vectors; pass a folder that "
            "`word2vec train` or `word2vec convert` wrote"
        )
    if options.learning_curve:
        check_parent(options.plot, "--plot")
        # Resolved and checked here, once: the job reads what this keeps (options.data_dir).
        from word2vec_hub.shared_data import shared_file

        options.data_dir = options.data or shared_file(DEFAULT_DATA, options.shared)
        for name in ("train.jsonl", "test.jsonl"):
            check_file(options.data_dir / name, "--data" if options.data else "BBC News in the shared data:")
        return
    check_classifier_arguments(options)


def check_classifier_arguments(options: argparse.Namespace) -> None:
    """The data read and checked (labels, empty texts, --num-labels) and the output folder, before torch. The job
    trains on what this keeps (options.train_data, options.test_data, options.output_dir): the files are read once."""
    from word2vec_hub.downstream.labelled_texts import read_classifier_data
    from word2vec_hub.folders.checks import check_output_dir

    for name in ("word_bigrams", "hidden_size"):
        if getattr(options, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be 0 (none) or more, got {getattr(options, name)}")
    options.train_file, options.test_file = data_files(options)
    check_file(options.train_file, "--train")
    if options.test_file is not None:
        check_file(options.test_file, "--test")
    options.train_data, options.test_data = read_classifier_data(
        options.train_file, options.test_file, options.num_labels
    )
    options.output_dir = check_output_dir(options.output or default_output(options))


def run(options: argparse.Namespace) -> int:
    if options.learning_curve:
        return run_learning_curve_job(options)
    return run_classifier_job(options)


def run_classifier_job(options: argparse.Namespace) -> int:
    from transformers import PreTrainedTokenizerFast

    from word2vec_hub.downstream.text_classifier import (
        classifier_accuracy,
        describe_settings,
        new_classifier,
        tokenize,
        train_classifier,
    )
    from word2vec_hub.folders.checks import OutputError
    from word2vec_hub.folders.classifier_folder import ClassifierTraining, save_classifier_folder
    from word2vec_hub.training.devices import resolve_device

    train_file, test_file, output = options.train_file, options.test_file, options.output_dir
    train, test = options.train_data, options.test_data
    try:
        device = resolve_device(options.device)
        settings = classifier_settings_from(options).for_texts(len(train.texts))
        tokenizer = PreTrainedTokenizerFast.from_pretrained(options.model)
        model = new_classifier(options.model, train.label_names, settings)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{len(train.texts):,} training texts, labels {', '.join(train.label_names)}; "
        f"{describe_settings(settings)}; device {device}"
    )
    train_classifier(
        model, tokenize(tokenizer, train.texts, settings.max_length), train.labels, settings, device, print
    )
    accuracy = None if test is None else classifier_accuracy(model, tokenizer, test, settings.max_length)
    if accuracy is not None:
        print(f"accuracy on {test_file}: {accuracy:.4f} ({len(test.texts):,} texts)")
    training = ClassifierTraining(
        vectors=str(options.model),
        train_data=data_name(train_file),
        train_count=len(train.texts),
        settings=describe_settings(settings),
        test_data=None if test_file is None else data_name(test_file),
        test_count=0 if test is None else len(test.texts),
        accuracy=accuracy,
        example=train.texts[0][:80],
    )
    try:
        save_classifier_folder(model.cpu(), tokenizer, output, training)
    except (OutputError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"classifier saved to {output}")
    return 0


def run_learning_curve_job(options: argparse.Namespace) -> int:
    from word2vec_hub.downstream.labelled_texts import read_labelled_jsonl
    from word2vec_hub.downstream.learning_curve import format_table, plot_learning_curve, run_learning_curve
    from word2vec_hub.modeling import Word2VecModel

    settings = settings_from(options)
    data = options.data_dir
    try:
        train = read_labelled_jsonl(data / "train.jsonl", limit=options.limit)
        test = read_labelled_jsonl(data / "test.jsonl", train.label_names, limit=options.limit)
        vectors = Word2VecModel.from_pretrained(options.model)
        if vectors.tokenizer is None:
            raise FileNotFoundError(f"{options.model} has no tokenizer (tokenizer.json); save the model with it")
    except (OSError, ValueError) as error:
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


def data_name(path: Path) -> str:
    """How the card names a data file: its name, with the folder that holds it when there is one."""
    return path.name if path.parent == Path() else f"{path.parent.name}/{path.name}"
