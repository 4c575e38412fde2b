"""Where a model folder may be written, what it must hold, and the one-line errors when the disk says no.

Light on purpose: commands check their output paths with it before torch and transformers are imported.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from word2vec_hub.resources import readable_size

from .atomic import recover_folder, replace_folder

# What a folder needs to load as a model (the card and modules.json are for the Hub and sentence-transformers).
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
CARD_FILE = "README.md"


# The disk's answers a write can get that no retry mends, as the user should read them.
DISK_FAILURES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
}
# safetensors and tokenizers (Rust) report an OS error only inside their message: "... (os error 28)".
RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


class OutputError(ValueError):
    """The output folder cannot be written; the message says why."""


def disk_failure(error: BaseException) -> int | None:
    """The errno of DISK_FAILURES behind `error` or the errors it was raised from, else None."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in DISK_FAILURES:
            return error.errno
        match = RUST_OS_ERROR.search(str(error))
        if match and int(match.group(1)) in DISK_FAILURES:
            return int(match.group(1))
        error = error.__cause__ or error.__context__
    return None


def disk_space(folder: Path) -> str:
    """The free space on `folder`'s file system, as the user should read it."""
    usage = shutil.disk_usage(folder)
    return f"{readable_size(usage.free)} free of {readable_size(usage.total)} on the file system of {folder}"


def is_read_only(folder: Path) -> bool:
    return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)


def nearest_existing_folder(path: str | Path) -> Path:
    """The closest folder above `path` that exists (where its missing parents would be made)."""
    parent = Path(path).absolute().parent
    return next(folder for folder in (parent, *parent.parents) if folder.exists())


def check_output_dir(output: str | Path) -> Path:
    """Refuse, before any work is done, an output path we must not replace, and return the path to write.

    An existing folder is replaced only if it is empty or one of ours: a word2vec model folder (`config.json` with
    `model_type` "word2vec") or a training checkpoint. No option overrides this: anything else is the user's data.
    A symbolic link is followed, so that the link still leads to the new folder. A write to this path that a crash
    interrupted is finished or rolled back first.
    """
    output = Path(output)
    if output.is_symlink():
        output = output.resolve()
    existing = nearest_existing_folder(output)
    if is_read_only(existing):
        raise OutputError(f"cannot write {output}: {existing} is on a read-only file system; choose another folder")
    recover_folder(output)
    if output.exists():
        if not output.is_dir():
            raise OutputError(f"{output} exists and is a file; choose a folder path")
        problem = not_ours(output)
        if problem:
            raise OutputError(
                f"{output} {problem}, so it is not replaced (nothing was changed); choose another output folder"
            )
    # Missing parent folders are made when the folder is written (`atomic.replace_folder`), not here: a run that
    # fails before then leaves no empty folders behind.
    if not os.access(existing, os.W_OK):
        raise OutputError(f"cannot write into {existing}: permission denied; choose another output folder")
    return output


def check_output_file(output: str | Path, overwrite: bool = False) -> Path:
    """Refuse, before any work is done, a file path we must not write, and return the path to write: a folder, a
    device or other special file, or an existing file unless `overwrite`. A symbolic link is followed, so that the
    link still leads to the new file."""
    output = Path(output)
    if output.is_symlink():
        output = output.resolve()
    if output.is_dir():
        raise OutputError(f"{output} is a folder; choose a file path")
    if output.exists() and not output.is_file():
        raise OutputError(f"{output} is not a regular file, so it is not replaced; choose a file path")
    if output.exists() and not overwrite:
        raise OutputError(
            f"{output} exists, so it is not replaced (nothing was changed); add --overwrite to replace it, or choose "
            "another file"
        )
    parent = output.parent if str(output.parent) else Path(".")
    if parent.is_dir() and not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write into {parent}: permission denied; choose another output file")
    return output


def not_ours(folder: Path) -> str | None:
    """Why an existing, non-empty folder is not one we may replace, or None if it is ours (or empty)."""
    if not any(folder.iterdir()):
        return None
    config_file = folder / "config.json"
    if not config_file.is_file():
        return "exists and is not a model folder (no config.json)"
    try:
        model_type = json.loads(config_file.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        return "exists and its config.json is not a model configuration"
    if model_type != "word2vec":
        return f"holds a model of type {model_type!r}, not a word2vec model"
    return None


def replace_or_refuse(output: Path, fill: Callable[[Path], None], size_note: Callable[[], str]) -> Path:
    """`replace_folder(output, fill)`, with a write that fails on a full or read-only disk turned into one
    OutputError naming the folder, the free space and `size_note()` (what the folder takes), and what was kept."""
    existed = output.exists()
    try:
        return replace_folder(output, fill)
    except Exception as error:
        failure = disk_failure(error)
        if failure is None:
            raise
        kept = f"{output} is as it was" if existed else f"{output} was not created"
        advice = "choose another folder" if failure == errno.EROFS else "free some space or choose another folder"
        space = disk_space(nearest_existing_folder(output))
        raise OutputError(
            f"cannot save {output}: {DISK_FAILURES[failure]} ({space}; {size_note()}); nothing "
            f"was saved and {kept}; {advice}"
        ) from error


def card_language(folder: Path) -> str | None:
    """The language the model card of a local model folder gives, if any (a list gives its first)."""
    card = folder / CARD_FILE
    if not card.is_file():
        return None
    from huggingface_hub import ModelCard

    language = ModelCard.load(card).data.language
    return language[0] if isinstance(language, list) and language else language
