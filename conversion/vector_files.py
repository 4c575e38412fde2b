"""Reading existing word vectors: word2vec (binary and text), GloVe, fastText `.vec`.

`VectorFile` reads a file a block of rows at a time (so that a table larger than memory can be converted), laid out
as `formats.VECTOR_FORMATS` says.

Nothing read wrong passes silently: a header the file cannot hold, a file in another format than the one named (the
error names the likely one), a value that is not a finite float32, or binary records read at the wrong offset (a
word with a space inside) are refused with the place and the way out; words that are not UTF-8 are warned about.
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from word2vec_hub.training.corpus import COMPRESSED_OPENERS

from .formats import VECTOR_FORMATS


class VectorFileError(ValueError):
    """The vector file is malformed; the message names the place and the problem."""


# Large enough that the per-read overhead vanishes, small enough to be a rounding error beside the table.
CHUNK_BYTES = 16 * 2**20
# Rows in one block of a text file: about as many bytes of float32 as a chunk of a binary file holds at dim 300.
TEXT_BLOCK_ROWS = 16_384
# No word is this long; a file without a space in this many bytes is not in the binary format.
MAX_WORD_BYTES = 2**16
# The most that deflate can compress (1032:1), which bounds the content of a .gz file by its size. bzip2 and xz
# have no such bound.
DEFLATE_MAX_RATIO = 1032
# No word vector holds a value this large, while a binary file read at the wrong offset does in almost every row:
# four bytes of text or of a shifted record, read as a float32, are mostly far beyond it (up to 3e38).
MOST_PLAUSIBLE_VALUE = 1e6
# What a text row never holds and raw float32 bytes mostly do: control characters, or undecodable bytes (U+FFFD).
BINARY_BYTES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
# A newline inside a word (not before it, where the C tool's newline after each vector leaves one).
WORD_WITH_NEWLINE = re.compile(rb"[^ \n]\n")
# The end of the error for a binary file whose records are read at the wrong offset.
MISREAD = (
    "so the records are misread: this is not a word2vec binary file (text? use --from word2vec-txt), or a word up to "
    "here holds a space"
)


class VectorFile:
    """An open vector file in `file_format` (a name in VECTOR_FORMATS): its `dim`, the `count` its header declares
    (capped at `limit`; None for GloVe, which has no header), and, iterated once, its words and vectors in blocks of
    rows.

    A file whose header cannot be right is refused on opening, before anything is allocated. After iterating,
    `words_read` says how many vectors the file gave; a count that differs from the header's is warned about.
    """

    # Vectors of whole words only: no character n-gram table (fastText's .bin has one: fasttext_bin.py).
    ngram_rows = 0

    def __init__(self, path: str | Path, file_format: str, limit: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VectorFileError(f"vector file not found: {self.path}")
        if limit is not None and limit < 1:
            raise VectorFileError(f"--max-vocab must be at least 1, got {limit}")
        if file_format not in VECTOR_FORMATS:
            raise VectorFileError(f"unknown format {file_format!r}; use one of {', '.join(VECTOR_FORMATS)}")
        self.file_format, self.limit = file_format, limit
        self.layout = VECTOR_FORMATS[file_format]
        self.words_read = 0
        self.declared_count: int | None = None
        self._undecodable = 0
        # Closed by __exit__, or here when the header is refused.
        self._handle: io.IOBase = COMPRESSED_OPENERS.get(self.path.suffix.lower(), open)(self.path, "rb")
        try:
            self._read_header()
        except BaseException:
            self._handle.close()
            raise

    def _read_header(self) -> None:
        if self.layout.binary:
            header = self._handle.readline().decode("utf-8", errors="replace")
            self.declared_count, self.dim = _parse_header(header, self.path)
            # A one-byte word, the space, the vector; gensim writes no newline after it.
            _check_fits_in_file(self.path, header.strip(), self.count, self.dim, len(header), 4 * self.dim + 2)
            return
        self._lines: Iterator[tuple[int, str]] = enumerate(self._decoded_lines(), start=1)
        if not self.layout.header:
            first = next(((number, line) for number, line in self._lines if line.strip()), None)
            if first is None:
                raise VectorFileError(f"{self.path} holds no vectors")
            self._lines = itertools.chain(self._refuse_word2vec_header(first), self._lines)
            self.dim = len(_fields(first[1])) - 1
        else:
            _, header = next(self._lines, (1, ""))
            self.declared_count, self.dim = _parse_header(header, self.path)
            # A one-character word and values, each after a space (the last row may end without a newline).
            _check_fits_in_file(self.path, header.strip(), self.count, self.dim, len(header.encode()), 2 * self.dim + 1)

    def _decoded_lines(self) -> Iterator[str]:
        """The lines of a text file; one that is not UTF-8 has U+FFFD for its undecodable bytes and is counted, as
        the binary format counts its words."""
        for raw in self._handle:
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self._undecodable += 1
                yield raw.decode("utf-8", errors="replace")

    def _refuse_word2vec_header(self, first: tuple[int, str]) -> list[tuple[int, str]]:
        """Refuse a GloVe file whose first line is a word2vec header ("COUNT DIMENSION" followed by rows of
        DIMENSION values); return the lines read to decide, for the rows to be read from."""
        fields = first[1].split()
        if len(fields) != 2 or not all(_is_number(field) for field in fields):
            return [first]
        second = next(((number, line) for number, line in self._lines if line.strip()), None)
        if second is None or len(second[1].split()) == int(fields[1]) + 1:
            raise VectorFileError(
                f"{self.path}:{first[0]}: the first line {first[1].strip()!r} is a word2vec header (COUNT DIMENSION), "
                "which GloVe files do not have; use --from word2vec-txt"
            )
        return [first, second]

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
        blocks = self._binary_blocks() if self.layout.binary else self._text_blocks()
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
        words: list[str] = []
        rows: list[np.ndarray] = []
        numbers: list[int] = []
        total = 0
        for number, line in self._lines:
            if self.limit is not None and total >= self.limit:
                break
            parts = _fields(line)
            if len(parts) < 2 or not parts[0]:
                if not line.strip():
                    continue
                raise self._row_error(number, line, f"expected 'word value value ...', got {line.strip()[:60]!r}")
            if len(parts) - 1 != self.dim:
                raise self._row_error(
                    number, line, f"word {parts[0][:60]!r} has {len(parts) - 1} values, expected {self.dim}"
                )
            try:
                # Parsed as float64, so that a value beyond float32's range is caught by the block's check rather
                # than becoming inf with a warning of numpy's.
                rows.append(np.asarray(parts[1:], dtype=np.float64))
            except ValueError as error:
                raise self._row_error(
                    number, line, f"word {parts[0][:60]!r} has a value that is not a number"
                ) from error
            words.append(parts[0])
            numbers.append(number)
            total += 1
            if len(words) == TEXT_BLOCK_ROWS:
                yield words, self._finite_float32(words, rows, numbers)
                words, rows, numbers = [], [], []
        if words:
            yield words, self._finite_float32(words, rows, numbers)

    def _row_error(self, number: int, line: str, problem: str) -> VectorFileError:
        """The error for a malformed text row; a row holding bytes no text holds names the binary format."""
        hint = (
            "; the line holds bytes that are not text: a binary file? use --from word2vec-bin"
            if BINARY_BYTES.search(line)
            else ""
        )
        return VectorFileError(f"{self.path}:{number}: {problem}{hint}")

    def _finite_float32(self, words: list[str], rows: list[np.ndarray], numbers: list[int]) -> np.ndarray:
        """The block of text rows as float32, refused at its first value that is not finite or overflows float32
        (such vectors break every similarity and the model card's map)."""
        parsed = np.stack(rows)
        with np.errstate(over="ignore"):
            block = parsed.astype(np.float32)
        finite = np.isfinite(block)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            value = parsed[row, column]
            problem = "not a finite number" if not np.isfinite(value) else "beyond the range of float32 (3.4e38)"
            raise VectorFileError(
                f"{self.path}:{numbers[row]}: word {words[row]!r} has the value {value:g} (value {column + 1}), "
                f"{problem}; a vector must be finite numbers: fix or remove that line"
            )
        return block

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
            if index == 0:
                _refuse_text_body(self.path, buffer, filled)
            if raw_words:
                ends = np.cumsum(
                    np.fromiter(map(len, raw_words), dtype=np.int64, count=len(raw_words)) + 1 + record_bytes
                )
                data = np.frombuffer(buffer, dtype=np.uint8, count=filled)
                vectors = sliding_window_view(data, record_bytes)[ends - record_bytes].view(np.float32)
                del data
                joined = b" ".join(raw_words)
                words = self._decode_words(joined, raw_words)
                _refuse_bad_records(self.path, joined, words, vectors, index)
                consumed, index = int(ends[-1]), index + len(raw_words)
                yield words, vectors
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
        if count == self.declared_count and (bytes(buffer[:filled]) + self._handle.read(MAX_WORD_BYTES)).strip():
            warnings.warn(
                f"{self.path}: the file goes on after the {count} vectors its header declares; the rest was not "
                "read (is the header's count wrong?)",
                UserWarning,
                stacklevel=3,
            )

    def _decode_words(self, joined: bytes, raw_words: list[bytes]) -> list[str]:
        # Words hold no spaces (a space ends a word), so one decode of the joined words is the decode of each. The
        # C tool ends each vector with a newline, which the next word must not keep.
        try:
            return [word.lstrip("\n") for word in joined.decode("utf-8").split(" ")]
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


def _fields(line: str) -> list[str]:
    """The word and values of a text row (split at single spaces, as the C tool writes them)."""
    return line.rstrip("\r\n").rstrip(" ").split(" ")


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _refuse_text_body(path: Path, buffer: bytearray, filled: int) -> None:
    """Refuse a binary file whose first line after the header reads as a text row 'word value value ...' (in a
    binary file it holds a word and raw float32 bytes, which almost never decode as numbers)."""
    end = buffer.find(b"\n", 0, filled)
    if end < 0:
        return
    try:
        fields = bytes(buffer[:end]).decode("utf-8").split()
        values = [float(field) for field in fields[1:]]
    except (UnicodeDecodeError, ValueError):
        return
    if values:
        raise VectorFileError(
            f"{path}: after the header comes the text row {' '.join(fields)[:60]!r}, not binary vectors: "
            "this looks like a text file; use --from word2vec-txt"
        )


def _refuse_bad_records(path: Path, joined: bytes, words: list[str], vectors: np.ndarray, first_index: int) -> None:
    """Refuse, at its first bad record, a block of words (`joined` by spaces, as read) and their vectors that are
    being read at the wrong offset, as text read as binary or a word with a space inside makes them: a word holds
    a newline, or a value is beyond MOST_PLAUSIBLE_VALUE. Also refuse a value that is not finite (a broken file).

    The values cost two reductions over the block (NaN fails both comparisons), the words two counts: the search
    for the newline, a loop over bytes in `re`, runs only when some newline does not follow a space.
    """
    newline_row = len(words)
    if joined.count(b"\n") != joined.count(b" \n") + joined.startswith(b"\n"):
        newline = WORD_WITH_NEWLINE.search(joined)
        if newline is not None:
            newline_row = joined.count(b" ", 0, newline.start())
    value_row = len(words)
    if not (vectors.min() >= -MOST_PLAUSIBLE_VALUE and vectors.max() <= MOST_PLAUSIBLE_VALUE):
        value_row, column = np.argwhere(~(np.abs(vectors) <= MOST_PLAUSIBLE_VALUE))[0]
    row = min(newline_row, value_row)
    if row == len(words):
        return
    where = f"{path}: word {first_index + row + 1} ({words[row][:60]!r})"
    if row == newline_row:
        raise VectorFileError(f"{where} holds a newline, {MISREAD}")
    value, place = vectors[row, column], f"(value {column + 1})"
    if not np.isfinite(value):
        raise VectorFileError(f"{where} has the value {value} {place}; a vector must be finite: fix the file")
    raise VectorFileError(f"{where} has the value {value:.3g} {place}, which no word vector holds, {MISREAD}")


def _parse_header(line: str, path: Path) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(_is_number(part) for part in parts):
        raise VectorFileError(
            f"{path}: the first line should be the header 'COUNT DIMENSION', got {line.strip()[:60]!r}; "
            "a file without a header is GloVe format (--from glove)"
        )
    if int(parts[1]) == 0:
        raise VectorFileError(f"{path}: the header {line.strip()!r} declares vectors of 0 values")
    return int(parts[0]), int(parts[1])


def _check_fits_in_file(path: Path, header: str, count: int, dim: int, header_bytes: int, smallest_record: int) -> None:
    """Refuse a header whose vectors cannot all be in the file, records being at least `smallest_record` bytes (a
    lying header would otherwise size the table, or be taken for a lack of disk space)."""
    suffix = path.suffix.lower()
    if suffix in COMPRESSED_OPENERS and suffix != ".gz":
        return
    file_bytes = path.stat().st_size
    body_bytes = (file_bytes - header_bytes) * (DEFLATE_MAX_RATIO if suffix == ".gz" else 1)
    most_records = body_bytes // smallest_record
    if count > most_records:
        raise VectorFileError(
            f"{path}: the header {header!r} declares {count:,} vectors of {dim} values, but the file "
            f"{'can decompress to' if suffix == '.gz' else 'has room for'} at most {most_records:,} (it has only "
            f"{file_bytes:,} bytes); the header is wrong or the file is truncated"
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
