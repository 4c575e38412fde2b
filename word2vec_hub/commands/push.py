"""Share a model folder on the Hugging Face Hub.

  word2vec push word2vec-ptb your-name/word2vec-ptb [--private] [--revision BRANCH] [--create-pr]

The pushed revision holds exactly the folder's files: a file deleted from the folder is deleted from the revision
(hidden files are never sent).

The token comes from HF_TOKEN or the login cache (`hf auth login`); it is never printed. --token also works, but a
command line is visible to other users of the machine (`ps`), so prefer the other two on a shared machine.
"""

from __future__ import annotations

import argparse
import sys

from word2vec_hub.argument_checks import check_model, check_repo_id


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", help="model folder written by `word2vec train` or save_pretrained")
    parser.add_argument("repo_id", help="namespace/name on the Hub")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--revision", help="branch to commit to (created from main if missing)")
    parser.add_argument("--commit-message", help="commit title")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument(
        "--token",
        help="Hub token (default: HF_TOKEN or the login cache, which other users cannot see in the process list)",
    )


def check_arguments(options: argparse.Namespace) -> None:
    check_model(options.model_dir, "the model folder", hub=False)
    check_repo_id(options.repo_id)


def run(options: argparse.Namespace) -> int:
    from word2vec_hub.sharing.hub import HubError, push_model_folder

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
