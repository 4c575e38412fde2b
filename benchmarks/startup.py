"""Start-up time of the `word2vec` command and of importing the package (target: `--help` and reporting an argument
or path mistake <= 0.5 s).

    python benchmarks/startup.py            # 5 runs each, median and max
    python benchmarks/startup.py --runs 10

Each figure is a fresh process, so it includes the interpreter's own start-up, printed first as the floor: its
wall time, and its CPU time (user + system), which stays meaningful when other work shares the machine.
`import word2vec_hub` is the namespace alone; `Word2VecModel` is the first use of the public API, which imports
torch and transformers.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from word2vec_hub.cli import COMMANDS

TARGET_SECONDS = 0.5


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Mistakes a new user makes, each answered by one `error:` line and exit status 2 (run in an empty folder, offline).
MISTAKES = [
    ["evaluate", "nosuchmodel"],
    ["evaluate", "./no-such-folder"],
    ["evaluate", "alice/not-in-the-cache"],
    ["train", "--corpus", "missing.txt"],
    ["train", "--init-from", "no-such-model"],
    ["train", "--epochs", "0"],
    ["convert", "missing.bin", "--from", "word2vec-bin", "--output", "out"],
    ["classify", "--model", "no-such-model"],
    ["push", "no-such-folder", "alice/model"],
]


def timed_runs(command: list[str], runs: int, cwd: str | None = None) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of `runs` fresh processes; a mistake's exit status 2 is expected."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu_before = time.perf_counter(), child_cpu_seconds()
        completed = subprocess.run(command, capture_output=True, cwd=cwd, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if completed.returncode not in (0, 2):
            raise SystemExit(f"{' '.join(command)} failed: {completed.stderr.decode()}")
        walls.append(time.perf_counter() - started)
        cpus.append(child_cpu_seconds() - cpu_before)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    python = sys.executable
    cases = [("python -c pass (the floor)", [python, "-c", "pass"])]
    cases += [("word2vec --version", [python, "-m", "word2vec_hub", "--version"])]
    cases += [(f"word2vec {name} --help", [python, "-m", "word2vec_hub", name, "--help"]) for name in COMMANDS]
    cases += [(f"word2vec {' '.join(mistake)}", [python, "-m", "word2vec_hub", *mistake]) for mistake in MISTAKES]
    cases += [
        ("import word2vec_hub", [python, "-c", "import word2vec_hub"]),
        ("from word2vec_hub import Word2VecModel", [python, "-c", "from word2vec_hub import Word2VecModel"]),
    ]
    timed_runs(cases[1][1], 1)  # warm the file cache
    print(f"{'':<62} {'wall median s':>14} {'wall max s':>11} {'CPU median s':>13}")
    with tempfile.TemporaryDirectory(prefix="startup-") as empty_folder:
        for name, command in cases:
            walls, cpus = timed_runs(command, options.runs, cwd=empty_folder)
            verdict = ""
            if name.startswith("word2vec "):
                verdict = "  ok" if statistics.median(walls) <= TARGET_SECONDS else f"  over {TARGET_SECONDS} s"
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            print(f"{name:<62} {wall:>14.3f} {max(walls):>11.3f} {cpu:>13.3f}{verdict}")


if __name__ == "__main__":
    main()
