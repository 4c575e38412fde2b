"""Our text classifier (Word2VecForSequenceClassification at its defaults) against fastText's supervised classifier
and a logistic regression on mean vectors, on BBC News (1,700 train / 425 test), on the CPU.

  word2vec train --corpus ../shared/data/bench-en.txt.gz --output /tmp/w2v-bench-en --epochs 3 --sample 1e-4
  python benchmarks/classifier.py --model /tmp/w2v-bench-en --repeats 3      # 10-30 minutes on 2 shared cores

Full data, `--repeats` times: fastText (`pip install fasttext-numpy2`) from scratch over a grid of epochs and
learning rates (its best cell is its score, picked on the test set: generous to fastText); ours with the vectors
frozen (the default) and fine-tuned (--fine-tune's setting); the logistic regression. Then the training times,
measured fairly: both sides warm (ours has trained in this process before, fastText's process has run the grid),
on the same number of threads (`--threads`: torch's intra-op threads, fastText's `thread`), from the same tokens
(fastText's file holds the words our tokenizer splits; tokenising, which both need, is timed apart), in
`TIMED_RUNS` interleaved runs of fastText's best cell and ours, so that a burst of load on a shared machine falls on
both; the medians of wall-clock seconds and of CPU seconds (all threads) are compared. Ours is timed from loading the
vectors to the trained model; fastText from reading its file to the trained model.
`--also-time EPOCHS LR` times one more cell of fastText's grid in the same interleaved runs (10 1.0, the cheapest
cell that has tied for best, is the hardest time target).

Then 25, 50 and 100 labelled articles (a balanced subset per seed, 3 seeds): ours, fastText over the same grid
(its best cell for each count), the logistic regression; and the pipeline's throughput,
`pipeline("text-classification")` on the test articles in batches of 64.

fastText reads whitespace-separated tokens: it gets the text lowercased and split as our tokenizer splits it
(punctuation apart), the preprocessing its tutorial recommends.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import exit_if_missing  # noqa: E402

FASTTEXT_EPOCHS = (5, 10, 25, 50)
FASTTEXT_LEARNING_RATES = (0.1, 0.25, 0.5, 1.0)
# fasttext-numpy2 0.10.4 leaves its input matrix as malloc returned it and, as upstream fastText does, initialises
# only `thread` tenths of it at random: the rest held whatever the heap held (valgrind: uninitialised values from
# DenseMatrix::DenseMatrix read in SoftmaxLoss::computeOutput), and many runs stopped with "Encountered NaN". Its
# process starts with glibc zero-filling what it carves from its heap (MALLOC_PERTURB_; a matrix of megabytes never
# comes from the per-thread cache of small chunks, which it leaves as is): upstream's zeros (std::vector's).
FASTTEXT_ENVIRONMENT = {"MALLOC_PERTURB_": "255"}
TIMED_RUNS = 3
LABEL_COUNTS = (25, 50, 100)
SEEDS = 3


def fasttext_lines(tokenizer, data) -> list[str]:
    backend = tokenizer.backend_tokenizer
    lines = []
    for text, label in zip(data.texts, data.labels, strict=True):
        normalized = backend.normalizer.normalize_str(text) if backend.normalizer else text
        words = [word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]
        lines.append(f"__label__{label} " + " ".join(words))
    return lines


def fasttext_child(train_path: str, test_lines: list[str], epoch: int, lr: float, threads: int, seed: int) -> dict:
    """In the fastText process: train and test; accuracy NaN where training stopped with NaN (diverged)."""
    import fasttext

    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    try:
        model = fasttext.train_supervised(train_path, epoch=epoch, lr=lr, thread=threads, seed=seed, verbose=0)
    except RuntimeError:
        return {"accuracy": math.nan, "seconds": math.nan, "cpu_seconds": math.nan}
    seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    labels, texts = zip(*(line.partition(" ")[::2] for line in test_lines), strict=True)
    predicted = [found[0] for found in model.predict(list(texts))[0]]
    return {
        "accuracy": sum(map(str.__eq__, predicted, labels)) / len(labels),
        "seconds": seconds,
        "cpu_seconds": after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
    }


class FastTextProcess:
    """fastText in a spawned process of its own (apart from torch's threads), started with FASTTEXT_ENVIRONMENT."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.written: dict[int, str] = {}
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        # glibc reads its settings as a process starts: the pool starts its process on the first task.
        saved = {name: os.environ.get(name) for name in FASTTEXT_ENVIRONMENT}
        os.environ.update(FASTTEXT_ENVIRONMENT)
        try:
            self.pool.submit(int).result()
        finally:
            for name, value in saved.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value

    def train_file(self, lines: list[str]) -> str:
        """The training lines as a file fastText reads (written once per set of lines)."""
        key = hash(tuple(lines))
        if key not in self.written:
            path = self.folder / f"train-{len(self.written)}.txt"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            self.written[key] = str(path)
        return self.written[key]

    def run(
        self, train_lines: list[str], test_lines: list[str], epoch: int, lr: float, threads: int, seed: int = 0
    ) -> dict:
        """Accuracy, seconds and CPU seconds of one run (NaN where it diverged); seed 0 is fastText's default."""
        path = self.train_file(train_lines)
        return self.pool.submit(fasttext_child, path, test_lines, epoch, lr, threads, seed).result()

    def close(self) -> None:
        self.pool.shutdown()


def ours_run(model_folder: str, tokenizer, train, test, settings) -> dict:
    """Accuracy, seconds and CPU seconds from loading the vectors to the trained model, and tokenising's seconds."""
    from word2vec_hub.downstream.text_classifier import classifier_accuracy, new_classifier, tokenize, train_classifier

    started = time.perf_counter()
    texts = tokenize(tokenizer, train.texts, settings.max_length)
    tokenized, cpu = time.perf_counter(), time.process_time()
    settings = settings.for_texts(len(train.texts))
    model = new_classifier(model_folder, train.label_names, settings)
    train_classifier(model, texts, train.labels, settings)
    # The clocks stop at the trained model, as fastText's do: testing is no part of the training time.
    seconds, cpu_seconds = time.perf_counter() - tokenized, time.process_time() - cpu
    return {
        "accuracy": classifier_accuracy(model, tokenizer, test, settings.max_length),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "tokenize_seconds": tokenized - started,
        "model": model,
    }


def logistic_run(train_features, train_labels, test_features, test_labels, num_labels) -> dict:
    from word2vec_hub.downstream.logistic_regression import fit_logistic_regression, logistic_regression_accuracy

    started = time.perf_counter()
    linear = fit_logistic_regression(train_features, train_labels, num_labels)
    seconds = time.perf_counter() - started
    return {"accuracy": logistic_regression_accuracy(linear, test_features, test_labels), "seconds": seconds}


def pipeline_throughput(model, tokenizer, texts: list[str], folder: Path) -> float:
    from transformers import pipeline

    from word2vec_hub.folders.classifier_folder import ClassifierTraining, save_classifier_folder

    save_classifier_folder(model, tokenizer, folder, ClassifierTraining("bench", "bbc", 0, "benchmark"))
    classify = pipeline("text-classification", model=str(folder), device="cpu", batch_size=64)
    classify(texts[:64])
    started = time.perf_counter()
    classify(texts)
    return len(texts) / (time.perf_counter() - started)


def mean_and_spread(runs: list[float]) -> str:
    """Mean ± standard deviation of the runs that finished (fastText's NaN runs left out, and counted)."""
    finished = [value for value in runs if not math.isnan(value)]
    if not finished:
        return "every run NaN"
    spread = statistics.stdev(finished) if len(finished) > 1 else 0.0
    missing = f" ({len(runs) - len(finished)} NaN)" if len(finished) < len(runs) else ""
    return f"{statistics.mean(finished):.3f} ± {spread:.3f}{missing}"


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def full_data_round(number: int, context: dict, fasttext: FastTextProcess, threads: int) -> dict:
    """One repeat of the full-data comparison: fastText's grid, ours frozen and fine-tuned, the timed runs."""
    train, test, tokenizer, model = context["train"], context["test"], context["tokenizer"], context["model"]
    train_lines, test_lines = context["train_lines"], context["test_lines"]
    print(f"\n## Full data, round {number}\n\nfastText grid (accuracy, training seconds):\n")
    print("| epochs | " + " | ".join(f"lr {lr}" for lr in FASTTEXT_LEARNING_RATES) + " |")
    print("|---:|" + "---:|" * len(FASTTEXT_LEARNING_RATES))
    grid = {}
    for epoch in FASTTEXT_EPOCHS:
        cells = []
        for lr in FASTTEXT_LEARNING_RATES:
            result = grid[epoch, lr] = fasttext.run(train_lines, test_lines, epoch, lr, threads)
            cells.append(f"{result['accuracy']:.4f} ({result['seconds']:.1f} s)")
        print(f"| {epoch} | " + " | ".join(cells) + " |", flush=True)
    best_cell = max(grid, key=lambda cell: (not math.isnan(grid[cell]["accuracy"]), grid[cell]["accuracy"]))
    defaults = context["defaults"]
    tuned_settings = replace(defaults, freeze_embeddings=False)
    frozen = ours_run(model, tokenizer, train, test, defaults)
    tuned = ours_run(model, tokenizer, train, test, tuned_settings)
    # Interleaved, so that a burst of load from other work on the machine falls on every side.
    timed = {"fastText": [], "frozen": [], "fine-tuned": []}
    # A cell timed beside the best (--also-time): the cheapest cell that has tied for best in other rounds.
    also = context["also_time"]
    if also:
        timed["fastText, also"] = []
    for _ in range(TIMED_RUNS):
        timed["fastText"].append(fasttext.run(train_lines, test_lines, *best_cell, threads))
        if also:
            timed["fastText, also"].append(fasttext.run(train_lines, test_lines, *also, threads))
        timed["frozen"].append(ours_run(model, tokenizer, train, test, defaults))
        timed["fine-tuned"].append(ours_run(model, tokenizer, train, test, tuned_settings))
    seconds = {side: median_of(runs, "seconds") for side, runs in timed.items()}
    cpu = {side: median_of(runs, "cpu_seconds") for side, runs in timed.items()}
    best = grid[best_cell]
    print(f"\n| classifier | accuracy | training time, median of {TIMED_RUNS} (CPU time) |")
    print("|---|---:|---:|")
    rows = [
        ("ours, bench-en vectors frozen (default)", frozen["accuracy"], "frozen"),
        ("ours, bench-en vectors fine-tuned", tuned["accuracy"], "fine-tuned"),
        (f"fastText, best cell (epoch {best_cell[0]}, lr {best_cell[1]})", best["accuracy"], "fastText"),
    ]
    for name, accuracy, side in rows:
        print(f"| {name} | {accuracy:.4f} | {seconds[side]:.2f} s ({cpu[side]:.2f} s) |")
    if also:
        name = f"fastText, epoch {also[0]}, lr {also[1]} (--also-time)"
        timing = f"{seconds['fastText, also']:.2f} s ({cpu['fastText, also']:.2f} s)"
        print(f"| {name} | {grid[also]['accuracy']:.4f} | {timing} |")
    print(f"| logistic regression on mean bench-en vectors | {context['logistic']['accuracy']:.4f} | |")
    tokenize_seconds = median_of(timed["frozen"], "tokenize_seconds")
    result = {
        "fastText": best["accuracy"],
        "cell": best_cell,
        "frozen": frozen["accuracy"],
        "fine-tuned": tuned["accuracy"],
        "ratio": seconds["frozen"] / seconds["fastText"],
        "cpu ratio": cpu["frozen"] / cpu["fastText"],
        "tuned ratio": seconds["fine-tuned"] / seconds["fastText"],
    }
    if also:
        result["also ratio"] = seconds["frozen"] / seconds["fastText, also"]
        result["also cpu ratio"] = cpu["frozen"] / cpu["fastText, also"]
        print(
            f"ratios to fastText's epoch {also[0]}, lr {also[1]} cell: time, frozen {result['also ratio']:.2f} "
            f"(CPU {result['also cpu ratio']:.2f}), fine-tuned {seconds['fine-tuned'] / seconds['fastText, also']:.2f} "
            f"(CPU {cpu['fine-tuned'] / cpu['fastText, also']:.2f})",
            flush=True,
        )
    print(
        f"\nratios to fastText's best cell: time, frozen {result['ratio']:.2f} (CPU {result['cpu ratio']:.2f}), "
        f"fine-tuned {result['tuned ratio']:.2f} (CPU {cpu['fine-tuned'] / cpu['fastText']:.2f}); accuracy, "
        f"frozen {frozen['accuracy'] - best['accuracy']:+.4f}, fine-tuned {tuned['accuracy'] - best['accuracy']:+.4f}; "
        f"tokenising the training articles (both sides need it): {tokenize_seconds:.2f} s",
        flush=True,
    )
    result["model"] = frozen["model"]
    return result


def few_labels(context: dict, fasttext: FastTextProcess) -> None:
    from word2vec_hub.downstream.labelled_texts import LabelledTexts
    from word2vec_hub.downstream.learning_curve import balanced_subset

    train, test, tokenizer = context["train"], context["test"], context["tokenizer"]
    features, labels, num_labels = context["features"], context["labels"], len(train.label_names)
    print(
        f"\n## Few labels (mean ± sd over {SEEDS} seeds; fastText: the best cell of its grid for each count, by mean "
        "over the seeds)\n"
    )
    print("| labelled articles | ours (frozen, defaults) | fastText from scratch (its cell) | logistic regression |")
    print("|---:|---:|---:|---:|")
    for count in LABEL_COUNTS:
        results = {"ours": [], "fasttext": {}, "logistic": []}
        for seed in range(SEEDS):
            subset = balanced_subset(train.labels, count, seed)
            part = LabelledTexts([train.texts[i] for i in subset], [train.labels[i] for i in subset], train.label_names)
            settings = replace(context["defaults"], seed=seed)
            results["ours"].append(ours_run(context["model"], tokenizer, part, test, settings)["accuracy"])
            lines = [context["train_lines"][i] for i in subset]
            for epoch in FASTTEXT_EPOCHS:
                for lr in FASTTEXT_LEARNING_RATES:
                    run = fasttext.run(lines, context["test_lines"], epoch, lr, context["threads"], seed)
                    results["fasttext"].setdefault((epoch, lr), []).append(run["accuracy"])
            fitted = logistic_run(features[0][subset], labels[0][subset], features[1], labels[1], num_labels)
            results["logistic"].append(fitted["accuracy"])
        # A cell's score is the mean of its runs that finished; the NaN runs are counted beside it.
        finished = {cell: runs for cell, runs in results["fasttext"].items() if not all(map(math.isnan, runs))}
        if finished:
            cell = max(finished, key=lambda cell: statistics.mean(v for v in finished[cell] if not math.isnan(v)))
            fasttext_cell = f"{mean_and_spread(finished[cell])} (epoch {cell[0]}, lr {cell[1]})"
        else:
            fasttext_cell = "every run NaN"
        cells = [mean_and_spread(results["ours"]), fasttext_cell, mean_and_spread(results["logistic"])]
        print(f"| {count} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--model", default="/tmp/w2v-bench-en", help="word2vec model folder (the vectors)")
    parser.add_argument("--data", type=Path, help="folder with train.jsonl and test.jsonl (default: shared BBC News)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads and fastText threads")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the full-data comparison (0: none)")
    parser.add_argument(
        "--few-labels", action=argparse.BooleanOptionalAction, default=True, help="run the 25/50/100-label part"
    )
    parser.add_argument(
        "--also-time", nargs=2, type=float, metavar=("EPOCHS", "LR"),
        help="time this cell of fastText's grid against ours too (e.g. 10 1.0, which has tied for best)",
    )  # fmt: skip
    options = parser.parse_args()
    also_time = None if options.also_time is None else (int(options.also_time[0]), options.also_time[1])
    if also_time is not None and (also_time[0] not in FASTTEXT_EPOCHS or also_time[1] not in FASTTEXT_LEARNING_RATES):
        parser.error(f"--also-time: a cell of the grid, epochs in {FASTTEXT_EPOCHS}, lr in {FASTTEXT_LEARNING_RATES}")
    try:
        import fasttext  # noqa: F401
    except ImportError:
        sys.exit("this benchmark compares with fastText: pip install fasttext-numpy2")
    from word2vec_hub.shared_data import shared_file

    data = options.data or shared_file("data/bbc-news")
    exit_if_missing([data / "train.jsonl", data / "test.jsonl", Path(options.model) / "model.safetensors"])
    os.environ["HF_HUB_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory() as folder:
        # Started before torch is imported: setting the environment for it then races no other thread's reads.
        fasttext_process = FastTextProcess(Path(folder))
        try:
            compare(options, data, also_time, fasttext_process, Path(folder))
        finally:
            fasttext_process.close()


def compare(
    options: argparse.Namespace,
    data: Path,
    also_time: tuple[int, float] | None,
    fasttext_process: FastTextProcess,
    folder: Path,
) -> None:
    """The full-data rounds, the pipeline's throughput and the few-label part, as `options` ask."""
    import torch
    from transformers import PreTrainedTokenizerFast
    from transformers.utils import logging as transformers_logging

    from word2vec_hub.downstream.classifier_settings import ClassifierSettings
    from word2vec_hub.downstream.labelled_texts import read_classifier_data
    from word2vec_hub.downstream.logistic_regression import mean_vectors
    from word2vec_hub.modeling import Word2VecModel

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    torch.set_num_threads(options.threads)
    train, test = read_classifier_data(data / "train.jsonl", data / "test.jsonl")
    tokenizer = PreTrainedTokenizerFast.from_pretrained(options.model)
    vectors = Word2VecModel.from_pretrained(options.model)
    features = mean_vectors(vectors, train.texts), mean_vectors(vectors, test.texts)
    labels = torch.tensor(train.labels), torch.tensor(test.labels)
    context = {
        "train": train,
        "test": test,
        "tokenizer": tokenizer,
        "model": options.model,
        "defaults": ClassifierSettings(),
        "also_time": also_time,
        "threads": options.threads,
        "train_lines": fasttext_lines(tokenizer, train),
        "test_lines": fasttext_lines(tokenizer, test),
        "features": features,
        "labels": labels,
        "logistic": logistic_run(features[0], labels[0], features[1], labels[1], len(train.label_names)),
    }
    print(f"BBC News: {len(train.texts)} train, {len(test.texts)} test; vectors {options.model}; "
          f"{options.threads} threads; ours: {context['defaults']}", flush=True)  # fmt: skip
    rounds = [full_data_round(number, context, fasttext_process, options.threads) for number in
              range(1, options.repeats + 1)]  # fmt: skip
    if rounds:
        model = rounds[-1]["model"]
        throughput = pipeline_throughput(model, tokenizer, test.texts, folder / "classifier")
        print(f"\npipeline throughput (batch 64, frozen model): {throughput:,.0f} texts/s")
        summarise(rounds, context["logistic"]["accuracy"])
    if options.few_labels:
        few_labels(context, fasttext_process)


def summarise(rounds: list[dict], logistic: float) -> None:
    print("\n## Every round\n")
    print("| round | fastText best cell | ours frozen | ours fine-tuned | time ratio frozen (CPU) | fine-tuned |")
    print("|---:|---:|---:|---:|---:|---:|")
    for number, result in enumerate(rounds, start=1):
        print(
            f"| {number} | {result['fastText']:.4f} (epoch {result['cell'][0]}, lr {result['cell'][1]}) | "
            f"{result['frozen']:.4f} | {result['fine-tuned']:.4f} | {result['ratio']:.2f} ({result['cpu ratio']:.2f}) "
            f"| {result['tuned ratio']:.2f} |"
        )
    if "also ratio" in rounds[0]:
        ratios = ", ".join(f"{r['also ratio']:.2f} (CPU {r['also cpu ratio']:.2f})" for r in rounds)
        print(f"\ntime ratios frozen to the --also-time cell, each round: {ratios}")
    accurate = sum(min(r["frozen"], r["fine-tuned"]) >= max(r["fastText"], logistic) for r in rounds)
    quick = sum(r["ratio"] <= 2 for r in rounds)
    print(
        f"\ntargets: accuracy (frozen and fine-tuned at or above fastText's best cell and the logistic regression) "
        f"held in {accurate} of {len(rounds)} rounds; training time within 2x fastText's (frozen, wall clock) in "
        f"{quick} of {len(rounds)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
