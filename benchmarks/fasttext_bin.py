"""Converting a fastText .bin model (`word2vec convert --from fasttext-bin`) against the fasttext library's own
`load_model`, each in a fresh process: wall time and peak memory, and the ratio.

The .bin is written here with random values in fastText's layout (conversion/fasttext_bin.py describes it): the
default is the size of the 157-language `cc.*.300.bin` files, 2M words x 300 with 2M buckets (7.2 GB on disk).

    python benchmarks/fasttext_bin.py                                   # cc size (needs ~25 GB of disk, 24 GB RAM)
    python benchmarks/fasttext_bin.py --words 200000 --buckets 200000  # a quick run
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS_PER_WRITE = 1 << 16


def write_fasttext_bin(path: Path, words: int, buckets: int, dim: int) -> None:
    """A skip-gram .bin (version 12) with `words` words ("w0", "w1", ...), `buckets` n-gram rows (n-grams 3-6) and
    random float32 input and output matrices."""
    import numpy as np

    generator = np.random.default_rng(0)
    with open(path, "wb") as file:
        file.write(struct.pack("<2i", 793712314, 12))
        # dim, ws, epoch, minCount, neg, wordNgrams, loss (ns), model (skipgram), bucket, minn, maxn, lrUpdateRate, t
        file.write(struct.pack("<12id", dim, 5, 5, 5, 5, 1, 2, 2, buckets, 3, 6, 100, 1e-4))
        file.write(struct.pack("<3i2q", words, words, 0, words * 10, -1))
        entries = b"".join(
            f"w{index}".encode() + b"\0" + struct.pack("<qb", words - index, 0) for index in range(words)
        )
        file.write(entries)
        file.write(b"\0")
        for rows in (words + buckets, words):
            file.write(struct.pack("<2q", rows, dim))
            for start in range(0, rows, ROWS_PER_WRITE):
                count = min(ROWS_PER_WRITE, rows - start)
                file.write(generator.standard_normal((count, dim), dtype=np.float32).tobytes())
            if rows == words + buckets:
                file.write(b"\0")


def measure(side: str, path: Path, workdir: Path) -> dict:
    """Run one side in a fresh process: {"seconds", "peak_bytes"}."""
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
    else:
        import fasttext

        model = fasttext.load_model(path)
        model.get_word_vector("w0")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_bytes": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--buckets", type=int, default=2_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--workdir", help="where the .bin and the converted folder go (default: a temporary folder)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(*options.child)
        return
    with tempfile.TemporaryDirectory(dir=options.workdir) as workdir:
        path = Path(workdir) / "model.bin"
        started = time.perf_counter()
        write_fasttext_bin(path, options.words, options.buckets, options.dim)
        print(f"wrote {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - started:.0f} s", flush=True)
        tables = (2 * options.words + options.buckets) * options.dim * 4
        ours = measure("ours", path, Path(workdir))
        peer = measure("fasttext", path, Path(workdir))
    print(f"{options.words:,} words x {options.dim}, {options.buckets:,} buckets; tables {tables / 1e9:.2f} GB")
    for name, result in (("word2vec convert --from fasttext-bin", ours), ("fasttext.load_model", peer)):
        print(
            f"{name:38s} {result['seconds']:7.1f} s   peak {result['peak_bytes'] / 1e9:5.2f} GB "
            f"({result['peak_bytes'] / tables:.2f}x the tables)"
        )
    print(f"time ours/fastText: {ours['seconds'] / peer['seconds']:.2f}")


if __name__ == "__main__":
    main()
