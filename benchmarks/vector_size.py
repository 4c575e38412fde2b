"""Vectors at the size people bring: converting a word2vec binary file and loading the result, against gensim.

    python benchmarks/vector_size.py                     # 1M words x 300 (a 1.2 GB file, GoogleNews is 3M)
    python benchmarks/vector_size.py --words 3000000     # GoogleNews size: 3.6 GB of file and of memory
    python benchmarks/vector_size.py --words 200000      # a quick look

The file is generated (deterministic random words and vectors) in a temporary folder that is deleted afterwards.
Each step runs in a subprocess of its own, so that its peak resident memory (VmHWM) is its own; times exclude the
interpreter start and the imports (torch and transformers for ours, gensim for gensim), whose memory is reported as
the baseline of the step. Steps: gensim's `KeyedVectors.load_word2vec_format`; our conversion as the `convert`
command runs it; `AutoModel.from_pretrained` + `AutoTokenizer.from_pretrained` of the converted folder; the first
`most_similar` after loading.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = ("gensim", "convert", "load", "query")
TARGET_PEAK_OVER_TABLE = 1.3
TARGET_LOAD_OVER_GENSIM = 1.5
TARGET_FIRST_QUERY_SECONDS = 1.0
QUERY_WORD_ROW = 12_345


def memory_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field} (this benchmark needs Linux)")


def generate_file(path: Path, count: int, dim: int, seed: int = 0) -> None:
    """A word2vec binary file as the C tool writes it: `COUNT DIM\\n`, then `word` + space + DIM float32 + `\\n`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 14, size=count)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    stems = alphabet[rng.integers(0, 26, size=int(lengths.sum()))].tobytes().decode()
    ends = np.cumsum(lengths)
    # A random stem of 2-13 letters made unique by the row number after it (letters then digits: no two collide).
    words = [
        f"{stems[end - length : end]}{row}"
        for row, (end, length) in enumerate(zip(ends.tolist(), lengths.tolist(), strict=True))
    ]
    with open(path, "wb") as handle:
        handle.write(f"{count} {dim}\n".encode())
        for start in range(0, count, 50_000):
            stop = min(start + 50_000, count)
            vectors = rng.standard_normal((stop - start, dim), dtype=np.float32) * 0.1
            handle.write(
                b"".join(
                    word.encode() + b" " + vector.tobytes() + b"\n"
                    for word, vector in zip(words[start:stop], vectors, strict=True)
                )
            )


def step_gensim(file: Path, folder: Path) -> dict:
    from gensim.models import KeyedVectors

    baseline = memory_mb("VmHWM")
    started = time.perf_counter()
    keyed = KeyedVectors.load_word2vec_format(str(file), binary=True)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "baseline_mb": baseline, "words": len(keyed)}


def step_convert(file: Path, folder: Path) -> dict:
    import word2vec_hub.conversion.convert  # noqa: F401 (imported by run(); importing is not converting)
    from word2vec_hub.commands import convert

    parser = argparse.ArgumentParser()
    convert.add_arguments(parser)
    options = parser.parse_args([str(file), "--from", "word2vec-bin", "--output", str(folder)])
    baseline = memory_mb("VmHWM")
    started = time.perf_counter()
    status = convert.run(options)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"convert exited with {status}")
    return {"seconds": seconds, "baseline_mb": baseline}


def step_load(file: Path, folder: Path) -> dict:
    from transformers import AutoModel, AutoTokenizer

    import word2vec_hub.modeling  # noqa: F401 (registers the Auto classes)

    baseline = memory_mb("VmHWM")
    started = time.perf_counter()
    model = AutoModel.from_pretrained(folder)
    model_seconds = time.perf_counter() - started
    tokenizer = AutoTokenizer.from_pretrained(folder)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "model_seconds": model_seconds,
        "baseline_mb": baseline,
        "words": len(tokenizer) - 2,
        "rows": model.config.vocab_size,
    }


def step_query(file: Path, folder: Path) -> dict:
    from transformers import AutoModel

    import word2vec_hub.modeling  # noqa: F401 (registers the Auto classes)

    baseline = memory_mb("VmHWM")
    model = AutoModel.from_pretrained(folder)
    word = model.tokenizer.convert_ids_to_tokens(QUERY_WORD_ROW)
    started = time.perf_counter()
    first = model.most_similar(word, topn=10)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    model.most_similar(model.tokenizer.convert_ids_to_tokens(QUERY_WORD_ROW + 1), topn=10)
    return {
        "seconds": seconds,
        "second_query_seconds": time.perf_counter() - started,
        "baseline_mb": baseline,
        "neighbour": first[0][0],
    }


def run_step(step: str, file: Path, folder: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", step, str(file), str(folder)], capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def print_table(results: dict[str, dict], table_mb: float, words: int, dim: int) -> None:
    gensim_seconds = results["gensim"]["seconds"]
    targets = {
        "gensim": ("peer", None, None),
        "convert": (f"<= gensim ({gensim_seconds:.1f} s)", gensim_seconds, TARGET_PEAK_OVER_TABLE),
        "load": (
            f"<= {TARGET_LOAD_OVER_GENSIM} x gensim ({TARGET_LOAD_OVER_GENSIM * gensim_seconds:.1f} s)",
            TARGET_LOAD_OVER_GENSIM * gensim_seconds,
            TARGET_PEAK_OVER_TABLE,
        ),
        "query": (f"<= {TARGET_FIRST_QUERY_SECONDS:.0f} s", TARGET_FIRST_QUERY_SECONDS, None),
    }
    print(f"\n{words:,} words x {dim}: the table is {table_mb:,.0f} MB of float32\n")
    header = (
        f"{'step':<8} {'seconds':>8} {'time target':<22} {'baseline MB':>11} {'peak MB':>8} "
        f"{'peak/table':>10} {'(peak-base)/table':>17}  verdict"
    )
    print(header)
    print("-" * len(header))
    for step in STEPS:
        result = results[step]
        label, limit_seconds, limit_peak = targets[step]
        peak_ratio = result["peak_mb"] / table_mb
        verdicts = []
        if limit_seconds is not None:
            verdicts.append("time ok" if result["seconds"] <= limit_seconds else "time MISSED")
        if limit_peak is not None:
            verdicts.append("peak ok" if peak_ratio <= limit_peak else f"peak MISSED (target {limit_peak} x table)")
        baseline, peak = result["baseline_mb"], result["peak_mb"]
        print(
            f"{step:<8} {result['seconds']:>8.2f} {label:<22} {baseline:>11,.0f} {peak:>8,.0f} "
            f"{peak_ratio:>10.2f} {(peak - baseline) / table_mb:>17.2f}  {', '.join(verdicts)}"
        )
    load, convert, query = results["load"], results["convert"], results["query"]
    print(
        f"\nload: from_pretrained {load['model_seconds']:.2f} s + tokenizer "
        f"{load['seconds'] - load['model_seconds']:.2f} s; load / gensim = {load['seconds'] / gensim_seconds:.2f}; "
        f"convert / gensim = {convert['seconds'] / gensim_seconds:.2f}; "
        f"second query {query['second_query_seconds']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--workdir", type=Path, help="where to generate the file (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=3, metavar=("STEP", "FILE", "FOLDER"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        step, file, folder = options.child
        result = globals()[f"step_{step}"](Path(file), Path(folder))
        print(json.dumps({**result, "peak_mb": memory_mb("VmHWM")}))
        return
    if options.words <= QUERY_WORD_ROW + 1:
        parser.error(f"--words must be more than {QUERY_WORD_ROW + 1}")
    workdir = Path(tempfile.mkdtemp(prefix="vector-size-", dir=options.workdir))
    try:
        file, folder = workdir / "vectors.bin", workdir / "converted"
        started = time.perf_counter()
        generate_file(file, options.words, options.dim)
        print(f"generated {file} ({file.stat().st_size / 2**20:,.0f} MB) in {time.perf_counter() - started:.1f} s")
        results = {}
        for step in STEPS:
            results[step] = run_step(step, file, folder)
            print(f"{step}: {results[step]}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table_mb = options.words * options.dim * 4 / 2**20
    print_table(results, table_mb, options.words, options.dim)
    if options.json:
        settings = {"words": options.words, "dim": options.dim, "table_mb": table_mb}
        options.json.write_text(json.dumps({"settings": settings, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
