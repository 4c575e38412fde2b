"""Checks of the command line's paths and names that need no torch or transformers, run before a subcommand imports
them, so that a mistyped path or name is reported at once.

Each raises `UsageError` with one line naming the problem and what to pass instead.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit


class UsageError(ValueError):
    """An argument names something that cannot be used; the message says what and what to pass instead."""


# namespace/name: what the Hub accepts for a repository (huggingface_hub's validate_repo_id), with the namespace
# required, as it is for any model pushed today: a bare word is a local folder that is not there.
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9_][\w.-]{0,95}$")


# With a proxy the Hub's host need not resolve here.
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def is_repo_id(name: str) -> bool:
    """Whether `name` is a well-formed Hub repository id, namespace/name."""
    return bool(_REPO_ID.match(name)) and ".." not in name and "--" not in name and not name.endswith((".git", "."))


def check_repo_id(name: str) -> None:
    """Refuse a Hub repository argument that is not `namespace/name`."""
    if not is_repo_id(name):
        raise UsageError(f"{name} is not a Hub repository id; pass namespace/name, e.g. your-name/my-model")


def looks_like_path(name: str) -> bool:
    """Whether `name` can only be meant as a local path: it starts with `.`, `/` or `~`, or has a backslash or more
    than one `/`."""
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE is set, as huggingface_hub reads it."""
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def check_model(name: str, option: str, hub: bool = True) -> None:
    """`name` is a local model folder or (where `hub`) a well-formed Hub repository id that is in the Hub cache or
    else can be asked for: HF_HUB_OFFLINE is not set and the Hub's host name resolves."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UsageError(f"{option} {name}: the folder has no config.json, so it is not a model folder")
        return
    if path.exists():
        raise UsageError(f"{option} {name} is a file; pass a model folder")
    if not hub:
        raise UsageError(f"{option} {name}: no such model folder")
    if not is_repo_id(name):
        raise UsageError(
            f"{option} {name}: no local folder of that name, and not a Hub repository id (namespace/name); "
            "check the path"
        )
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return
    if hub_offline():
        raise UsageError(
            f"{option} {name}: no local folder of that name, and HF_HUB_OFFLINE is set while the Hub cache "
            "holds no such model; download it first (`word2vec pull`) or unset HF_HUB_OFFLINE"
        )
    host = urlsplit(constants.ENDPOINT).hostname
    if host and not any(os.environ.get(variable) for variable in PROXY_VARIABLES):
        try:
            socket.getaddrinfo(host, None)
        except OSError as error:
            # Without this, the Hub client retries for half a minute before it says the same.
            raise UsageError(
                f"{option} {name}: no local folder of that name, and the Hub ({host}) cannot be reached "
                f"({error.strerror or error}); check the path, or the network"
            ) from None


def check_file(path: Path | str, option: str) -> None:
    """`path` is an existing file."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; pass a file")
    if not path.is_file():
        raise UsageError(f"{option} {path}: file not found")


def check_folder(path: Path | str, option: str) -> None:
    """`path` is an existing folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file; pass a folder")
    if not path.is_dir():
        raise UsageError(f"{option} {path}: folder not found")


def check_parent(path: Path | str, option: str) -> None:
    """The folder that is to hold the new file `path` exists."""
    parent = Path(path).expanduser().absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: the folder {parent} does not exist")
