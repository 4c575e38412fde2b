"""The GPU engine's settings, measured: the Triton kernel's speed over its launch settings, and the quality each
setting trains to on bench-en against the CPU kernel. This is how the engine's defaults were chosen
(benchmarks/train_speed.py --device cuda measures the chosen engine end to end).

    python benchmarks/gpu_engine.py speed                # dims 100 and 300, a grid of settings, synthetic blocks
    python benchmarks/gpu_engine.py modes                # dims 100 and 300, skip-gram and CBOW, NS and HS, subwords
    python benchmarks/gpu_engine.py modes --models "skip-gram ns sw" "cbow ns sw"   # the subword (fastText) phases
    TRITON_INTERPRET=0 python benchmarks/gpu_engine.py registers   # no GPU needed: each kernel compiled for sm_90
    python benchmarks/gpu_engine.py quality              # bench-en, 3 epochs: the engine's settings and the CPU kernel
    python benchmarks/gpu_engine.py quality --corpus ../shared/data/ptb/ptb.train.txt --engines numba triton torch

`speed` times `train_pairs` alone and building a block's pairs, on blocks of 1M synthetic tokens (Zipf-distributed
ids over --vocab words, sentences of 20, subsampled at 1e-4 as the trainer does). Words/s counts the block's tokens
before subsampling, as the trainer counts. `modes` times, on the same blocks and at the engine's settings, each
model's two phases: building the block's examples (pairs, or CBOW windows) and the kernel (`train_pairs`, or
`train_windows`), with negative sampling (--negative) or hierarchical softmax over the counts' Huffman tree. The
subword models ("sw": fastText's, `train_centers` for skip-gram, `train_windows` with an n-gram table for CBOW)
give each synthetic word random letters, fewer for frequent words (`synthetic_subword_rows`: as many n-gram rows
a token as bench-en's), whose --min-n to --max-n grams hash into --bucket rows.
`registers` compiles each model's kernel for sm_90 with Triton's own ptxas (no GPU needed) and prints its
registers per thread (which set how many programs a multiprocessor holds) and its count of SASS instructions.
`quality` trains a fresh model per setting and model (--models; skip-gram with negative sampling by default), and
one with the CPU kernel on every core, through the trainer as a user runs it, and prints the training phase's
words/s, WordSim-353 and Google-analogy (top 30,000).

    python benchmarks/gpu_engine.py quality --models "skip-gram ns" "cbow ns" "skip-gram hs" "cbow hs" \\
        "skip-gram ns sw" "cbow ns sw"          # each model on the GPU against the CPU kernel
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import tempfile
import time
from pathlib import Path

from harness import add_skipgram_arguments, exit_if_missing

from word2vec_hub.shared_data import shared_dir

SHARED = shared_dir() / "data"
WORDSIM = SHARED / "eval" / "wordsim353.tsv"
ANALOGIES = SHARED / "eval" / "questions-words.txt"


def synthetic_block(vocab: int, tokens: int, seed: int = 0):
    """Zipf-distributed token ids (2 .. vocab + 1; 0 and 1 are the special tokens) and each id's count."""
    import numpy as np

    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocab + 1)
    ids = rng.choice(vocab, size=tokens, p=weights / weights.sum()).astype(np.int64) + 2
    return ids, np.bincount(ids, minlength=vocab + 2)


def seconds_of(step, device, repeats: int = 5) -> float:
    """Seconds a call of `step` takes on `device`, the mean of `repeats` after one to warm up (and compile)."""
    import torch

    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / repeats


def measure_speed(options: argparse.Namespace) -> None:
    import torch

    from word2vec_hub.training import triton_engine
    from word2vec_hub.training.sampling import alias_table, keep_probabilities, noise_distribution, shuffled_pairs

    device = torch.device(options.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (Triton's interpreter)"
    print(f"{name}, torch {torch.__version__}, triton {triton_engine.triton.__version__}")

    tokens_np, counts_np = synthetic_block(options.vocab, options.tokens)
    counts = torch.from_numpy(counts_np)
    counts[:2] = 0
    keep = keep_probabilities(counts, options.sample).float().to(device)
    noise = triton_engine.NoiseTable(*alias_table(noise_distribution(counts).numpy()), device)
    tokens = torch.from_numpy(tokens_np).to(device)
    sentence_ids = torch.arange(tokens.shape[0], device=device) // 20
    generator = torch.Generator(device=device).manual_seed(0)

    def build_pairs():
        return shuffled_pairs(tokens, sentence_ids, keep, options.window, generator)

    pairs_seconds = seconds_of(build_pairs, device)
    centers, contexts = build_pairs()
    words = tokens.shape[0]
    print(
        f"block: {words:,} tokens, {centers.shape[0]:,} pairs ({centers.shape[0] / words:.2f} a token), "
        f"vocabulary {options.vocab:,}; building the pairs {pairs_seconds * 1e3:.1f} ms "
        f"({words / pairs_seconds:,.0f} words/s)"
    )
    print(f"\n{'dim':>4} {'pairs':>5} {'warps':>5} {'update':<7} {'ms':>7} {'pairs/s':>14} {'words/s':>14}")
    for dim in options.dims:
        embeddings = ((torch.rand(options.vocab + 2, dim, device=device) - 0.5) / dim).contiguous()
        context = ((torch.rand(options.vocab + 2, dim, device=device) - 0.5) / dim).contiguous()
        default = triton_engine.default_pairs_per_program(dim)
        for pairs, warps, atomic in itertools.product(
            options.pairs or sorted({default // 4, default // 2, default, default * 2} - {0}),
            options.warps or [2, 4, 8],
            (True, False) if options.stores else (True,),
        ):
            step = functools.partial(
                triton_engine.train_pairs, embeddings, context, centers, contexts, noise, options.negative,
                0.025, 0.0001, 1, pairs_per_program=pairs, warps=warps, atomic=atomic,
            )  # fmt: skip
            seconds = seconds_of(step, device)
            print(
                f"{dim:>4} {pairs:>5} {warps:>5} {'atomic' if atomic else 'store':<7} {seconds * 1e3:>7.2f} "
                f"{centers.shape[0] / seconds:>14,.0f} {words / seconds:>14,.0f}"
            )


# The models `modes` and `registers` measure: (name, cbow, hierarchical softmax, subwords).
MODES = (
    ("skip-gram ns", False, False, False),
    ("cbow ns", True, False, False),
    ("skip-gram hs", False, True, False),
    ("cbow hs", True, True, False),
    ("skip-gram ns sw", False, False, True),
    ("cbow ns sw", True, False, True),
)


def synthetic_subword_rows(vocab: int, min_n: int, max_n: int, bucket: int, seed: int = 0):
    """`SubwordRows` of `synthetic_block`'s `vocab` words (after the two special tokens, which get none): random
    letters, 2 + log2(rank + 2) / 2.5 of them, so that frequent words are short as in English: a token has 4.6
    letters and 12.7 n-gram rows (3-6) on average at 70,000 words, where bench-en's first 20,000 lines have 4.7 and
    13.0."""
    import math
    import random

    from word2vec_hub.training.subword_rows import SubwordRows

    rng = random.Random(seed)
    lengths = [2 + int(math.log2(rank + 2) / 2.5) for rank in range(vocab)]
    words = ["[PAD]", "[UNK]"] + ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=length)) for length in lengths]
    return SubwordRows.from_words(words, min_n, max_n, bucket, without=(0, 1))


def measure_modes(options: argparse.Namespace) -> None:
    import torch

    from word2vec_hub.modeling.modeling_word2vec import huffman_tree
    from word2vec_hub.training import triton_engine
    from word2vec_hub.training.sampling import (
        alias_table,
        keep_probabilities,
        noise_distribution,
        shuffled_pairs,
        shuffled_windows,
    )

    device = torch.device(options.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (Triton's interpreter)"
    print(f"{name}, torch {torch.__version__}, triton {triton_engine.triton.__version__}")
    tokens_np, counts_np = synthetic_block(options.vocab, options.tokens)
    counts = torch.from_numpy(counts_np)
    counts[:2] = 0
    keep = keep_probabilities(counts, options.sample).float().to(device)
    noise = triton_engine.NoiseTable(*alias_table(noise_distribution(counts).numpy()), device)
    tree = huffman_tree(counts)
    tokens = torch.from_numpy(tokens_np).to(device)
    sentence_ids = torch.arange(tokens.shape[0], device=device) // 20
    generator = torch.Generator(device=device).manual_seed(0)
    words = tokens.shape[0]
    print(f"block: {words:,} tokens, vocabulary {options.vocab:,}, window {options.window}, sample {options.sample}")
    models = [mode for mode in MODES if options.models is None or mode[0] in options.models]
    subword_rows = None
    if any(subwords for *_, subwords in models):
        subword_rows = synthetic_subword_rows(options.vocab, options.min_n, options.max_n, options.bucket)
        rows_a_word = subword_rows.starts[tokens_np + 1] - subword_rows.starts[tokens_np]
        print(f"subwords: n-grams {options.min_n}-{options.max_n} in {options.bucket:,} rows, "
              f"{rows_a_word.mean():.1f} n-gram rows a token")  # fmt: skip
    print(f"\n{'dim':>4} {'model':<15} {'examples':>10} {'build ms':>9} {'kernel ms':>10} {'kernel words/s':>15} "
          f"{'words/s':>14}")  # fmt: skip
    for dim in options.dims:
        rows = options.vocab + 2
        embeddings = ((torch.rand(rows, dim, device=device) - 0.5) / dim).contiguous()
        context = ((torch.rand(rows, dim, device=device) - 0.5) / dim).contiguous()
        softmax = triton_engine.SoftmaxTree(tree, ((torch.rand(rows - 1, dim, device=device) - 0.5) / dim).contiguous())
        subwords = None
        if subword_rows is not None:
            ngrams = ((torch.rand(options.bucket, dim, device=device) - 0.5) / dim).contiguous()
            subwords = triton_engine.SubwordTable(ngrams, subword_rows)
        for model, cbow, hs, with_subwords in models:
            negative = 0 if hs else options.negative
            output_layer = {"softmax": softmax if hs else None}
            if with_subwords:
                build = functools.partial(shuffled_windows, tokens, sentence_ids, keep, options.window, generator)
                windows = build()
                examples = len(windows)
                if cbow:
                    step = functools.partial(
                        triton_engine.train_windows, embeddings, context, windows, noise, negative, 0.025, 0.0001, 1,
                        options.window, subwords=subwords, **output_layer,
                    )  # fmt: skip
                else:
                    step = functools.partial(
                        triton_engine.train_centers, embeddings, context, windows, subwords, noise, negative, 0.025,
                        0.0001, 1, options.window, **output_layer,
                    )  # fmt: skip
            elif cbow:
                build = functools.partial(shuffled_windows, tokens, sentence_ids, keep, options.window, generator)
                windows = build()
                examples = len(windows)
                step = functools.partial(
                    triton_engine.train_windows, embeddings, context, windows, noise, negative, 0.025, 0.0001, 1,
                    options.window, **output_layer,
                )  # fmt: skip
            else:
                build = functools.partial(shuffled_pairs, tokens, sentence_ids, keep, options.window, generator)
                centers, contexts = build()
                examples = centers.shape[0]
                step = functools.partial(
                    triton_engine.train_pairs, embeddings, context, centers, contexts, noise, negative, 0.025,
                    0.0001, 1, **output_layer,
                )  # fmt: skip
            build_seconds, kernel_seconds = seconds_of(build, device), seconds_of(step, device)
            print(
                f"{dim:>4} {model:<15} {examples:>10,} {build_seconds * 1e3:>9.2f} {kernel_seconds * 1e3:>10.2f} "
                f"{words / kernel_seconds:>15,.0f} {words / (build_seconds + kernel_seconds):>14,.0f}",
                flush=True,
            )


def measure_registers(options: argparse.Namespace) -> None:
    import subprocess

    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from word2vec_hub.training import triton_engine

    tools = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
    types = {"num_items": "i32", "chunks_per_program": "i32", "vocab_size": "i32", "seed": "i32", "first_rate": "fp32",
             "rate_step": "fp32", "noise_alias": "*i32", "codes": "*i8", "points": "*i32", "lengths": "*i32",
             "inputs": "*i64", "outputs": "*i64", "tokens": "*i64", "centers": "*i64", "starts": "*i64",
             "ends": "*i64", "subword_starts": "*i64", "subword_rows": "*i32"}  # fmt: skip
    print(f"triton {triton.__version__}, sm_90, {triton_engine.WARPS} warps; depth 30 for hierarchical softmax")
    print(f"\n{'dim':>4} {'model':<15} {'registers':>9} {'instructions':>12}")
    for dim in options.dims:
        tile = triton.next_power_of_2(dim)
        for model, cbow, hs, subwords in (
            mode for mode in MODES if options.models is None or mode[0] in options.models
        ):
            negative = 0 if hs else options.negative
            constants = {"DIM": dim, "DIM_TILE": tile, "NEGATIVE": negative, "HS": hs, "DEPTH": 30, "ATOMIC": True,
                         "NEGATIVE_TILE": triton.next_power_of_2(negative),
                         "ITEMS": triton_engine.default_pairs_per_program(dim)}  # fmt: skip
            if cbow:
                kernel = triton_engine._train_windows_kernel
                constants.update(WINDOW=options.window, MEAN=True, SUBWORDS=subwords)
            elif subwords:
                kernel = triton_engine._train_centers_kernel
                constants.update(WINDOW=options.window)
            else:
                kernel = triton_engine._train_pairs_kernel
            names = kernel.arg_names
            signature = {name: "constexpr" if name in constants else types.get(name, "*fp32") for name in names}
            source = ASTSource(kernel, signature, {(names.index(name),): value for name, value in constants.items()})
            compiled = triton.compile(
                source, target=GPUTarget("cuda", 90, 32), options={"num_warps": triton_engine.WARPS}
            )
            with tempfile.NamedTemporaryFile(suffix=".cubin") as cubin:
                cubin.write(compiled.asm["cubin"])
                cubin.flush()
                usage = subprocess.run([tools / "cuobjdump", "-res-usage", cubin.name], capture_output=True, text=True)
                sass = subprocess.run([tools / "cuobjdump", "-sass", cubin.name], capture_output=True, text=True)
            registers = usage.stdout.split("REG:")[1].split()[0]
            instructions = sum(line.strip().startswith("/*") and ";" in line for line in sass.stdout.splitlines())
            print(f"{dim:>4} {model:<15} {registers:>9} {instructions:>12}", flush=True)


def measure_quality(options: argparse.Namespace) -> None:
    import gzip
    from dataclasses import replace

    from word2vec_hub.evaluation.benchmarks import evaluate_word_analogies, evaluate_word_pairs
    from word2vec_hub.training import triton_engine
    from word2vec_hub.training.arguments import TrainingArguments
    from word2vec_hub.training.corpus import TextCorpus
    from word2vec_hub.training.trainer import train_word2vec

    exit_if_missing([options.corpus, WORDSIM, ANALOGIES])
    settings = {"window": options.window, "sample": options.sample, "min_count": options.min_count}
    settings.update(epochs=options.epochs, workers=options.workers, split_punctuation=False, progress=False)
    corpus = TextCorpus.from_files([options.corpus] * options.repeat)
    # The first lines of the corpus, on which each model trains once before its timed run: that compiles its kernels
    # (numba's and Triton's), as a user's second run finds them in the caches.
    with (gzip.open if options.corpus.suffix == ".gz" else open)(options.corpus, "rt", encoding="utf-8") as lines:
        warm_up = TextCorpus.from_text("".join(itertools.islice(lines, 2000)), name="warm-up")
    models = [mode for mode in MODES if mode[0] in (options.models or ["skip-gram ns"])]
    runs = [("numba", "cpu", {})] if "numba" in options.engines else []
    if "triton" in options.engines:
        for pairs, warps, atomic in itertools.product(
            options.pairs or [None], options.warps or [None], (True, False) if options.stores else (True,)
        ):
            kernel_settings = {"pairs_per_program": pairs, "warps": warps, "atomic": atomic}
            kernel_settings = {key: value for key, value in kernel_settings.items() if value is not None}
            runs.append(("triton", options.device, kernel_settings))
    if "torch" in options.engines:
        runs.append(("torch", options.device, {}))
    train_pairs = triton_engine.train_pairs
    print(f"{corpus.name}, {options.epochs} epochs; train s and words/s: the training phase")
    print(f"\n{'dim':>4} {'model':<15} {'engine':<44} {'train s':>8} {'words/s':>14} {'WordSim':>8} {'analogy':>8}")
    try:
        for dim, (model_name, cbow, hs, subwords) in itertools.product(options.dims, models):
            mode = {"cbow": cbow, "hs": hs, "negative": 0 if hs else options.negative, "subwords": subwords}
            for backend, device, kernel_settings in runs:
                args = TrainingArguments(**settings, **mode, dim=dim, backend=backend, device=device)
                # The grid's settings reach skip-gram's kernel only (`train_pairs`); the others run at their own.
                triton_engine.train_pairs = functools.partial(train_pairs, **kernel_settings)
                # Hierarchical softmax's Triton kernels are compiled for the tree's depth: warmed up on the corpus.
                hs_on_triton = hs and backend == "triton"
                train_word2vec(corpus if hs_on_triton else warm_up, replace(args, epochs=1) if hs_on_triton else args)
                result = train_word2vec(corpus, args)
                seconds = result.phases["training"]
                shown = {key: value for key, value in kernel_settings.items() if key != "atomic"}
                name = backend + "".join(f" {key}={value}" for key, value in shown.items())
                name += "" if kernel_settings.get("atomic", True) else " stores"
                model = result.model.cpu()
                wordsim = evaluate_word_pairs(model, WORDSIM, 30_000).spearman
                analogy = evaluate_word_analogies(model, ANALOGIES, 30_000).accuracy
                print(
                    f"{dim:>4} {model_name:<15} {name:<44} {seconds:>8.1f} {result.words_trained / seconds:>14,.0f} "
                    f"{wordsim:>8.3f} {analogy:>8.3f}",
                    flush=True,
                )
    finally:
        triton_engine.train_pairs = train_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("measure", choices=["speed", "modes", "registers", "quality"])
    add_skipgram_arguments(parser, workers=0, workers_help="CPU threads of the CPU kernel (0: all cores)")
    parser.add_argument("--dims", type=int, nargs="+", default=[100, 300])
    parser.add_argument(
        "--pairs", type=int, nargs="+", help="pairs per program (speed: default around the engine's; quality: its)"
    )
    parser.add_argument(
        "--warps", type=int, nargs="+", help="warps per program (speed: default 2, 4, 8; quality: the engine's)"
    )
    parser.add_argument(
        "--engines", nargs="+", default=["numba", "triton"], choices=["numba", "triton", "torch"], help="quality"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=[mode[0] for mode in MODES],
        help="modes, registers, quality: these only (quality: skip-gram ns by default)",
    )
    parser.add_argument("--min-n", type=int, default=3, help="modes: the subword models' shortest n-grams")
    parser.add_argument("--max-n", type=int, default=6, help="modes: the subword models' longest n-grams")
    parser.add_argument("--bucket", type=int, default=2_000_000, help="modes: the subword models' n-gram rows")
    parser.add_argument("--stores", action="store_true", help="also with plain stores instead of atomic adds")
    parser.add_argument("--vocab", type=int, default=70_000, help="speed: words of the synthetic vocabulary")
    parser.add_argument("--tokens", type=int, default=1 << 20, help="speed: tokens of the synthetic block")
    parser.add_argument(
        "--device", default="cuda", help="cpu: Triton's interpreter, with TRITON_INTERPRET=1 set (a check)"
    )
    parser.add_argument("--corpus", type=Path, default=SHARED / "bench-en.txt.gz")
    parser.add_argument("--repeat", type=int, default=1, help="quality: train on the corpus repeated")
    options = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    measures = {"speed": measure_speed, "modes": measure_modes, "registers": measure_registers}
    measures.get(options.measure, measure_quality)(options)


if __name__ == "__main__":
    main()
