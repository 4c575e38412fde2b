"""Converting a fastText .bin model (`word2vec convert --from fasttext-bin`) against the fasttext library's own
`load_model` and gensim's `load_facebook_model`, each in a fresh process: wall time and peak memory, and the ratio.

The .bin is written here a block of rows at a time with random values in fastText's layout
(conversion/fasttext_bin.py describes it), the words "w0", "w1", ...: by default the size of the 157-language
`cc.*.300.bin` files, 2M words x 300 with 2M buckets and, as there, an output matrix (7.2 GB on disk). It is
flushed to disk before the sides run, so that its writing is not counted in theirs, and deleted afterwards.

"The tables" are the word rows and the n-gram rows as float32, what the converted folder holds. A conversion
writes them to disk and flushes them there (a model folder is written crash-safely), so the disk's write speed,
measured here in the same run, bounds its time from below: printed as "disk floor".

    python benchmarks/fasttext_bin.py                                   # cc size: ~13 GB of disk, ~8 GB of RAM
    python benchmarks/fasttext_bin.py --words 200000 --buckets 200000  # a quick run
    python benchmarks/fasttext_bin.py --repeat 3                        # each side three times, in turn
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS_PER_WRITE = 1 << 16
DISK_PROBE_BYTES = 1 << 30
# gensim's loader holds the input matrix, its word and n-gram parts and the composed vectors at once: about three
# times the file (2.3 at 200k words; past 12.6 GB for the 7.2 GB cc size before it was stopped). It runs only where
# that is under half the memory available, the machine being shared.
GENSIM_MEMORY_PER_FILE_BYTE = 3
# The sides timed against each other: (name, what the child process runs).
TIMED_SIDES = (("fastText load_model", "fasttext"), ("word2vec convert --from fasttext-bin", "ours"))
# --profile: the conversion's busiest calls shown.
PROFILE_LINES = 30


def write_fasttext_bin(path: Path, words: int, buckets: int, dim: int) -> None:
    """A skip-gram .bin (version 12) with `words` words ("w0", "w1", ...), `buckets` n-gram rows (n-grams 3-6) and
    random float32 input and output matrices, written a block of rows at a time."""
    import numpy as np

    generator = np.random.default_rng(0)
    with open(path, "wb") as file:
        file.write(struct.pack("<2i", 793712314, 12))
        # dim, ws, epoch, minCount, neg, wordNgrams, loss (ns), model (skipgram), bucket, minn, maxn, lrUpdateRate, t
        file.write(struct.pack("<12id", dim, 5, 5, 5, 5, 1, 2, 2, buckets, 3, 6, 100, 1e-4))
        file.write(struct.pack("<3i2q", words, words, 0, words * 10, -1))
        for start in range(0, words, ROWS_PER_WRITE):
            indices = range(start, min(start + ROWS_PER_WRITE, words))
            file.write(
                b"".join(f"w{index}".encode() + b"\0" + struct.pack("<qb", words - index, 0) for index in indices)
            )
        file.write(b"\0")
        for rows in (words + buckets, words):
            file.write(struct.pack("<2q", rows, dim))
            for start in range(0, rows, ROWS_PER_WRITE):
                count = min(ROWS_PER_WRITE, rows - start)
                block = generator.random((count, dim), dtype=np.float32)
                block -= 0.5
                file.write(block.data)
            if rows == words + buckets:
                file.write(b"\0")
        file.flush()
        os.fsync(file.fileno())


def disk_write_speed(folder: Path) -> float:
    """Bytes a second this disk takes durably: DISK_PROBE_BYTES written and fsynced."""
    import numpy as np

    block = np.random.default_rng(1).integers(0, 255, size=1 << 26, dtype=np.uint8).tobytes()
    path = folder / "disk-probe"
    started = time.perf_counter()
    with open(path, "wb") as file:
        for _ in range(DISK_PROBE_BYTES // len(block)):
            file.write(block)
        file.flush()
        os.fsync(file.fileno())
    seconds = time.perf_counter() - started
    path.unlink()
    return DISK_PROBE_BYTES / seconds


def available_memory() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def measure(side: str, path: Path, workdir: Path) -> dict:
    """Run one side in a fresh process: {"seconds", "cpu_seconds", "peak_bytes"} (CPU time, all threads: what a
    shared machine's load does not change much)."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", side, str(path), str(workdir)], capture_output=True, text=True
    )
    if completed.returncode != 0:
        sys.exit(f"{side} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def child(side: str, path: str, workdir: str) -> None:
    start = time.perf_counter()
    if side == "ours":
        from word2vec_hub.conversion.convert import convert_vector_file

        convert_vector_file(path, "fasttext-bin", Path(workdir) / "converted")
    elif side == "ours-profiled":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        from word2vec_hub.conversion.convert import convert_vector_file

        convert_vector_file(path, "fasttext-bin", Path(workdir) / "profiled")
        profiler.disable()
        # The main thread's calls by their wall time, waits included (the flush of the weights, which a thread of the
        # writer starts, shows as the main thread's wait for it).
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(PROFILE_LINES)
    elif side == "fasttext":
        import fasttext

        model = fasttext.load_model(path)
        model.get_word_vector("w0")
    else:
        import warnings

        from gensim.models.fasttext import load_facebook_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            load_facebook_model(path).wv["w0"]
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_bytes": usage.ru_maxrss * 1024}
        )
    )


def report(name: str, result: dict, tables: int) -> dict:
    """Print one side's figures at once (a later side that fails loses nothing) and return them."""
    print(
        f"{name:38s} {result['seconds']:7.1f} s (CPU {result['cpu_seconds']:5.1f} s)   "
        f"peak {result['peak_bytes'] / 1e9:5.2f} GB ({result['peak_bytes'] / tables:.2f}x the tables)   "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--buckets", type=int, default=2_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time fastText's load and ours this many times each, in turn (a shared machine's speed drifts by the "
        "minute); the ratio is then of the medians",
    )
    parser.add_argument("--workdir", help="where the .bin and the converted folder go (default: a temporary folder)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then convert once more under cProfile and print where the main thread's time went (not timed)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(*options.child)
        return
    if options.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {options.repeat}")
    tables = (options.words + options.buckets) * options.dim * 4
    file_bytes = (2 * options.words + options.buckets) * options.dim * 4
    with tempfile.TemporaryDirectory(dir=options.workdir) as workdir:
        if shutil.disk_usage(workdir).free < file_bytes + 1.2 * tables + DISK_PROBE_BYTES:
            sys.exit(f"{workdir} has too little free disk for the .bin ({file_bytes / 1e9:.1f} GB) and the folder")
        path = Path(workdir) / "model.bin"
        started = time.perf_counter()
        write_fasttext_bin(path, options.words, options.buckets, options.dim)
        print(f"wrote {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - started:.0f} s", flush=True)
        speed = disk_write_speed(Path(workdir))
        print(
            f"{options.words:,} words x {options.dim}, {options.buckets:,} buckets: a {file_bytes / 1e9:.2f} GB .bin, "
            f"tables {tables / 1e9:.2f} GB; disk {speed / 1e6:.0f} MB/s, so writing the tables takes at least "
            f"{tables / speed:.1f} s (disk floor)",
            flush=True,
        )
        runs: dict[str, list[dict]] = {name: [] for name, _ in TIMED_SIDES}
        for _ in range(options.repeat):
            for name, side in TIMED_SIDES:
                # Each conversion writes a new folder, not one that replaces the last.
                shutil.rmtree(Path(workdir) / "converted", ignore_errors=True)
                runs[name].append(report(name, measure(side, path, Path(workdir)), tables))
        needed = GENSIM_MEMORY_PER_FILE_BYTE * file_bytes
        if importlib.util.find_spec("gensim") is None:
            print("gensim load_facebook_model left out: gensim is not installed here")
        elif needed < available_memory() / 2:
            report("gensim load_facebook_model", measure("gensim", path, Path(workdir)), tables)
        else:
            print(
                f"gensim load_facebook_model left out: it needs about {needed / 1e9:.0f} GB, and "
                f"{available_memory() / 1e9:.0f} GB of this shared machine are available"
            )
        peer, ours = ([run["seconds"] for run in runs[name]] for name, _ in TIMED_SIDES)
        ratio = statistics.median(ours) / statistics.median(peer)
        if options.repeat == 1:
            print(f"time ours/fastText: {ratio:.2f}", flush=True)
        else:
            rounds = " ".join(f"{mine / theirs:.2f}" for mine, theirs in zip(ours, peer, strict=True))
            print(f"time ours/fastText: {ratio:.2f} (medians of {options.repeat} runs each; by round: {rounds})")
        if options.profile:
            shutil.rmtree(Path(workdir) / "converted")  # the profiled run's folder takes its place on the disk
            profiled = [sys.executable, __file__, "--child", "ours-profiled", str(path), workdir]
            completed = subprocess.run(profiled, capture_output=True, text=True)
            print(completed.stdout[-20000:] if completed.returncode == 0 else f"failed:\n{completed.stderr[-3000:]}")


if __name__ == "__main__":
    main()
