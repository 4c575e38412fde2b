"""Score a model on word-similarity and analogy benchmarks (the same numbers as gensim's evaluate_* methods).

word2vec evaluate word2vec-ptb              # WordSim-353 and the Google analogies from the shared data
word2vec evaluate word2vec-corpus           # a model whose card says language zh: wordsim-240, CA8 and CWE
word2vec evaluate MODEL --wordsim a.tsv b.tsv --analogy questions-words.txt --restrict-vocab 30000
word2vec evaluate MODEL --write-card        # store the results in the model card
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from word2vec_hub.argument_checks import check_file, check_model
from word2vec_hub.shared_data import ENVIRONMENT_VARIABLE

DEFAULT_WORDSIM = "data/eval/wordsim353.tsv"
DEFAULT_ANALOGY = "data/eval/questions-words.txt"
# The default benchmarks of a model whose card gives its language (see data/zh/README.md in the shared data).
BENCHMARKS_BY_LANGUAGE = {
    "zh": (
        ["data/zh/wordsim240.txt"],
        ["data/zh/ca8_morphological.txt", "data/zh/ca8_semantic.txt", "data/zh/cwe_analogy.txt"],
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL", help="model folder, or namespace/name on the Hub")
    parser.add_argument("--wordsim", nargs="+", type=Path, help="word-pair files: word<TAB>word<TAB>score")
    parser.add_argument(
        "--analogy", nargs="+", type=Path, help="analogy files in the Google format (': section' lines)"
    )
    parser.add_argument("--restrict-vocab", type=int, default=30_000, help="search the N most frequent words")
    parser.add_argument("--device", default="cpu", help="device to compute on")
    parser.add_argument("--write-card", action="store_true", help="store results in evaluation.json and README.md")
    parser.add_argument(
        "--shared", metavar="DIR",
        help=f"the shared data folder holding the default benchmarks (default: ${ENVIRONMENT_VARIABLE}, or ../shared "
        "beside the clone)",
    )  # fmt: skip


def check_arguments(options: argparse.Namespace) -> None:
    """The model and the benchmark files, resolved and checked once: the job reads what this keeps
    (options.benchmarks)."""
    check_model(options.model_dir, "the model")
    options.benchmarks = benchmark_files(options)
    for path in [path for paths in options.benchmarks for path in paths]:
        check_file(path, "benchmark file")


def benchmark_files(options: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """The word-pair and analogy files: those given, else the defaults for the language of the model's card (a
    local folder's; a Hub model gets the English ones), from the shared data (`SharedDataError` if missing there)."""
    from word2vec_hub.folders.checks import card_language
    from word2vec_hub.shared_data import shared_file

    default_wordsim, default_analogy = BENCHMARKS_BY_LANGUAGE.get(
        card_language(Path(options.model_dir)), ([DEFAULT_WORDSIM], [DEFAULT_ANALOGY])
    )
    wordsim = options.wordsim or [shared_file(path, options.shared) for path in default_wordsim]
    analogy = options.analogy or [shared_file(path, options.shared) for path in default_analogy]
    return wordsim, analogy


def run(options: argparse.Namespace) -> int:
    from word2vec_hub.evaluation.benchmarks import EvaluationFileError, evaluate_word_analogies, evaluate_word_pairs
    from word2vec_hub.folders.model_card import EVALUATION_FILE, write_evaluation
    from word2vec_hub.modeling import Word2VecModel

    wordsim, analogy = options.benchmarks
    try:
        model = Word2VecModel.from_pretrained(options.model_dir).to(options.device)
        similarity = [evaluate_word_pairs(model, path, options.restrict_vocab) for path in wordsim]
        analogies = [evaluate_word_analogies(model, path, options.restrict_vocab) for path in analogy]
    except (EvaluationFileError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    print(f"{'benchmark':<32} {'score':>8}  details")
    for result in similarity:
        print(
            f"{result.name:<32} {result.spearman:>8.4f}  Spearman; Pearson {result.pearson:.4f}; "
            f"{result.pairs} pairs, {result.skipped_share:.1%} skipped as unknown"
        )
    for result in analogies:
        for name, (right, wrong) in result.sections.items():
            if right + wrong:
                print(f"  {name:<30} {right / (right + wrong):>8.4f}  {right}/{right + wrong}")
        print(
            f"{result.name:<32} {result.accuracy:>8.4f}  3CosAdd accuracy over the top {options.restrict_vocab:,} "
            f"words; {result.correct + result.incorrect} questions, {result.skipped} skipped as unknown"
        )
    if options.write_card:
        records = [
            {"task": "word-similarity", "dataset": r.name, "metric": "spearmanr", "value": round(r.spearman, 4)}
            for r in similarity
        ]
        records += [
            {"task": "word-analogy", "dataset": r.name, "metric": "accuracy", "value": round(r.accuracy, 4)}
            for r in analogies
        ]
        folder = Path(options.model_dir)
        write_evaluation(model, folder, records)
        print(f"results stored in {folder / EVALUATION_FILE} and the model card")
    return 0
