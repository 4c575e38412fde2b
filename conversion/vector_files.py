"""Reading existing word vectors: word2vec (binary and text), GloVe, fastText `.vec`.

`VectorFile` reads a file a block of rows at a time (so that a table larger than memory can be converted);
`read_vectors` returns the words in file order and one float32 matrix whose rows are their vectors.
"""

from __future__ import annotations

import gzip
import io
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from word2vec_hub.resources import available_memory_bytes
from word2vec_hub.training.corpus import open_text

from .formats import FORMATS


class VectorFileError(ValueError):
    """The vector file is malformed; the message names the place and the problem."""


# Large enough that the per-read overhead vanishes, small enough to be a rounding error beside the table.
CHUNK_BYTES = 16 * 2**20
# Rows in one block of a text file: about as many bytes of float32 as a chunk of a binary file holds at dim 300.
TEXT_BLOCK_ROWS = 16_384
# No word is this long; a file without a space in this many bytes is not in the binary format.
MAX_WORD_BYTES = 2**16
# The most that deflate can compress (1032:1), which bounds the content of a .gz file by its size.
DEFLATE_MAX_RATIO = 1032


class VectorFile:
    """An open vector file in `file_format` (one of FORMATS): its `dim`, the `count` its header declares (capped at
    `limit`; None for GloVe, which has no header), and, iterated once, its words and vectors in blocks of rows.

    A file whose header cannot be right is refused on opening, before anything is allocated. After iterating,
    `words_read` says how many vectors the file gave; a count that differs from the header's is warned about.
    """

    def __init__(self, path: str | Path, file_format: str, limit: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VectorFileError(f"vector file not found: {self.path}")
        if limit is not None and limit < 1:
            raise VectorFileError(f"--max-vocab must be at least 1, got {limit}")
        if file_format not in FORMATS:
            raise VectorFileError(f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}")
        self.file_format, self.limit = file_format, limit
        self.words_read = 0
        self.declared_count: int | None = None
        self._undecodable = 0
        self._first_line: tuple[int, str] | None = None
        # Closed by __exit__, or here when the header is refused.
        self._handle: io.IOBase = (
            (gzip.open(self.path, "rb") if self.path.suffix == ".gz" else open(self.path, "rb"))  # noqa: SIM115
            if file_format == "word2vec-bin"
            else open_text(self.path)
        )
        try:
            self._read_header()
        except BaseException:
            self._handle.close()
            raise

    def _read_header(self) -> None:
        if self.file_format == "word2vec-bin":
            header = self._handle.readline().decode("utf-8", errors="replace")
            self.declared_count, self.dim = _parse_header(header, self.path)
            _check_fits_in_file(self.path, header.strip(), self.count, self.dim, self.path.stat().st_size - len(header))
            return
        self._lines: Iterator[tuple[int, str]] = enumerate(self._handle, start=1)
        if self.file_format == "glove":
            self._first_line = next(((number, line) for number, line in self._lines if line.strip()), None)
            if self._first_line is None:
                raise VectorFileError(f"{self.path} holds no vectors")
            self.dim = len(self._first_line[1].rstrip("\n").rstrip(" ").split(" ")) - 1
        else:
            _, header = next(self._lines, (1, ""))
            self.declared_count, self.dim = _parse_header(header, self.path)

    @property
    def count(self) -> int | None:
        """The number of vectors the header declares, or `limit` if fewer; None without a header."""
        if self.declared_count is None:
            return None
        return self.declared_count if self.limit is None else min(self.limit, self.declared_count)

    def __enter__(self) -> VectorFile:
        return self

    def __exit__(self, *exception) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """Blocks of (words, float32 matrix [len(words), dim]), in file order."""
        blocks = self._binary_blocks() if self.file_format == "word2vec-bin" else self._text_blocks()
        for words, vectors in blocks:
            self.words_read += len(words)
            yield words, vectors
        if self.words_read == 0:
            raise VectorFileError(f"{self.path} holds no vectors")
        if self._undecodable:
            warnings.warn(
                f"{self.path}: {self._undecodable} word(s) are not valid UTF-8; undecodable bytes were replaced by "
                "U+FFFD",
                UnicodeWarning,
                stacklevel=2,
            )
        found, declared = self.words_read, self.declared_count
        if declared is not None and found != declared and (self.limit is None or found < self.limit):
            warnings.warn(
                f"{self.path}: the header declares {declared} vectors but the file holds {found}; using the {found} "
                "found",
                UserWarning,
                stacklevel=2,
            )

    def _text_blocks(self) -> Iterator[tuple[list[str], np.ndarray]]:
        lines = self._lines if self._first_line is None else _chain_first(self._first_line, self._lines)
        words: list[str] = []
        rows: list[np.ndarray] = []
        total = 0
        for number, line in lines:
            if self.limit is not None and total >= self.limit:
                break
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if len(parts) < 2 or not parts[0]:
                if not line.strip():
                    continue
                raise VectorFileError(
                    f"{self.path}:{number}: expected 'word value value ...', got {line.strip()[:60]!r}"
                )
            if len(parts) - 1 != self.dim:
                raise VectorFileError(
                    f"{self.path}:{number}: word {parts[0]!r} has {len(parts) - 1} values, expected {self.dim}"
                )
            try:
                rows.append(np.asarray(parts[1:], dtype=np.float32))
            except ValueError as error:
                raise VectorFileError(
                    f"{self.path}:{number}: word {parts[0]!r} has a value that is not a number"
                ) from error
            words.append(parts[0])
            total += 1
            if len(words) == TEXT_BLOCK_ROWS:
                yield words, np.stack(rows)
                words, rows = [], []
        if words:
            yield words, np.stack(rows)

    def _binary_blocks(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """The C tool's binary format: after the header, `word` + space + DIM float32 (+ a newline) each.

        One regular expression finds the words of a whole chunk (in C, a Python loop per record is the slow part
        at a million words) and numpy gathers the vectors after them. The file is read into one reused buffer, so
        that a gigabyte of file costs no gigabyte of fresh pages.
        """
        count, record_bytes = self.count, 4 * self.dim
        # A whole record, or else the rest of the chunk: every match starts where the last ended, and the search
        # never fails (a failing search would retry at every later byte).
        records = re.compile(rb"([^ ]*) .{%d}|(.+)" % record_bytes, re.DOTALL)
        buffer = bytearray(2 * CHUNK_BYTES)
        filled = index = 0
        while index < count:
            if len(buffer) - filled < CHUNK_BYTES:
                buffer.extend(bytes(CHUNK_BYTES))  # a record longer than a chunk (only when chunks are tiny)
            with memoryview(buffer) as free:
                read = self._handle.readinto(free[filled : filled + CHUNK_BYTES])
            filled += read
            found = records.findall(buffer, 0, filled)
            rest = found.pop()[1] if found and found[-1][1] else b""
            del found[count - index :]
            raw_words = [word for word, _ in found]
            if raw_words:
                ends = np.cumsum(
                    np.fromiter(map(len, raw_words), dtype=np.int64, count=len(raw_words)) + 1 + record_bytes
                )
                data = np.frombuffer(buffer, dtype=np.uint8, count=filled)
                vectors = sliding_window_view(data, record_bytes)[ends - record_bytes].view(np.float32)
                del data
                consumed, index = int(ends[-1]), index + len(raw_words)
                yield self._decode_words(raw_words), vectors
            else:
                consumed = 0
            if index < count and read == 0:
                _check_clean_end(self.path, rest, index, self.dim)
                return
            if index < count and rest.find(b" ") < 0 and len(rest) > MAX_WORD_BYTES:
                raise VectorFileError(
                    f"{self.path}: no space after word {index + 1} within {MAX_WORD_BYTES:,} bytes; "
                    "this is not a word2vec binary file (for text use --from word2vec-txt or glove)"
                )
            buffer[: filled - consumed] = buffer[consumed:filled]
            filled -= consumed

    def _decode_words(self, raw_words: list[bytes]) -> list[str]:
        # Words hold no spaces (a space ends a word), so one decode of the joined words is the decode of each. The
        # C tool ends each vector with a newline, which the next word must not keep.
        try:
            return [word.lstrip("\n") for word in b" ".join(raw_words).decode("utf-8").split(" ")]
        except UnicodeDecodeError:
            pass
        words = []
        for raw in (word.lstrip(b"\n") for word in raw_words):
            try:
                words.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                words.append(raw.decode("utf-8", errors="replace"))
                self._undecodable += 1
        return words


def _chain_first(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def read_vectors(
    path: str | Path, file_format: str, limit: int | None = None, reserved_rows: int = 0
) -> tuple[list[str], np.ndarray]:
    """Words and vectors of `path` in `file_format` (one of FORMATS), at most `limit` of them, in memory.

    The matrix starts with `reserved_rows` rows of zeros (room for special tokens, so that the vectors need not be
    copied into a bigger table), then holds the vector of each word in order. A table that would not fit in the
    memory available is refused before it is allocated.
    """
    with VectorFile(path, file_format, limit) as vectors:
        words: list[str] = []
        if vectors.count is not None and file_format == "word2vec-bin":
            _check_fits_in_memory(vectors.path, vectors.count, vectors.dim)
            table = np.empty((reserved_rows + vectors.count, vectors.dim), dtype=np.float32)
            table[:reserved_rows] = 0
            for block_words, block in vectors:
                start = reserved_rows + len(words)
                table[start : start + len(block_words)] = block
                words += block_words
            return words, table[: reserved_rows + len(words)]
        blocks = [np.zeros((reserved_rows, vectors.dim), dtype=np.float32)]
        for block_words, block in vectors:
            words += block_words
            blocks.append(block)
        return words, np.concatenate(blocks)


def _parse_header(line: str, path: Path) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise VectorFileError(
            f"{path}: the first line should be the header 'COUNT DIMENSION', got {line.strip()[:60]!r}; "
            "a file without a header is GloVe format (--from glove)"
        )
    return int(parts[0]), int(parts[1])


def _check_fits_in_file(path: Path, header: str, count: int, dim: int, body_bytes: int) -> None:
    """Refuse a header whose vectors cannot all be in the file (a lying header would otherwise size the table)."""
    smallest_record = 4 * dim + 2  # a one-byte word, the space, the vector
    compressed = path.suffix == ".gz"
    most_records = body_bytes * (DEFLATE_MAX_RATIO if compressed else 1) // smallest_record
    if count > most_records:
        raise VectorFileError(
            f"{path}: the header {header!r} declares {count:,} vectors of {dim} values, but the file "
            f"{'can decompress to' if compressed else 'has room for'} at most {most_records:,}; the header is wrong, "
            "the file is truncated, or it is not a word2vec binary file (--from word2vec-txt or glove for text)"
        )


def _check_fits_in_memory(path: Path, count: int, dim: int) -> None:
    table_bytes = count * dim * 4
    available = available_memory_bytes()
    if available is not None and table_bytes > available:
        raise VectorFileError(
            f"{path}: {count:,} vectors of {dim} values need {table_bytes / 2**30:,.1f} GiB of memory but "
            f"{available / 2**30:,.1f} GiB is available; keep only the first N words with --max-vocab N"
        )


def _check_clean_end(path: Path, rest: bytes, index: int, dim: int) -> None:
    """The file ended with `rest` before record `index` (from 0) was complete: fine if `rest` is blank, an error
    inside a record."""
    space = rest.find(b" ")
    if space < 0:
        if rest.strip():
            raise VectorFileError(f"{path}: the file ends inside word {index + 1}")
        return
    word = rest[:space].lstrip(b"\n").decode("utf-8", errors="replace")
    values = (len(rest) - space - 1) // 4
    raise VectorFileError(
        f"{path}: the file ends inside the vector of word {index + 1} ({word!r}): "
        f"{values} of {dim} values; the file is truncated or its header is wrong"
    )
