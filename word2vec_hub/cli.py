"""The `word2vec` command: one subcommand a job, each defined in `word2vec_hub/commands/<name>.py`.

Building the parser imports only the light modules that define the options, and each subcommand's `check_arguments`
looks at its paths and names before anything heavy is imported, so that `--help` and argument errors return at once;
a subcommand imports torch, transformers and the rest when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from word2vec_hub import __version__

COMMANDS = ("train", "push", "pull", "convert", "evaluate", "classify")


def _short_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks, and ends an option's help with its default unless the help already says
    it or there is none to say: no default, or a flag (--no-progress), whose absence is its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        flag = action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction)
        if not action.option_strings or flag or action.default is None or "default" in help_text:
            return help_text
        return f"{help_text} (default: %(default)s)"


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
            formatter_class=HelpFormatter,
        )
        command.add_arguments(subparser)
        subparser.set_defaults(check=command.check_arguments, run=command.run)
    return parser


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: the command line) and run the subcommand; returns its exit status.

    Argument mistakes are reported before torch and transformers are imported. Warnings and retries print as one
    `warning:` line; transformers' progress bars stay off.
    """
    options = build_parser().parse_args(argv)
    try:
        options.check(options)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    warnings.formatwarning = _short_warning
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    from huggingface_hub.utils import logging as hub_logging
    from transformers.utils import logging as transformers_logging

    # huggingface_hub's logger has a handler of its own and also passes its records on to ours: each retry printed
    # twice. Ours alone keeps the `warning:` form.
    for handler in hub_logging.get_logger().handlers[:]:
        hub_logging.get_logger().removeHandler(handler)
    transformers_logging.disable_progress_bar()
    return options.run(options)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console entry point. Ctrl-C anywhere, the imports of a subcommand included, prints one line and exits
    130 (a subcommand that can say more, such as where a checkpoint went, says it itself)."""
    try:
        status = run_command(argv)
    except KeyboardInterrupt:
        # A second Ctrl-C while the interpreter shuts down would print a traceback of its own.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("interrupted", file=sys.stderr)
        status = 130
    sys.exit(status)
