"""Chinese word vectors from unsegmented text: this project against jieba + gensim, in one run, on the same corpus.

    python benchmarks/chinese.py                    # ../shared/data/zh/corpus.txt.gz (27.5M CJK characters)
    python benchmarks/chinese.py --max-lines 40000  # a slice, for trying things out
    python benchmarks/chinese.py --word-discovery corpus   # ours without jieba

Ours reads the raw text and segments it with the tokenizer it trains (words from jieba's dictionary by default, see
tokenization/segmentation.py); the peer segments the text with jieba (default mode, HMM on, in `--workers`
processes), writes it out with spaces and trains gensim's skip-gram on that file. Same hyperparameters, each in a
subprocess of its own; ours twice by default, with the decay gensim's corpus_file mode trains with (our default) and
with word2vec's learning-rate decay (see --lr-schedule in the README). Printed: seconds segmenting (ours:
reading, vocabulary and encoding) and training, end-to-end words/s (corpus words x epochs over all of it), the CA8
morphological and semantic, CWE analogy accuracies (3CosAdd, gensim's evaluate_word_analogies, over the 300,000
most frequent words) with the questions answered, wordsim-240 Spearman with the pairs skipped, and how well our
segmentation of a sample of lines agrees with jieba's (precision, recall and F1 of word boundaries inside runs of
Chinese characters); then nearest words of a few probes.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

from harness import add_skipgram_arguments, exit_if_missing, run_as_child, run_child

from word2vec_hub.shared_data import shared_dir
from word2vec_hub.training.arguments import LR_SCHEDULES, TrainingArguments

ZH = shared_dir() / "data" / "zh"
ANALOGY_SETS = ("ca8_morphological", "ca8_semantic", "cwe_analogy")
WORDSIM = "wordsim240"
RESTRICT_VOCAB = 300_000
PROBES = ("中国", "经济", "电脑", "医生")
AGREEMENT_LINES = 3000


def run_ours(corpus: str, options: dict) -> dict:
    from transformers import AutoTokenizer

    from word2vec_hub.evaluation.benchmarks import evaluate_word_analogies, evaluate_word_pairs
    from word2vec_hub.folders.model_folder import save_model_folder
    from word2vec_hub.training.corpus import TextCorpus
    from word2vec_hub.training.trainer import train_word2vec

    args = TrainingArguments(
        dim=options["dim"], window=options["window"], negative=options["negative"], sample=options["sample"],
        min_count=options["min_count"], epochs=options["epochs"], workers=options["workers"], device="cpu",
        word_discovery=options["word_discovery"], lr_schedule=options["lr_schedule"], progress=False,
    )  # fmt: skip
    started = time.perf_counter()
    result = train_word2vec(TextCorpus.from_files([corpus]), args)
    seconds = time.perf_counter() - started
    model = result.model
    folder = Path(options["folder"]) / "ours"
    save_model_folder(model, result.tokenizer, folder)
    # The segmentation users get: the saved tokenizer.json, loaded as any transformers user loads it.
    tokenizer = AutoTokenizer.from_pretrained(folder)
    scores = {
        name: _analogy_row(evaluate_word_analogies(model, ZH / f"{name}.txt", RESTRICT_VOCAB)) for name in ANALOGY_SETS
    }
    similarity = evaluate_word_pairs(model, ZH / f"{WORDSIM}.txt", RESTRICT_VOCAB)
    return {
        "name": "word2vec-hub"
        if args.lr_schedule == TrainingArguments().lr_schedule
        else f"ours {args.lr_schedule}-lr",
        "segmenting": result.phases["reading"] + result.phases["vocabulary and encoding"],
        "training": result.phases["training"],
        "seconds": seconds,
        "words": model.config.corpus_word_count,
        "vocabulary": model.config.vocab_size - 2,
        **scores,
        WORDSIM: [similarity.spearman, similarity.pairs, similarity.skipped],
        "neighbours": {word: model.most_similar(word, topn=5) if word in model else [] for word in PROBES},
        "agreement": segmentation_agreement(corpus, tokenizer.tokenize),
        "language": result.language,
    }


def _analogy_row(result) -> list:
    return [result.accuracy, result.correct + result.incorrect, result.skipped]


def _jieba_cut(lines: list[str]) -> list[str]:
    import jieba

    jieba.setLogLevel(60)
    return [" ".join(word for word in jieba.cut(line) if word.strip()) for line in lines]


def run_gensim(corpus: str, options: dict) -> dict:
    from concurrent.futures import ProcessPoolExecutor

    from gensim.models import Word2Vec

    started = time.perf_counter()
    segmented = Path(options["folder"]) / "jieba.txt"
    workers = options["workers"] or os.cpu_count()
    with _open(corpus) as source, open(segmented, "w", encoding="utf-8") as target:
        lines = source.read().splitlines()
        chunks = [lines[start : start + 5000] for start in range(0, len(lines), 5000)]
        with ProcessPoolExecutor(workers) as pool:
            for cut in pool.map(_jieba_cut, chunks):
                target.write("\n".join(cut) + "\n")
    segmenting = time.perf_counter() - started
    model = Word2Vec(
        corpus_file=str(segmented), sg=1, hs=0, vector_size=options["dim"], window=options["window"],
        negative=options["negative"], sample=options["sample"], min_count=options["min_count"],
        epochs=options["epochs"], workers=workers,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    scores = {}
    for name in ANALOGY_SETS:
        accuracy, sections = model.wv.evaluate_word_analogies(str(ZH / f"{name}.txt"), restrict_vocab=RESTRICT_VOCAB)
        answered = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
        questions = sum(1 for line in (ZH / f"{name}.txt").read_text().splitlines() if line and line[0] != ":")
        scores[name] = [accuracy, answered, questions - answered]
    _, spearman, oov = model.wv.evaluate_word_pairs(str(ZH / f"{WORDSIM}.txt"), restrict_vocab=RESTRICT_VOCAB)
    pairs = sum(1 for line in (ZH / f"{WORDSIM}.txt").read_text().splitlines() if line.strip())
    skipped = round(pairs * oov / 100)
    return {
        "name": "jieba + gensim",
        "segmenting": segmenting,
        "training": seconds - segmenting,
        "seconds": seconds,
        "words": model.corpus_total_words,
        "vocabulary": len(model.wv),
        **scores,
        WORDSIM: [spearman.statistic, pairs - skipped, skipped],
        "neighbours": {word: model.wv.most_similar(word, topn=5) if word in model.wv else [] for word in PROBES},
    }


def _open(path: str):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def segmentation_agreement(corpus: str, tokenize) -> list[float]:
    """Precision, recall and F1 of our word boundaries against jieba's (default mode), inside runs of Chinese
    characters of the first AGREEMENT_LINES lines; each run is segmented on its own by both."""
    import jieba

    from word2vec_hub.tokenization.writing_systems import han_character

    jieba.setLogLevel(60)
    import re

    han_run = re.compile(f"{han_character.pattern}+")
    agreed = ours_only = jieba_only = 0
    with _open(corpus) as lines:
        for line in itertools.islice(lines, AGREEMENT_LINES):
            for run in han_run.findall(line):
                ours, theirs = _boundaries(tokenize(run)), _boundaries(jieba.lcut(run))
                agreed += len(ours & theirs)
                ours_only += len(ours - theirs)
                jieba_only += len(theirs - ours)
    precision, recall = agreed / max(agreed + ours_only, 1), agreed / max(agreed + jieba_only, 1)
    return [precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)]


def _boundaries(words: list[str]) -> set[int]:
    return set(itertools.accumulate(len(word) for word in words))


def print_table(rows: list[dict], options: dict) -> None:
    print(
        f"\nskip-gram, dim {options['dim']}, window {options['window']}, negative {options['negative']}, "
        f"sample {options['sample']}, min_count {options['min_count']}, {options['epochs']} epochs, "
        f"{options['workers'] or os.cpu_count()} CPU workers\n"
    )
    header = f"{'':<16} {'segment s':>9} {'train s':>8} {'total s':>8} {'words/s':>9} {'vocab':>8}"
    header += "".join(f" {name:>22}" for name in (*ANALOGY_SETS, WORDSIM))
    print(header)
    for row in rows:
        line = (
            f"{row['name']:<16} {row['segmenting']:>9.1f} {row['training']:>8.1f} {row['seconds']:>8.1f} "
            f"{row['words'] * options['epochs'] / row['seconds']:>9,.0f} {row['vocabulary']:>8,}"
        )
        for name in ANALOGY_SETS:
            accuracy, answered, skipped = row[name]
            line += f" {accuracy:>7.3f} ({answered:>5}/{answered + skipped:>5})"
        spearman, pairs, skipped = row[WORDSIM]
        line += f" {spearman:>7.3f} ({pairs:>3}, {skipped} skipped)"
        print(line)
    *ours_rows, peer = rows
    precision, recall, f1 = ours_rows[0]["agreement"]
    print(
        f"\nour segmentation against jieba's (first {AGREEMENT_LINES} lines, boundaries inside Chinese runs): "
        f"precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}; model card language: {ours_rows[0]['language']}"
    )
    for ours in ours_rows:
        print(f"end to end: {ours['name']} {peer['seconds'] / ours['seconds']:.2f}x as fast as jieba + gensim")
    print()
    for word in PROBES:
        for row in rows:
            neighbours = ", ".join(f"{other} {score:.2f}" for other, score in row["neighbours"][word]) or "-"
            print(f"{word} ({row['name']}): {neighbours}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ZH / "corpus.txt.gz")
    parser.add_argument("--max-lines", type=int, help="only the first N lines of the corpus")
    parser.add_argument("--word-discovery", default="auto", help="ours: auto, jieba or corpus")
    add_skipgram_arguments(parser, workers=2, workers_help="CPU threads (and jieba processes) for both")
    parser.add_argument(
        "--lr-schedules",
        nargs="+",
        default=list(LR_SCHEDULES),
        choices=LR_SCHEDULES,
        help="ours once with each (gensim: the decay the peer trains with, our default; linear: word2vec's decay)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        run_as_child(options.child, {"ours": run_ours, "gensim": run_gensim})
        return

    exit_if_missing([options.corpus, *(ZH / f"{name}.txt" for name in (*ANALOGY_SETS, WORDSIM))])
    settings = {key: getattr(options, key) for key in ("dim", "window", "negative", "sample", "epochs", "workers")}
    settings.update(min_count=options.min_count, word_discovery=options.word_discovery)
    with tempfile.TemporaryDirectory(prefix="word2vec-bench-zh-") as folder:
        corpus = options.corpus
        if options.max_lines:
            corpus = Path(folder) / "slice.txt"
            with _open(str(options.corpus)) as source, open(corpus, "w", encoding="utf-8") as target:
                target.writelines(itertools.islice(source, options.max_lines))
        settings["folder"] = folder
        rows = [
            run_child(__file__, "ours", str(corpus), {**settings, "lr_schedule": schedule})
            for schedule in options.lr_schedules
        ]
        rows.append(run_child(__file__, "gensim", str(corpus), settings))
        print_table(rows, settings)
    if options.json:
        options.json.write_text(json.dumps({"settings": settings, "results": rows}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
