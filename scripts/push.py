"""Share a model folder on the Hugging Face Hub.

    python scripts/push.py word2vec-ptb your-name/word2vec-ptb [--private] [--revision BRANCH] [--create-pr]

The token comes from --token, HF_TOKEN or the login cache (`hf auth login`); it is never printed.
"""

from __future__ import annotations

import argparse
import sys

from sharing import HubError, push_model_folder
from training.cli import run_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", help="model folder written by scripts/train.py or save_pretrained")
    parser.add_argument("repo_id", help="namespace/name on the Hub")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--revision", help="branch to commit to (created from main if missing)")
    parser.add_argument("--commit-message", help="commit title")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN or the login cache)")
    options = parser.parse_args(argv)
    try:
        result = push_model_folder(
            options.model_dir,
            options.repo_id,
            private=options.private,
            revision=options.revision,
            commit_message=options.commit_message,
            create_pr=options.create_pr,
            token=options.token,
        )
    except HubError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"repo:     {result.repo_url}")
    print(f"commit:   {result.commit_url}")
    print(f"revision: {result.commit_sha}")
    if result.pull_request_url:
        print(f"pull request: {result.pull_request_url}")
    return 0


if __name__ == "__main__":
    run_command(main)
