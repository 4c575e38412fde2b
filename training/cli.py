"""What every command line of this project does before running: short warnings, no per-file progress bars."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable

from transformers.utils import logging as hf_logging


def _short_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def run_command(main: Callable[[], int]) -> None:
    """Run a script's `main` and exit with its status; warnings and retries show as one `warning:` line."""
    warnings.formatwarning = _short_warning
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    hf_logging.disable_progress_bar()
    sys.exit(main())
