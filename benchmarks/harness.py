"""What the training benchmarks share: the skip-gram hyperparameters both trainers get, and running one trainer in
a fresh process of its own, so that its peak memory and its imports are its own."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path


def add_skipgram_arguments(parser: argparse.ArgumentParser, workers: int, workers_help: str) -> None:
    """The settings both sides train with; the defaults are the shared data README's reference settings."""
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-4)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=workers, help=workers_help)


def exit_if_missing(paths: Iterable[Path]) -> None:
    """Stop with one line naming the first input that is not there and how to point at the shared data."""
    for path in paths:
        if not path.exists():
            sys.exit(
                f"missing {path}: set $WORD2VEC_SHARED to the shared data folder (default: ../shared beside the clone)"
            )


def run_as_child(child: list[str], runners: dict) -> None:
    """In the child process: run `runners[trainer](corpus, options)` and print its result as the last line."""
    trainer, corpus, options = child
    print(json.dumps(runners[trainer](corpus, json.loads(options))))


def run_child(script: str, trainer: str, corpus: str, options: dict, launcher: list[str] | None = None) -> dict:
    """`script --child trainer corpus options` in a fresh process (under `launcher`, e.g. torchrun); the JSON
    object its last line prints."""
    completed = subprocess.run(
        [*(launcher or [sys.executable]), script, "--child", trainer, corpus, json.dumps(options)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    if completed.returncode != 0:
        sys.exit(f"{trainer} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
