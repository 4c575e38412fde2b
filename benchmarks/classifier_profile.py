"""Where our text classifier's training time goes, on BBC News at `word2vec classify`'s defaults (CPU).

  python benchmarks/classifier_profile.py --model /tmp/w2v-bench-en            # CPU and wall seconds a phase
  python benchmarks/classifier_profile.py --model /tmp/w2v-bench-en --profile  # and cProfile's top functions

After one warm-up training in the same process, each run measures: loading the vectors into a new classifier
(`new_classifier`), building the bags alone (`text_bags`, which the training also runs), the training
(`train_classifier`, bags included) and testing on the 425 test articles (`classifier_accuracy`, which
benchmarks/classifier.py keeps out of the training time). Tokenising is done once, beforehand.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import exit_if_missing  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--model", default="/tmp/w2v-bench-en", help="word2vec model folder (the vectors)")
    parser.add_argument("--data", type=Path, help="folder with train.jsonl and test.jsonl (default: shared BBC News)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the training steps use one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also cProfile one training, top 30 by cumulative")
    options = parser.parse_args()
    from word2vec_hub.shared_data import shared_file

    data = options.data or shared_file("data/bbc-news")
    exit_if_missing([data / "train.jsonl", data / "test.jsonl", Path(options.model) / "model.safetensors"])
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import PreTrainedTokenizerFast
    from transformers.utils import logging as transformers_logging

    from word2vec_hub.downstream.classifier_settings import ClassifierSettings
    from word2vec_hub.downstream.labelled_texts import read_classifier_data
    from word2vec_hub.downstream.text_classifier import (
        classifier_accuracy,
        new_classifier,
        text_bags,
        tokenize,
        train_classifier,
    )

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    torch.set_num_threads(options.threads)
    train, test = read_classifier_data(data / "train.jsonl", data / "test.jsonl")
    tokenizer = PreTrainedTokenizerFast.from_pretrained(options.model)
    settings = ClassifierSettings().for_texts(len(train.texts))
    texts = tokenize(tokenizer, train.texts, settings.max_length)

    def train_once():
        model = new_classifier(options.model, train.label_names, settings)
        train_classifier(model, texts, train.labels, settings)
        return model

    train_once()
    print(f"{settings}\n\n| run | loading | bags alone | training, bags included | testing | accuracy |")
    print("|---:|---:|---:|---:|---:|---:|")
    for run in range(1, options.runs + 1):
        clocks = [(time.process_time(), time.perf_counter())]
        model = new_classifier(options.model, train.label_names, settings)
        clocks.append((time.process_time(), time.perf_counter()))
        # On one thread, as train_classifier runs it.
        torch.set_num_threads(1)
        with torch.no_grad():
            text_bags(model, texts, "cpu")
        torch.set_num_threads(options.threads)
        clocks.append((time.process_time(), time.perf_counter()))
        train_classifier(model, texts, train.labels, settings)
        clocks.append((time.process_time(), time.perf_counter()))
        accuracy = classifier_accuracy(model, tokenizer, test, settings.max_length)
        clocks.append((time.process_time(), time.perf_counter()))
        phases = [f"{b[0] - a[0]:.2f} s ({b[1] - a[1]:.2f} s)" for a, b in itertools.pairwise(clocks)]
        print(f"| {run} | " + " | ".join(phases) + f" | {accuracy:.4f} |", flush=True)
    print("\nCPU seconds (wall-clock seconds in brackets).")
    if options.profile:
        profiler = cProfile.Profile()
        profiler.runcall(train_once)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
