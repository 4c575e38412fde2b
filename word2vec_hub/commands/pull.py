"""Download a model from the Hugging Face Hub, check it, load it, and print a short report.

  word2vec pull your-name/word2vec-ptb [--revision R] [--output DIR] [--device cuda]

The revision is resolved to one commit, which is downloaded and checked. With HF_HUB_OFFLINE=1 it works from the
local cache. A private repo needs a token: HF_TOKEN or the login cache (`hf auth login`); --token also works, but a
command line is visible to other users of the machine (`ps`).
"""

from __future__ import annotations

import argparse
import sys

from word2vec_hub.argument_checks import check_repo_id


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo_id", help="namespace/name on the Hub")
    parser.add_argument("--revision", help="branch, tag or commit (default: main)")
    parser.add_argument("--output", help="also place the files in this folder (default: the Hub cache only)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    parser.add_argument(
        "--token",
        help="Hub token for private repos (default: HF_TOKEN or the login cache, which other users cannot see in "
        "the process list)",
    )


def check_arguments(options: argparse.Namespace) -> None:
    check_repo_id(options.repo_id)


def run(options: argparse.Namespace) -> int:
    from word2vec_hub.folders.model_card import map_words
    from word2vec_hub.sharing.hub import HubError, pull_model_folder
    from word2vec_hub.training.devices import resolve_device

    try:
        device = resolve_device(options.device)
        pulled = pull_model_folder(options.repo_id, options.revision, options.output, options.token)
        model = pulled.model.to(device)
    except (HubError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = model.config
    print(f"model:      {options.repo_id} ({options.revision or 'main'})")
    print(f"folder:     {pulled.folder}")
    print(f"checked:    {pulled.verification}")
    print(f"vocabulary: {config.vocab_size:,} tokens, dimension {config.hidden_size}")
    print(f"dtype:      {model.embeddings.dtype}, device {model.device}")
    for word in map_words(model)[:3]:
        neighbours = ", ".join(f"{other} {score:.3f}" for other, score in model.most_similar(word, topn=5))
        print(f"  {word}: {neighbours}")
    return 0
