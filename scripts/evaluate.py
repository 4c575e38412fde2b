"""Score a model on word-similarity and analogy benchmarks (the same numbers as gensim's evaluate_* methods).

python scripts/evaluate.py word2vec-ptb                       # WordSim-353 and Google analogies from ../shared
python scripts/evaluate.py MODEL --wordsim a.tsv b.tsv --analogy questions-words.txt --restrict-vocab 30000
python scripts/evaluate.py MODEL --write-card                 # store the results in the model card
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluation import EvaluationFileError, evaluate_word_analogies, evaluate_word_pairs
from modeling import Word2VecModel
from sharing.model_card import EVALUATION_FILE, write_model_card
from training.cli import run_command

SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "eval"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--wordsim", nargs="+", type=Path, help="word-pair files: word<TAB>word<TAB>score")
    parser.add_argument("--analogy", type=Path, help="analogy file in the Google format (': section' lines)")
    parser.add_argument("--restrict-vocab", type=int, default=30_000, help="search the N most frequent words")
    parser.add_argument("--device", default="cpu", help="device to compute on")
    parser.add_argument("--write-card", action="store_true", help="store results in evaluation.json and README.md")
    options = parser.parse_args(argv)
    wordsim = options.wordsim or [SHARED_EVAL / "wordsim353.tsv"]
    analogy = options.analogy or SHARED_EVAL / "questions-words.txt"
    try:
        for path in [*wordsim, analogy]:
            if not path.is_file():
                raise EvaluationFileError(f"benchmark file not found: {path}")
        model = Word2VecModel.from_pretrained(options.model_dir).to(options.device)
        similarity = [evaluate_word_pairs(model, path, options.restrict_vocab) for path in wordsim]
        analogies = evaluate_word_analogies(model, analogy, options.restrict_vocab)
    except (EvaluationFileError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    print(f"{'benchmark':<32} {'score':>8}  details")
    for result in similarity:
        print(
            f"{result.name:<32} {result.spearman:>8.4f}  Spearman; Pearson {result.pearson:.4f}; "
            f"{result.pairs} pairs, {result.skipped_share:.1%} skipped as unknown"
        )
    for name, (right, wrong) in analogies.sections.items():
        if right + wrong:
            print(f"  {name:<30} {right / (right + wrong):>8.4f}  {right}/{right + wrong}")
    print(
        f"{analogies.name:<32} {analogies.accuracy:>8.4f}  3CosAdd accuracy over the top {options.restrict_vocab:,} "
        f"words; {analogies.correct + analogies.incorrect} questions, {analogies.skipped} skipped as unknown"
    )
    if options.write_card:
        records = [
            {"task": "word-similarity", "dataset": r.name, "metric": "spearmanr", "value": round(r.spearman, 4)}
            for r in similarity
        ]
        records.append(
            {
                "task": "word-analogy",
                "dataset": analogies.name,
                "metric": "accuracy",
                "value": round(analogies.accuracy, 4),
            }
        )
        folder = Path(options.model_dir)
        (folder / EVALUATION_FILE).write_text(json.dumps(records, indent=2) + "\n")
        write_model_card(model, folder)
        print(f"results stored in {folder / EVALUATION_FILE} and the model card")
    return 0


if __name__ == "__main__":
    run_command(main)
