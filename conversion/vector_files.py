"""Reading existing word vectors: word2vec (binary and text), GloVe, fastText `.vec`.

Each reader returns the words in file order and a float32 matrix whose rows are their vectors.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from word2vec_hub.training.corpus import open_text

from .formats import FORMATS


class VectorFileError(ValueError):
    """The vector file is malformed; the message names the place and the problem."""


def read_vectors(path: str | Path, file_format: str, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Words and vectors of `path` in `file_format` (one of FORMATS), at most `limit` of them."""
    path = Path(path)
    if not path.is_file():
        raise VectorFileError(f"vector file not found: {path}")
    if file_format == "word2vec-bin":
        return read_word2vec_binary(path, limit)
    if file_format in ("word2vec-txt", "fasttext-vec"):
        return read_text_vectors(path, has_header=True, limit=limit)
    if file_format == "glove":
        return read_text_vectors(path, has_header=False, limit=limit)
    raise VectorFileError(f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}")


def _parse_header(line: str, path: Path) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise VectorFileError(
            f"{path}: the first line should be the header 'COUNT DIMENSION', got {line.strip()[:60]!r}; "
            "a file without a header is GloVe format (--from glove)"
        )
    return int(parts[0]), int(parts[1])


def _warn_count(path: Path, declared: int, found: int, limit: int | None) -> None:
    if found != declared and (limit is None or found < limit):
        warnings.warn(
            f"{path}: the header declares {declared} vectors but the file holds {found}; using the {found} found",
            UserWarning,
            stacklevel=3,
        )


def read_text_vectors(path: Path, has_header: bool, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """word2vec text and fastText `.vec` (`COUNT DIM` header) or GloVe (no header): `word v1 ... vD` a line."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    declared_count = dim = None
    with open_text(path) as handle:
        lines: Iterator[tuple[int, str]] = enumerate(handle, start=1)
        if has_header:
            _, header = next(lines, (1, ""))
            declared_count, dim = _parse_header(header, path)
        for number, line in lines:
            if limit is not None and len(words) >= limit:
                break
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if len(parts) < 2 or not parts[0]:
                if not line.strip():
                    continue
                raise VectorFileError(f"{path}:{number}: expected 'word value value ...', got {line.strip()[:60]!r}")
            dim = dim if dim is not None else len(parts) - 1
            if len(parts) - 1 != dim:
                raise VectorFileError(f"{path}:{number}: word {parts[0]!r} has {len(parts) - 1} values, expected {dim}")
            try:
                rows.append(np.asarray(parts[1:], dtype=np.float32))
            except ValueError as error:
                raise VectorFileError(f"{path}:{number}: word {parts[0]!r} has a value that is not a number") from error
            words.append(parts[0])
    if not words:
        raise VectorFileError(f"{path} holds no vectors")
    if declared_count is not None:
        _warn_count(path, declared_count, len(words), limit)
    return words, np.stack(rows)


def _read_word(handle: BinaryIO, path: Path, index: int) -> bytes | None:
    word = bytearray()
    while True:
        byte = handle.read(1)
        if not byte:
            if word.strip():
                raise VectorFileError(f"{path}: the file ends inside word {index + 1}")
            return None
        if byte == b" ":
            break
        if byte != b"\n" or word:
            word += byte
    return bytes(word)


def read_word2vec_binary(path: Path, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """The binary format of the C tool: a text header `COUNT DIM`, then `word` + space + DIM float32 each."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        header = handle.readline().decode("utf-8", errors="replace")
        declared_count, dim = _parse_header(header, path)
        count = declared_count if limit is None else min(limit, declared_count)
        words: list[str] = []
        vectors = np.empty((count, dim), dtype=np.float32)
        undecodable = 0
        for index in range(count):
            raw = _read_word(handle, path, index)
            if raw is None:
                break
            try:
                word = raw.decode("utf-8")
            except UnicodeDecodeError:
                word = raw.decode("utf-8", errors="replace")
                undecodable += 1
            data = handle.read(4 * dim)
            if len(data) < 4 * dim:
                raise VectorFileError(
                    f"{path}: the file ends inside the vector of word {index + 1} ({word!r}): "
                    f"{len(data) // 4} of {dim} values; the file is truncated or its header is wrong"
                )
            vectors[index] = np.frombuffer(data, dtype="<f4")
            words.append(word)
    if undecodable:
        warnings.warn(
            f"{path}: {undecodable} word(s) are not valid UTF-8; undecodable bytes were replaced by U+FFFD",
            UnicodeWarning,
            stacklevel=2,
        )
    if not words:
        raise VectorFileError(f"{path} holds no vectors")
    _warn_count(path, declared_count, len(words), limit)
    return words, vectors[: len(words)]
