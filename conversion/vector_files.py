"""Reading existing word vectors: word2vec (binary and text), GloVe, fastText `.vec`.

Each reader returns the words in file order and a float32 matrix whose rows are their vectors.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from word2vec_hub.training.corpus import open_text

from .formats import FORMATS


class VectorFileError(ValueError):
    """The vector file is malformed; the message names the place and the problem."""


def read_vectors(
    path: str | Path, file_format: str, limit: int | None = None, reserved_rows: int = 0
) -> tuple[list[str], np.ndarray]:
    """Words and vectors of `path` in `file_format` (one of FORMATS), at most `limit` of them.

    The matrix starts with `reserved_rows` rows of zeros (room for special tokens, so that the vectors need not be
    copied into a bigger table), then holds the vector of each word in order.
    """
    path = Path(path)
    if not path.is_file():
        raise VectorFileError(f"vector file not found: {path}")
    if limit is not None and limit < 1:
        raise VectorFileError(f"--max-vocab must be at least 1, got {limit}")
    if file_format == "word2vec-bin":
        return read_word2vec_binary(path, limit, reserved_rows)
    if file_format in ("word2vec-txt", "fasttext-vec"):
        return read_text_vectors(path, has_header=True, limit=limit, reserved_rows=reserved_rows)
    if file_format == "glove":
        return read_text_vectors(path, has_header=False, limit=limit, reserved_rows=reserved_rows)
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


def read_text_vectors(
    path: Path, has_header: bool, limit: int | None = None, reserved_rows: int = 0
) -> tuple[list[str], np.ndarray]:
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
    table = np.zeros((reserved_rows + len(rows), dim), dtype=np.float32)
    for index, row in enumerate(rows, start=reserved_rows):
        table[index] = row
    return words, table


# Large enough that the per-read overhead vanishes, small enough to be a rounding error beside the table.
CHUNK_BYTES = 16 * 2**20
# No word is this long; a file without a space in this many bytes is not in the binary format.
MAX_WORD_BYTES = 2**16
# The most that deflate can compress (1032:1), which bounds the content of a .gz file by its size.
DEFLATE_MAX_RATIO = 1032


def available_memory_bytes() -> int | None:
    """Memory the system can give without swapping (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _check_declared_size(path: Path, header: str, count: int, dim: int, body_bytes: int) -> None:
    """Refuse, before anything is allocated, a header whose table cannot be in the file or in memory."""
    smallest_record = 4 * dim + 2  # a one-byte word, the space, the vector
    compressed = path.suffix == ".gz"
    most_records = body_bytes * (DEFLATE_MAX_RATIO if compressed else 1) // smallest_record
    if count > most_records:
        raise VectorFileError(
            f"{path}: the header {header!r} declares {count:,} vectors of {dim} values, but the file "
            f"{'can decompress to' if compressed else 'has room for'} at most {most_records:,}; the header is wrong, "
            "the file is truncated, or it is not a word2vec binary file (--from word2vec-txt or glove for text)"
        )
    table_bytes = count * dim * 4
    available = available_memory_bytes()
    if available is not None and table_bytes > available:
        raise VectorFileError(
            f"{path}: {count:,} vectors of {dim} values need {table_bytes / 2**30:,.1f} GiB of memory but "
            f"{available / 2**30:,.1f} GiB is available; keep only the first N words with --max-vocab N"
        )


def read_word2vec_binary(path: Path, limit: int | None = None, reserved_rows: int = 0) -> tuple[list[str], np.ndarray]:
    """The binary format of the C tool: a text header `COUNT DIM`, then `word` + space + DIM float32 each.

    The file is read in chunks of CHUNK_BYTES and each vector is copied once, into the table that is returned (after
    `reserved_rows` rows of zeros); with `limit`, reading stops after the first `limit` vectors.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        header = handle.readline().decode("utf-8", errors="replace")
        declared_count, dim = _parse_header(header, path)
        count = declared_count if limit is None else min(limit, declared_count)
        _check_declared_size(path, header.strip(), count, dim, path.stat().st_size - len(header))
        table = np.empty((reserved_rows + count, dim), dtype=np.float32)
        table[:reserved_rows] = 0
        destination = memoryview(table).cast("B")
        record_bytes = 4 * dim
        raw_words: list[bytes] = []
        buffer, position = b"", 0
        view = memoryview(buffer)
        while len(raw_words) < count:
            space = buffer.find(b" ", position)
            end = space + 1 + record_bytes
            if space < 0 or end > len(buffer):
                if space < 0 and len(buffer) - position > MAX_WORD_BYTES:
                    raise VectorFileError(
                        f"{path}: no space after word {len(raw_words) + 1} within {MAX_WORD_BYTES:,} bytes; "
                        "this is not a word2vec binary file (for text use --from word2vec-txt or glove)"
                    )
                more = handle.read(CHUNK_BYTES)
                if not more:
                    _check_clean_end(path, buffer, position, space, len(raw_words), dim)
                    break
                buffer, position = buffer[position:] + more, 0
                view = memoryview(buffer)
                continue
            row = (reserved_rows + len(raw_words)) * record_bytes
            destination[row : row + record_bytes] = view[space + 1 : end]
            # The C tool ends each vector with a newline, which the next word must not keep.
            raw_words.append(buffer[position:space].lstrip(b"\n"))
            position = end
    words = _decode_words(raw_words, path)
    if not words:
        raise VectorFileError(f"{path} holds no vectors")
    _warn_count(path, declared_count, len(words), limit)
    return words, table[: reserved_rows + len(words)]


def _check_clean_end(path: Path, buffer: bytes, position: int, space: int, index: int, dim: int) -> None:
    """The file ended before record `index` (from 0) was complete: fine between records, an error inside one."""
    if space < 0:
        if buffer[position:].strip():
            raise VectorFileError(f"{path}: the file ends inside word {index + 1}")
        return
    word = buffer[position:space].lstrip(b"\n").decode("utf-8", errors="replace")
    values = (len(buffer) - space - 1) // 4
    raise VectorFileError(
        f"{path}: the file ends inside the vector of word {index + 1} ({word!r}): "
        f"{values} of {dim} values; the file is truncated or its header is wrong"
    )


def _decode_words(raw_words: list[bytes], path: Path) -> list[str]:
    # Words hold no spaces (a space ends a word), so one decode of the joined words is the decode of each.
    try:
        return b" ".join(raw_words).decode("utf-8").split(" ") if raw_words else []
    except UnicodeDecodeError:
        pass
    words = []
    undecodable = 0
    for raw in raw_words:
        try:
            words.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            words.append(raw.decode("utf-8", errors="replace"))
            undecodable += 1
    warnings.warn(
        f"{path}: {undecodable} word(s) are not valid UTF-8; undecodable bytes were replaced by U+FFFD",
        UnicodeWarning,
        stacklevel=3,
    )
    return words
