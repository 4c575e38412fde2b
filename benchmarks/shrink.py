"""Smaller folders: size on disk, load time and quality lost by float16, bfloat16, int8, pruning and PCA.

    python benchmarks/shrink.py                                  # trains a bench-en model first (minutes)
    python benchmarks/shrink.py --model path/to/bench-en-model   # reuses one (word2vec train on bench-en)
    python benchmarks/shrink.py --model M --table-words 200000   # a quicker look at the large table

Part 1, bench-en vectors: each variant is made with `word2vec convert MODEL --to folder`; WordSim-353 Spearman and
Google analogy accuracy (top 30,000 words, as the shared data's reference figures) are measured on the folder as it
loads, and compared with the full float32 folder in the same run. Target: int8 loses at most 0.005 on both.
Part 2, a 1M x 300 table of random vectors (the size of a large vocabulary): size on disk and load time of each
dtype, ours (`Word2VecModel.from_pretrained`, tokenizer included) and model2vec's `StaticModel.from_pretrained` of
the same folder as the peer. Each load runs in a fresh process; its time excludes the interpreter start and the
imports, and is the best of `--repeats`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_INT8_LOSS = 0.005
ANALOGY_VOCABULARY = 30_000
# None: the folder as trained (with the skip-gram head). Every other variant leaves the head out, so the figures are
# compared with "float32", the same vectors without it.
VARIANTS = {
    "as trained (float32 + skip-gram head)": None,
    "float32": ["--dtype", "float32"],
    "float16": ["--dtype", "float16"],
    "bfloat16": ["--dtype", "bfloat16"],
    "int8": ["--dtype", "int8"],
    "int8, 30k words": ["--dtype", "int8", "--max-vocab", "30000"],
    "float32, PCA 50": ["--pca-dims", "50"],
    "int8, PCA 50": ["--dtype", "int8", "--pca-dims", "50"],
}
TABLE_DTYPES = ("float32", "float16", "bfloat16", "int8")

LOAD_OURS = """
import sys, time, json
from word2vec_hub.modeling import Word2VecModel
started = time.perf_counter()
model = Word2VecModel.from_pretrained(sys.argv[1])
seconds = time.perf_counter() - started
result = {"seconds": seconds}
if len(sys.argv) > 2:
    pairs = model.evaluate_word_pairs(sys.argv[2])
    analogies = model.evaluate_word_analogies(sys.argv[3], restrict_vocab=int(sys.argv[4]))
    result.update(wordsim=pairs.spearman, analogy=analogies.accuracy)
print(json.dumps(result))
"""
LOAD_MODEL2VEC = """
import sys, time, json
from model2vec import StaticModel
started = time.perf_counter()
StaticModel.from_pretrained(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def shared_data() -> Path:
    return Path(os.environ.get("WORD2VEC_SHARED") or REPO_ROOT.parent / "shared")


def run_python(script: str, *arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    if completed.returncode != 0:
        sys.exit(f"failed: {' '.join(arguments)}\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def word2vec(*arguments: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "word2vec_hub", *arguments], capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"word2vec {' '.join(arguments)} failed:\n{completed.stderr[-3000:]}")


def folder_bytes(folder: Path) -> tuple[int, int]:
    """Bytes of model.safetensors, and of the whole folder."""
    return (folder / "model.safetensors").stat().st_size, sum(path.stat().st_size for path in folder.iterdir())


def best_load(script: str, folder: Path, repeats: int) -> float:
    return min(run_python(script, str(folder))["seconds"] for _ in range(repeats))


def bench_en_part(model: Path, workdir: Path, repeats: int) -> None:
    evaluation = shared_data() / "data" / "eval"
    pairs, analogies = evaluation / "wordsim353.tsv", evaluation / "questions-words.txt"
    print(f"## bench-en vectors: {model}")
    print("| variant | model.safetensors | folder | load s | WordSim-353 Spearman | analogy (top 30k) |")
    print("|---|---|---|---|---|---|")
    reference = None
    for name, options in VARIANTS.items():
        folder = model
        if options is not None:
            folder = workdir / name.replace(" ", "").replace(",", "-")
            word2vec("convert", str(model), "--to", "folder", "--output", str(folder), *options)
        quality = run_python(LOAD_OURS, str(folder), str(pairs), str(analogies), str(ANALOGY_VOCABULARY))
        seconds = min([quality["seconds"], *(best_load(LOAD_OURS, folder, 1) for _ in range(repeats - 1))])
        weights, total = folder_bytes(folder)
        if name == "float32":
            reference = {"weights": weights, **quality}
        if reference is None:
            print(
                f"| {name} | {weights / 2**20:.1f} MiB | {total / 2**20:.1f} MiB | {seconds:.2f} "
                f"| {quality['wordsim']:.4f} | {quality['analogy']:.4f} |"
            )
            continue
        print(
            f"| {name} | {weights / 2**20:.1f} MiB ({weights / reference['weights']:.2f}x) | {total / 2**20:.1f} MiB "
            f"| {seconds:.2f} | {quality['wordsim']:.4f} ({quality['wordsim'] - reference['wordsim']:+.4f}) "
            f"| {quality['analogy']:.4f} ({quality['analogy'] - reference['analogy']:+.4f}) |"
        )
        if name == "int8":
            losses = (reference["wordsim"] - quality["wordsim"], reference["analogy"] - quality["analogy"])
            met = all(loss <= TARGET_INT8_LOSS for loss in losses)
            int8_verdict = (
                f"int8 loses {losses[0]:+.4f} WordSim, {losses[1]:+.4f} analogy: target <= {TARGET_INT8_LOSS}"
            )
            int8_verdict += " met" if met else " NOT met"
    print(int8_verdict)


def large_table_part(words: int, dim: int, workdir: Path, repeats: int) -> None:
    import torch

    from word2vec_hub.folders.model_folder import save_model_folder
    from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
    from word2vec_hub.tokenization.word_level import SPECIAL_TOKENS, empty_word_level_tokenizer, wrap_tokenizer

    vocabulary = {token: row for row, token in enumerate([*SPECIAL_TOKENS, *(f"w{i}" for i in range(words))])}
    config = Word2VecConfig(vocab_size=len(vocabulary), hidden_size=dim, has_context_vectors=False, architecture=None)
    with torch.device("meta"):
        model = Word2VecModel(config)
    table = torch.randn(len(vocabulary), dim, generator=torch.Generator().manual_seed(0)) * 0.1
    table[: len(SPECIAL_TOKENS)] = 0
    model.embeddings = torch.nn.Parameter(table)
    model.counts = torch.zeros(len(vocabulary), dtype=torch.int64)
    model.set_tokenizer(wrap_tokenizer(empty_word_level_tokenizer(vocab=vocabulary)))
    print(f"\n## a {words:,} x {dim} table (random vectors)")
    print("| dtype | model.safetensors | folder | our load s | model2vec load s (peer) | ours / model2vec |")
    print("|---|---|---|---|---|---|")
    reference = None
    for table_dtype in TABLE_DTYPES:
        folder = workdir / f"table-{table_dtype}"
        save_model_folder(model, model.tokenizer, folder, table_dtype=table_dtype)
        weights, total = folder_bytes(folder)
        reference = reference or weights
        ours = best_load(LOAD_OURS, folder, repeats)
        peer = (
            "cannot read bfloat16" if table_dtype == "bfloat16" else f"{best_load(LOAD_MODEL2VEC, folder, repeats):.2f}"
        )
        ratio = "" if table_dtype == "bfloat16" else f"{ours / float(peer):.2f}"
        print(
            f"| {table_dtype} | {weights / 2**20:.0f} MiB ({weights / reference:.2f}x) | {total / 2**20:.0f} MiB "
            f"| {ours:.2f} | {peer} | {ratio} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a model folder trained on bench-en (default: train one)")
    parser.add_argument("--table-words", type=int, default=1_000_000)
    parser.add_argument("--table-dim", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="loads of each folder; the best is reported")
    parser.add_argument("--part", choices=("all", "bench-en", "table"), default="all")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shrink-bench-") as temporary:
        workdir = Path(temporary)
        model = options.model
        if model is None and options.part != "table":
            corpus = shared_data() / "data" / "bench-en.txt.gz"
            model = workdir / "bench-en"
            print(f"training {model} on {corpus} (dim 100, 3 epochs, sample 1e-4, min_count 5)")
            word2vec(
                "train", "--corpus", str(corpus), "--output", str(model), "--dim", "100", "--epochs", "3",
                "--sample", "1e-4", "--min-count", "5", "--no-progress",
            )  # fmt: skip
        if options.part != "table":
            bench_en_part(model, workdir, options.repeats)
        if options.part != "bench-en":
            large_table_part(options.table_words, options.table_dim, workdir, options.repeats)


if __name__ == "__main__":
    main()
