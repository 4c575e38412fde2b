"""Where the shared data (Penn Treebank, benchmark corpora, evaluation sets) is: `--shared`, `WORD2VEC_SHARED`,
or `../shared` beside the clone the command runs in.

The clone is found from the current folder, never from this file, which may be installed in site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "WORD2VEC_SHARED"


class SharedDataError(FileNotFoundError):
    """A shared data file is missing; the message says where it was looked for and how to point elsewhere."""


def _clone_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        project = folder / "pyproject.toml"
        if project.is_file() and 'name = "word2vec-hub"' in project.read_text(encoding="utf-8", errors="replace"):
            return folder
    return None


def shared_dir(given: str | os.PathLike | None = None) -> Path:
    """The shared data folder: `given`, else $WORD2VEC_SHARED, else `../shared` beside the clone holding the
    current folder, else `../shared` from the current folder."""
    if given:
        return Path(given)
    if os.environ.get(ENVIRONMENT_VARIABLE):
        return Path(os.environ[ENVIRONMENT_VARIABLE])
    clone = _clone_root(Path.cwd().resolve())
    return (clone.parent if clone else Path.cwd().parent) / "shared"


def shared_file(relative: str, given: str | os.PathLike | None = None) -> Path:
    """A file of the shared data, or `SharedDataError` naming where it was looked for and how to point elsewhere."""
    path = shared_dir(given) / relative
    if not path.exists():
        raise SharedDataError(
            f"{path} not found: point --shared or ${ENVIRONMENT_VARIABLE} at the shared folder (the one holding "
            f"{relative})"
        )
    return path
