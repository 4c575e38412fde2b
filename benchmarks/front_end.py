"""Speed and memory of the front end (read, split, count, vocabulary, encode) on bench-en repeated, with `wc -w` on
the same file in the same run as what reading alone costs.

    python benchmarks/front_end.py                  # bench-en x 9 (108M words), plain and .gz, 1 and all workers
    python benchmarks/front_end.py --repeat 2 --workers 2
    python benchmarks/front_end.py --memory         # peak memory at bench-en x 1 and x 8 (plain, all workers;
                                                    # x 8 also at min_count 40, which keeps x 1's vocabulary)
    python benchmarks/front_end.py --line-reader    # also the line reader (the path before issue 25), x 1
    python benchmarks/front_end.py --saving         # model.safetensors of 500k x 100 against a plain write
    python benchmarks/front_end.py --decompression  # bench-en.txt.gz through Python's gzip and through isal

The corpus is written once into a temporary folder: the plain file is bench-en unpacked and repeated, the .gz the
shared bench-en.txt.gz repeated as gzip members (which decompress to the same text). Each measurement runs in a
fresh process (`word2vec_hub.training.vocabulary.encode_corpus`, min_count 5, the defaults' normalisation), so its
peak resident memory is its own. Words/s is corpus words over wall seconds; CPU seconds count every thread of the
process and of the line reader's worker processes, which tells how much of the machine it used when others share
it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import exit_if_missing

from word2vec_hub.shared_data import shared_dir

BENCH_EN = shared_dir() / "data" / "bench-en.txt.gz"
TARGET_WORDS_PER_SECOND = 10e6


def process_and_children_cpu() -> float:
    """CPU seconds of this process's threads and of its ended child processes (the line reader's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def child(corpus_path: str, options: dict) -> dict:
    """In a fresh process: the front end on `corpus_path`; its phases, CPU seconds and peak memory."""
    from word2vec_hub.training.arguments import TrainingArguments
    from word2vec_hub.training.corpus import TextCorpus
    from word2vec_hub.training.vocabulary import encode_corpus

    corpus = TextCorpus.from_files([corpus_path])
    if options["line_reader"]:
        corpus.files = None  # the lines, as TextCorpus iterates them, through the line reader
    args = TrainingArguments(workers=options["workers"], min_count=options["min_count"])
    with tempfile.TemporaryDirectory(prefix="front-end-bench-") as workdir:
        cpu_before, started = process_and_children_cpu(), time.perf_counter()
        text = encode_corpus(corpus, args, workdir)
        wall, cpu = time.perf_counter() - started, process_and_children_cpu() - cpu_before
    return {
        "words": text.encoded.word_count,
        "tokens": text.encoded.num_tokens,
        "vocabulary": text.tokenizer.get_vocab_size(),
        "seconds": wall,
        "cpu_seconds": cpu,
        "reading": text.seconds_reading,
        "vocabulary_and_encoding": text.seconds_encoding,
        # Linux reports kilobytes; the reader's worker processes of the line reader are children.
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def saving_child(vocab_size: int, dim: int) -> dict:
    """In a fresh process: `save_pretrained` of a model of `vocab_size` x `dim` (both tables) against writing the
    same bytes with one `write` each; the peak memory before and after saving."""
    import torch

    from word2vec_hub.modeling import Word2VecConfig, Word2VecModel

    model = Word2VecModel(Word2VecConfig(vocab_size=vocab_size, hidden_size=dim))
    tables = list(model.state_dict().values())
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="front-end-bench-") as folder:
        started = time.perf_counter()
        with open(Path(folder) / "tables.bin", "wb") as out:
            for tensor in tables:
                out.write(memoryview(tensor.contiguous().numpy()))
            os.fsync(out.fileno())
        plain = time.perf_counter() - started
        started = time.perf_counter()
        model.save_pretrained(folder)
        with open(Path(folder) / "model.safetensors", "rb") as written:
            os.fsync(written.fileno())
        saving = time.perf_counter() - started
    return {
        "mib": sum(tensor.numel() * tensor.element_size() for tensor in tables) / 2**20,
        "plain_write": plain,
        "save_pretrained": saving,
        "peak_before_mib": peak_before,
        "peak_after_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
    }


def decompression() -> None:
    """CPU seconds to decompress bench-en.txt.gz in reads of 8 MiB (the byte reader's ranges), each opener twice."""
    openers = {"gzip": gzip.open}
    try:
        from isal import igzip

        openers["isal"] = igzip.open
    except ImportError:
        print("isal is not installed: pip install isal")
    for name, opener in openers.items():
        for _ in range(2):
            started = time.process_time()
            with opener(BENCH_EN, "rb") as packed:
                size = sum(len(chunk) for chunk in iter(lambda: packed.read(1 << 23), b""))
            print(f"{name}: {size / 2**20:.0f} MiB out in {time.process_time() - started:.3f} CPU s")


def run_child(corpus: Path, workers: int, line_reader: bool = False, min_count: int = 5) -> dict:
    options = {"workers": workers, "line_reader": line_reader, "min_count": min_count}
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(corpus), json.dumps(options)], capture_output=True, text=True
    )
    if completed.returncode != 0:
        sys.exit(f"the front end failed on {corpus}:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def make_corpora(folder: Path, repeat: int) -> tuple[Path, Path]:
    """bench-en x `repeat`, plain and .gz."""
    plain, packed = folder / f"bench-en-x{repeat}.txt", folder / f"bench-en-x{repeat}.txt.gz"
    with gzip.open(BENCH_EN, "rb") as source:
        text = source.read()
    with open(plain, "wb") as out:
        for _ in range(repeat):
            out.write(text)
    with open(packed, "wb") as out:
        for _ in range(repeat):
            with open(BENCH_EN, "rb") as member:
                shutil.copyfileobj(member, out)
    return plain, packed


def word_count_reference(path: Path) -> dict:
    """`wc -w` on `path`: what reading and splitting alone cost, in C, on one core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(["wc", "-w", str(path)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"words": int(completed.stdout.split()[0]), "seconds": wall, "cpu_seconds": cpu}


def report(label: str, result: dict) -> None:
    rate = result["words"] / result["seconds"]
    print(
        f"{label:<44} {result['words'] / 1e6:7.1f}M words {result['seconds']:7.2f} s {rate / 1e6:6.1f}M words/s "
        f"(cpu {result['cpu_seconds']:6.2f} s; reading {result['reading']:6.2f} s, vocabulary and encoding "
        f"{result['vocabulary_and_encoding']:5.2f} s; peak {result['peak_mib']:,.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="copies of bench-en (12M words each)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--memory", action="store_true", help="peak memory at bench-en x 1 and x 8")
    parser.add_argument("--line-reader", action="store_true", help="also the line reader on bench-en x 1")
    parser.add_argument("--saving", action="store_true", help="model.safetensors against a plain write")
    parser.add_argument("--decompression", action="store_true", help="bench-en.txt.gz through gzip and isal")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        if options.child[0] == "saving":
            print(json.dumps(saving_child(**json.loads(options.child[1]))))
        else:
            print(json.dumps(child(options.child[0], json.loads(options.child[1]))))
        return
    if options.decompression:
        decompression()
        return
    if options.saving:
        completed = subprocess.run(
            [sys.executable, __file__, "--child", "saving", json.dumps({"vocab_size": 500_000, "dim": 100})],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        print(
            f"tables {result['mib']:.0f} MiB: one write each and fsync {result['plain_write']:.2f} s, save_pretrained "
            f"and fsync {result['save_pretrained']:.2f} s; peak memory {result['peak_before_mib']:,.0f} MiB before "
            f"saving, {result['peak_after_mib']:,.0f} MiB after"
        )
        return
    exit_if_missing([BENCH_EN])
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory(prefix="front-end-bench-") as folder:
        if options.memory:
            # bench-en x 8 holds every word of x 1 eight times: min_count 40 there keeps x 1's vocabulary at
            # min_count 5, so that what grows is the corpus's share alone; min_count 5 adds the words seen 1 to 4
            # times in x 1 to the vocabulary.
            workers = max(options.workers)
            for repeat, min_count in ((1, 5), (8, 40), (8, 5)):
                plain, _ = make_corpora(Path(folder), repeat)
                result = run_child(plain, workers, min_count=min_count)
                report(f"bench-en x {repeat}, min_count {min_count}, {result['vocabulary']:,} tokens", result)
                plain.unlink()
            return
        plain, packed = make_corpora(Path(folder), options.repeat)
        reference = word_count_reference(plain)
        print(
            f"{'wc -w ' + plain.name:<44} {reference['words'] / 1e6:7.1f}M words {reference['seconds']:7.2f} s "
            f"{reference['words'] / reference['seconds'] / 1e6:6.1f}M words/s (cpu {reference['cpu_seconds']:.2f} s)"
        )
        best = 0.0
        for path in (plain, packed):
            for workers in options.workers:
                result = run_child(path, workers)
                report(f"{path.name}, {workers} workers", result)
                best = max(best, result["words"] / result["seconds"])
        if options.line_reader:
            one = Path(folder) / "bench-en-x1.txt"
            with gzip.open(BENCH_EN, "rb") as source, open(one, "wb") as out:
                shutil.copyfileobj(source, out)
            report(f"line reader, {one.name}", run_child(one, max(options.workers), line_reader=True))
        verdict = "met" if best >= TARGET_WORDS_PER_SECOND else "NOT met"
        print(f"target >= {TARGET_WORDS_PER_SECOND / 1e6:.0f}M words/s: {verdict} ({best / 1e6:.1f}M words/s best)")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
