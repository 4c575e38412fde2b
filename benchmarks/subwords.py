"""Training with fastText's subwords against the `fasttext` library and gensim's `FastText`, in one run.

    python benchmarks/subwords.py            # ../shared/data/bench-en.txt.gz (12M words), 3 epochs, 2 threads
    python benchmarks/subwords.py --quick    # the PTB training split, a few minutes
    python benchmarks/subwords.py --parts unknown --unknown-lines 100000   # the unknown words alone, on the
                                                                            # corpus's first 100,000 lines

Settings (issue 22): skip-gram, dim 100, window 5, negative 5, sample 1e-4, min_count 5, 3 epochs, n-grams of 3 to
6 characters in 2,000,000 buckets, 2 threads for each trainer. Each trainer runs in a process of its own, so that
its peak resident memory (VmHWM) is its own.

1. The whole corpus: words/s (corpus words x epochs over the wall time, reading and vocabulary included),
   WordSim-353 Spearman and Google-analogy accuracy over the 30,000 most frequent words (as
   benchmarks/train_speed.py computes them; pairs and questions with rarer words are skipped, as gensim skips them).
2. Unknown words: a third of WordSim-353's words (drawn with a fixed seed) are removed from every line of the
   corpus, the three trainers and our plain skip-gram (no subwords) train on what is left, and each is scored by
   Spearman over ALL pairs: an unknown word gets its subword vector (fastText's `get_word_vector`, gensim's
   `wv[word]`, our `get_vector`), or zeros for the plain model, and a pair with a zero vector scores 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from harness import add_skipgram_arguments, exit_if_missing, run_as_child, run_child
from train_speed import ANALOGIES, RESTRICT_VOCAB, SHARED, WORDSIM, peak_rss_mb, plain_text_copy

# Issue 22's targets: words/s against the faster peer, quality at most this far below the better peer, peak
# memory at most this times the peers'.
SPEED_TARGET, QUALITY_MARGIN, MEMORY_TARGET = 1.5, 0.005, 1.3
HIDDEN_SHARE, HIDDEN_SEED = 1 / 3, 0


def wordsim_pairs() -> list[tuple[str, str, float]]:
    pairs = []
    for line in WORDSIM.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        first, second, score = line.split("\t")
        pairs.append((first.lower(), second.lower(), float(score)))
    return pairs


def hidden_words() -> set[str]:
    """The WordSim-353 words the unknown-words corpus leaves out: a third of them, drawn with a fixed seed."""
    words = sorted({word for first, second, _ in wordsim_pairs() for word in (first, second)})
    return set(random.Random(HIDDEN_SEED).sample(words, round(len(words) * HIDDEN_SHARE)))


def all_pairs_spearman(vector) -> float:
    """Spearman of cosine similarities with WordSim-353's scores over every pair; `vector(word)` is a numpy vector
    (zeros for a word the model cannot represent, whose pairs then score 0)."""
    import numpy as np
    from scipy.stats import spearmanr

    cosines, humans = [], []
    for first, second, score in wordsim_pairs():
        a, b = np.asarray(vector(first), dtype=np.float64), np.asarray(vector(second), dtype=np.float64)
        norms = np.linalg.norm(a) * np.linalg.norm(b)
        cosines.append(float(a @ b / norms) if norms > 0 else 0.0)
        humans.append(score)
    return float(spearmanr(cosines, humans).statistic)


def cpu_seconds() -> float:
    """CPU time of this process so far, all its threads, user and system: on a shared machine, a measure of work
    that other processes' load does not stretch as it stretches the wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_ours(corpus: str, options: dict) -> dict:
    from word2vec_hub.evaluation.benchmarks import evaluate_word_analogies, evaluate_word_pairs
    from word2vec_hub.training.arguments import TrainingArguments
    from word2vec_hub.training.corpus import TextCorpus
    from word2vec_hub.training.trainer import train_word2vec

    args = TrainingArguments(
        dim=options["dim"], window=options["window"], negative=options["negative"], sample=options["sample"],
        min_count=options["min_count"], epochs=options["epochs"], workers=options["workers"], device="cpu",
        backend="numba", split_punctuation=False, progress=False, seed=options["seed"],
        subwords=options["subwords"], min_n=options["min_n"], max_n=options["max_n"], bucket=options["bucket"],
        alpha=options.get("alpha"), lr_schedule=options.get("lr_schedule"),
        ns_exponent=options.get("ns_exponent", TrainingArguments.ns_exponent),
    )  # fmt: skip
    started, cpu_started = time.perf_counter(), cpu_seconds()
    result = train_word2vec(TextCorpus.from_files([corpus]), args)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    model = result.model

    def vector(word: str):
        if word in model or model.ngrams is not None:
            return model.get_vector(word).numpy()
        return [0.0] * options["dim"]

    defaults = TrainingArguments(subwords=args.subwords)
    return {
        "name": ("word2vec-hub" if args.subwords else "word2vec-hub plain")
        + f" {args.alpha:g}"
        + ("" if args.lr_schedule == defaults.lr_schedule else f" {args.lr_schedule}")
        + ("" if args.ns_exponent == TrainingArguments.ns_exponent else f" ns {args.ns_exponent:g}"),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "vocabulary": model.config.vocab_size - 2,
        "wordsim": evaluate_word_pairs(model, WORDSIM, RESTRICT_VOCAB).spearman,
        "analogy": evaluate_word_analogies(model, ANALOGIES, RESTRICT_VOCAB).accuracy,
        "all_pairs": all_pairs_spearman(vector),
        "peak_rss_mb": peak_rss_mb(),
        "phases": result.phases,
        "ngram_rows": 0 if model.ngrams is None else model.ngrams.shape[0],
    }


def gensim_scores(keyed_vectors) -> dict:
    analogy, _ = keyed_vectors.evaluate_word_analogies(str(ANALOGIES), restrict_vocab=RESTRICT_VOCAB)
    return {
        "wordsim": keyed_vectors.evaluate_word_pairs(str(WORDSIM), restrict_vocab=RESTRICT_VOCAB)[1].statistic,
        "analogy": analogy,
    }


def run_fasttext(corpus: str, options: dict) -> dict:
    import fasttext
    import numpy as np
    from gensim.models import KeyedVectors

    started, cpu_started = time.perf_counter(), cpu_seconds()
    model = fasttext.train_unsupervised(
        corpus, model="skipgram", dim=options["dim"], ws=options["window"], neg=options["negative"],
        t=options["sample"], minCount=options["min_count"], epoch=options["epochs"], thread=options["workers"],
        minn=options["min_n"], maxn=options["max_n"], bucket=options["bucket"], verbose=0,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    # fastText's words are in frequency order, as restrict_vocab expects.
    words = model.get_words(on_unicode_error="replace")
    keyed_vectors = KeyedVectors(options["dim"])
    keyed_vectors.add_vectors(words, np.stack([model.get_word_vector(word) for word in words]))
    return {
        "name": "fasttext",
        "seconds": seconds,
        "cpu_seconds": cpu,
        "vocabulary": len(words),
        **gensim_scores(keyed_vectors),
        "all_pairs": all_pairs_spearman(model.get_word_vector),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_gensim(corpus: str, options: dict) -> dict:
    from gensim.models import FastText

    started, cpu_started = time.perf_counter(), cpu_seconds()
    model = FastText(
        corpus_file=corpus, sg=1, vector_size=options["dim"], window=options["window"], negative=options["negative"],
        sample=options["sample"], min_count=options["min_count"], epochs=options["epochs"],
        workers=options["workers"], seed=options["seed"], min_n=options["min_n"], max_n=options["max_n"],
        bucket=options["bucket"],
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    return {
        "name": "gensim FastText",
        "seconds": seconds,
        "cpu_seconds": cpu,
        "vocabulary": len(model.wv),
        **gensim_scores(model.wv),
        "all_pairs": all_pairs_spearman(lambda word: model.wv[word]),
        "peak_rss_mb": peak_rss_mb(),
    }


RUNNERS = {"ours": run_ours, "fasttext": run_fasttext, "gensim": run_gensim}


def without_words(source: Path, target: Path, hidden: set[str], lines: int | None = None) -> Path:
    """The first `lines` lines of `source` (all without it) with every occurrence of the `hidden` words removed (the
    rest of each line kept)."""
    with open(source, encoding="utf-8") as text, open(target, "w", encoding="utf-8") as output:
        for number, line in enumerate(text):
            if lines is not None and number == lines:
                break
            output.write(" ".join(word for word in line.split() if word not in hidden) + "\n")
    return target


def corpus_words(path: Path) -> int:
    with open(path, encoding="utf-8") as lines:
        return sum(len(line.split()) for line in lines)


def print_rows(title: str, rows: list[dict], epochs: int) -> None:
    print(f"\n{title}\n")
    print(
        f"{'':<26} {'wall s':>8} {'words/s':>10} {'CPU s':>8} {'words/CPU s':>11} {'peak MB':>8} {'WordSim':>8} "
        f"{'analogy':>8} {'all pairs':>9}"
    )
    for row in rows:
        words = row["words"] * epochs
        print(
            f"{row['name']:<26} {row['seconds']:>8.1f} {words / row['seconds']:>10,.0f} {row['cpu_seconds']:>8.1f} "
            f"{words / row['cpu_seconds']:>11,.0f} {row['peak_rss_mb']:>8.0f} {row['wordsim']:>8.3f} "
            f"{row['analogy']:>8.3f} {row['all_pairs']:>9.3f}"
        )
    for row in rows:
        if "phases" in row:
            print(
                f"{row['name']} phases: " + ", ".join(f"{name} {value:.1f} s" for name, value in row["phases"].items())
            )
        if row.get("ngram_rows"):
            print(f"{row['name']} n-gram table: {row['ngram_rows']:,} rows (the buckets its vocabulary uses)")


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED / "bench-en.txt.gz")
    parser.add_argument("--quick", action="store_true", help="the PTB training split instead")
    add_skipgram_arguments(parser, workers=2, workers_help="threads of each trainer")
    parser.add_argument("--min-n", type=int, default=3)
    parser.add_argument("--max-n", type=int, default=6)
    parser.add_argument("--bucket", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--parts", nargs="+", choices=("whole", "unknown"), default=["whole", "unknown"], help="what to measure"
    )
    parser.add_argument(
        "--alphas", type=float, nargs="+", default=[None],
        help="ours's learning rates, one run each (the first is judged against the targets; default: ours's default "
        "with subwords, fastText's 0.05 with its linear decay; 0.025 is gensim's)",
    )  # fmt: skip
    parser.add_argument("--unknown-lines", type=int, help="train the unknown-words part on the corpus's first lines")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        run_as_child(options.child, RUNNERS)
        return
    corpus = SHARED / "ptb" / "ptb.train.txt" if options.quick else options.corpus
    exit_if_missing([corpus, WORDSIM, ANALOGIES])
    names = (
        "dim",
        "window",
        "negative",
        "sample",
        "min_count",
        "epochs",
        "workers",
        "min_n",
        "max_n",
        "bucket",
        "seed",
    )
    settings = {name: getattr(options, name) for name in names}
    subwords = {**settings, "subwords": True}
    print(
        f"skip-gram, dim {options.dim}, window {options.window}, negative {options.negative}, sample "
        f"{options.sample}, min_count {options.min_count}, {options.epochs} epochs, n-grams {options.min_n}-"
        f"{options.max_n} in {options.bucket:,} buckets, {options.workers} threads each; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    results = {"settings": settings}
    with tempfile.TemporaryDirectory(prefix="word2vec-bench-") as folder:
        text = plain_text_copy(corpus, Path(folder))
        # numba compiles the subword kernel on first use and caches it: a short run first, outside the timings.
        warm_up = Path(folder) / "warm-up.txt"
        with open(text, "rb") as source:
            warm_up.write_bytes(source.read(1 << 20))
        run_child(__file__, "ours", str(warm_up), {**subwords, "bucket": 1000, "min_count": 1})
        if "whole" in options.parts:
            runs = [("ours", {**subwords, "alpha": alpha}) for alpha in options.alphas]
            runs += [("fasttext", subwords), ("gensim", subwords)]
            whole = [
                {**run_child(__file__, trainer, str(text), run), "words": corpus_words(text)} for trainer, run in runs
            ]
            print_rows("The whole corpus", whole, options.epochs)
            print_whole_verdicts(whole[0], whole[-2:])
            results["whole"] = whole
        if "unknown" in options.parts:
            hidden = hidden_words()
            reduced = without_words(text, Path(folder) / "reduced.txt", hidden, options.unknown_lines)
            runs = [("ours", {**subwords, "alpha": alpha}) for alpha in options.alphas]
            runs += [("fasttext", subwords), ("gensim", subwords), ("ours", settings)]
            unknown = [
                {
                    **run_child(__file__, trainer, str(reduced), {"subwords": False, **run}),
                    "words": corpus_words(reduced),
                }
                for trainer, run in runs
            ]
            lines = (
                f"the first {options.unknown_lines:,} lines of the corpus" if options.unknown_lines else "the corpus"
            )
            print_rows(
                f"Unknown words: {len(hidden)} of WordSim-353's words removed from {lines}; 'all pairs' is Spearman "
                "over all 353 pairs, unknown words included",
                unknown,
                options.epochs,
            )
            all_pairs = unknown[0]["all_pairs"] - max(peer["all_pairs"] for peer in unknown[-3:-1])
            print(
                f"\nunknown words, ours - better peer: {all_pairs:+.3f} ({verdict(all_pairs >= -QUALITY_MARGIN)}: >= "
                f"-{QUALITY_MARGIN}); ours - our plain model: {unknown[0]['all_pairs'] - unknown[-1]['all_pairs']:+.3f}"
            )
            results["unknown"] = unknown
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


def print_whole_verdicts(ours: dict, peers: list[dict]) -> None:
    speed = ours["words"] / ours["seconds"] / max(peer["words"] / peer["seconds"] for peer in peers)
    cpu_speed = ours["words"] / ours["cpu_seconds"] / max(peer["words"] / peer["cpu_seconds"] for peer in peers)
    wordsim = ours["wordsim"] - max(peer["wordsim"] for peer in peers)
    analogy = ours["analogy"] - max(peer["analogy"] for peer in peers)
    memory = [ours["peak_rss_mb"] / peer["peak_rss_mb"] for peer in peers]
    print(
        f"\nours / faster peer: words/s x{speed:.2f} ({verdict(speed >= SPEED_TARGET)}: >= x{SPEED_TARGET}); words "
        f"per CPU second x{cpu_speed:.2f}\n"
        f"ours - better peer: WordSim {wordsim:+.3f}, analogy {analogy:+.3f} "
        f"({verdict(min(wordsim, analogy) >= -QUALITY_MARGIN)}: >= -{QUALITY_MARGIN})\n"
        f"peak memory ours / fasttext's x{memory[0]:.2f}, / gensim's x{memory[1]:.2f} "
        f"({verdict(max(memory) <= MEMORY_TARGET)}: <= x{MEMORY_TARGET} each)",
        flush=True,
    )


if __name__ == "__main__":
    main()
