"""Which character n-gram lengths suit Chinese: `word2vec train --subwords` on the Chinese corpus, one run per
(`--min-n`, `--max-n`), beside the same model without subwords.

    python benchmarks/chinese_subwords.py                       # 100,000 lines of ../shared/data/zh/corpus.txt.gz
    python benchmarks/chinese_subwords.py --lengths 1-2 3-6     # only these

Our tokenizer segments the raw text (as `word2vec train` does by default). So that unseen words are measured, a
quarter of the wordsim-240 words are hidden: every line holding one of them is left out of the training text
(the hidden words are the ones in the fewest lines, so that little text is lost; the script prints how much).
Printed per run: wordsim-240 Spearman over all pairs (a word the model has no vector for scores 0, as our plain
model's unknown words do), over the pairs with a hidden word and over the rest; CA8 morphological and semantic
analogy accuracy (3CosAdd over the 300,000 most frequent words); seconds.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import tempfile
import time
from pathlib import Path

from harness import add_skipgram_arguments, exit_if_missing

from word2vec_hub.shared_data import shared_dir

ZH = shared_dir() / "data" / "zh"
RESTRICT_VOCAB = 300_000


def hidden_words(lines: list[str], words: list[str], share: float) -> set[str]:
    """The `share` of `words` found in the fewest lines (ties by the word, so the choice is fixed)."""
    lines_with = {word: sum(word in line for line in lines) for word in words}
    return set(sorted(words, key=lambda word: (lines_with[word], word))[: round(len(words) * share)])


def spearman_over(pairs: list[tuple[str, str, float]], similarity) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr([gold for *_, gold in pairs], [similarity(a, b) for a, b, _ in pairs]).statistic)


def evaluate(model, pairs: list[tuple[str, str, float]], hidden: set[str]) -> dict:
    def similarity(a: str, b: str) -> float:
        try:
            return float(model.similarity(a, b))
        except KeyError:
            return 0.0

    with_hidden = [pair for pair in pairs if pair[0] in hidden or pair[1] in hidden]
    others = [pair for pair in pairs if pair not in with_hidden]
    analogies = {
        name: model.evaluate_word_analogies(ZH / f"{name}.txt", restrict_vocab=RESTRICT_VOCAB).accuracy
        for name in ("ca8_morphological", "ca8_semantic")
    }
    return {
        "wordsim240 all": spearman_over(pairs, similarity),
        "hidden": spearman_over(with_hidden, similarity),
        "seen": spearman_over(others, similarity),
        **analogies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(ZH / "corpus.txt.gz"))
    parser.add_argument("--lines", type=int, default=100_000, help="first lines of the corpus to train on")
    parser.add_argument("--hide", type=float, default=0.25, help="share of wordsim-240's words to hide")
    parser.add_argument("--lengths", nargs="+", default=["1-2", "1-3", "1-4", "2-4", "3-6"], help="MIN-MAX n-grams")
    parser.add_argument("--bucket", type=int, default=2_000_000)
    add_skipgram_arguments(parser, workers=0, workers_help="training threads (0: every core)")
    options = parser.parse_args()
    exit_if_missing([Path(options.corpus), ZH / "wordsim240.txt", ZH / "ca8_morphological.txt"])

    from word2vec_hub.training.arguments import TrainingArguments
    from word2vec_hub.training.corpus import TextCorpus
    from word2vec_hub.training.trainer import train_word2vec

    with gzip.open(options.corpus, "rt", encoding="utf-8") as source:
        lines = list(itertools.islice(source, options.lines))
    pairs = []
    for row in (ZH / "wordsim240.txt").read_text(encoding="utf-8").splitlines():
        if row.strip():
            a, b, score = row.split("\t")[:3]
            pairs.append((a, b, float(score)))
    hidden = hidden_words(lines, sorted({word for a, b, _ in pairs for word in (a, b)}), options.hide)
    kept = [line for line in lines if not any(word in line for word in hidden)]
    print(
        f"{len(kept):,} of {len(lines):,} lines kept ({sum(map(len, kept)) / sum(map(len, lines)):.1%} of the "
        f"characters); {len(hidden)} words hidden, in {sum(a in hidden or b in hidden for a, b, _ in pairs)} of "
        f"{len(pairs)} pairs",
        flush=True,
    )
    runs = [("no subwords", None)] + [(f"subwords {lengths}", tuple(map(int, lengths.split("-")))) for lengths in
                                      options.lengths]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="chinese-subwords-") as folder:
        corpus = Path(folder) / "corpus.txt"
        corpus.write_text("".join(kept), encoding="utf-8")
        for name, lengths in runs:
            subwords = {} if lengths is None else {"subwords": True, "min_n": lengths[0], "max_n": lengths[1]}
            args = TrainingArguments(
                dim=options.dim, window=options.window, negative=options.negative, sample=options.sample,
                min_count=options.min_count, epochs=options.epochs, workers=options.workers, device="cpu",
                bucket=options.bucket, progress=False, **subwords,
            )  # fmt: skip
            started = time.perf_counter()
            model = train_word2vec(TextCorpus.from_files([corpus]), args).model
            seconds = time.perf_counter() - started
            scores = evaluate(model, pairs, hidden)
            print(json.dumps({"run": name, **{key: round(value, 3) for key, value in scores.items()},
                              "seconds": round(seconds, 1)}, ensure_ascii=False), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
