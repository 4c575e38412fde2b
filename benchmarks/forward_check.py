"""What the id check of `Word2VecModel.forward` costs a call: forward as it is against forward without the check.

    python benchmarks/forward_check.py                 # CPU, and CUDA when there is a GPU
    python benchmarks/forward_check.py --calls 20000

In eager mode forward checks the ids on the host (on a GPU that is one device-to-host copy a call, which is what
is measured there); under torch.compile and CUDA-graph capture the check is an assertion on the device instead.
"""

from __future__ import annotations

import argparse
import time


def per_call_microseconds(model, ids, calls: int) -> float:
    import torch

    with torch.inference_mode():
        for _ in range(50):
            model(ids)
        if ids.is_cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(calls):
            model(ids)
        if ids.is_cuda:
            torch.cuda.synchronize()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--vocab-size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=100)
    options = parser.parse_args()

    import torch

    from word2vec_hub.modeling import Word2VecConfig, Word2VecModel

    model = Word2VecModel(Word2VecConfig(vocab_size=options.vocab_size, hidden_size=options.dim))
    unchecked = Word2VecModel(model.config)
    unchecked.embeddings = model.embeddings
    unchecked._validate_ids = lambda ids: None
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"{'device':<7} {'batch':>9} {'checked us':>11} {'unchecked us':>13} {'check us':>9}")
    for device in devices:
        model.to(device)
        unchecked.to(device)
        unchecked.embeddings = model.embeddings
        for shape in ((1, 16), (32, 128)):
            ids = torch.randint(0, options.vocab_size, shape, device=device)
            checked_us = per_call_microseconds(model, ids, options.calls)
            unchecked_us = per_call_microseconds(unchecked, ids, options.calls)
            batch = f"{shape[0]}x{shape[1]}"
            print(f"{device:<7} {batch:>9} {checked_us:>11.1f} {unchecked_us:>13.1f} {checked_us - unchecked_us:>9.1f}")


if __name__ == "__main__":
    main()
