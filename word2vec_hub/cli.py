"""The `word2vec` command: one subcommand a job, each defined in `word2vec_hub/commands/<name>.py`.

Building the parser imports only the light modules that define the options, so that `--help` and argument errors
return at once; a subcommand imports torch, transformers and the rest when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from word2vec_hub import __version__

COMMANDS = ("train", "push", "pull", "convert", "evaluate", "classify")


def _short_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="word2vec", description="Train, share and reuse word2vec embeddings as Hugging Face models."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        command = importlib.import_module(f"word2vec_hub.commands.{name}")
        summary, _, details = command.__doc__.partition("\n")
        subparser = subcommands.add_parser(
            name,
            help=summary,
            description=f"{summary}\n{details}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: the command line) and run the subcommand; returns its exit status.

    Warnings and retries print as one `warning:` line; transformers' progress bars stay off.
    """
    options = build_parser().parse_args(argv)
    warnings.formatwarning = _short_warning
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # huggingface_hub (imported by transformers) also prints through a handler of its own: each warning once, as ours.
    logging.getLogger("huggingface_hub").handlers.clear()
    return options.run(options)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console entry point."""
    sys.exit(run_command(argv))
