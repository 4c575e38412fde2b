"""Writing the `model.safetensors` of a converted model a block of rows at a time, so that no table is in memory.

The safetensors library serializes tensors that are already in memory (and copies each into one buffer first), so
converting GoogleNews (3M x 300, 3.6 GB) through it needs the table twice over. The format is simple (an 8-byte
length, a JSON header of names, dtypes, shapes and byte offsets, then the raw little-endian data; see
https://github.com/huggingface/safetensors#format): this writer reserves room for the header, streams the rows
after it, and writes the header last, once the number of rows is known. The header may end in spaces, which is
how it is padded to the reserved length. What it writes is read by the safetensors library like any other file
(and tests read it that way).
"""

from __future__ import annotations

import errno
import json
import os
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import numpy as np

# Room for any row count up to this: the header's numbers then never need more digits than reserved.
MOST_ROWS = 10**15 - 1
COUNTS_BLOCK_ROWS = 2**20
# Bytes a read and a write move where the kernel cannot copy between the two files itself.
COPY_BLOCK_BYTES = 1 << 26


class ConvertedWeightsWriter:
    """`model.safetensors` holding `embeddings` [rows, dim] float32 (appended a block at a time), `counts` [rows]
    int64 zeros (a converted model has no word counts), and, given `ngram_rows`, the `ngrams` [ngram_rows, dim]
    float32 table of a fastText model, copied as it is from the file and byte offset `ngrams_from`, as
    `Word2VecModel` saves them.

    Writing into the page cache costs the kernel about as much time as parsing a vector file costs us, so a thread
    writes one block while the caller reads the next; two buffers, reused, hold the blocks in flight. The n-gram
    table comes first in the file, so that it can be copied at once, file to file by the kernel (a cc.*.300.bin's
    is 2.4 GB, which never passes through this process's memory), and a second thread starts flushing it to disk
    while the vectors are still being composed: the disk, not the CPU, sets the time of a large conversion.
    `close()` writes the header and starts the last flush; leaving the `with` block waits for it.
    """

    def __init__(
        self, path: str | Path, dim: int, ngram_rows: int = 0, ngrams_from: tuple[Path, int] | None = None
    ) -> None:
        if ngram_rows and ngrams_from is None:
            raise ValueError("an n-gram table needs the file and offset to copy it from (ngrams_from)")
        self.path, self.dim, self.rows, self.ngram_rows = Path(path), dim, 0, ngram_rows
        self._header_bytes = len(self._header(MOST_ROWS))
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by __exit__)
        self._file.seek(self.data_offset())
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weights-writer")
        self._flusher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weights-flusher")
        self._flushes: list[Future] = []
        self._buffers: list[np.ndarray] = [np.empty(0, dtype="<f4"), np.empty(0, dtype="<f4")]
        self._writes: list[Future | None] = [None, None]
        self._turn = 0
        # Its own thread, so that the rows' writes (and the composing that waits on them) go on during the copy.
        self._copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ngram-copier")
        self._ngram_copy = self._copier.submit(self._copy_ngrams, *ngrams_from) if ngram_rows else None

    def __enter__(self) -> ConvertedWeightsWriter:
        return self

    def __exit__(self, exception_type, *exception) -> None:
        self._thread.shutdown(wait=True)
        self._copier.shutdown(wait=True)
        self._flusher.shutdown(wait=True)
        self._file.close()
        if exception_type is None:
            # A failed flush (a full disk, an I/O error) is reported once by the kernel: here, not lost.
            for flush in self._flushes:
                flush.result()

    def append(self, vectors: np.ndarray) -> None:
        """Write `vectors` ([n, dim], any float dtype) as the next n rows of `embeddings`; the array may be reused
        as soon as this returns."""
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected rows of {self.dim} values, got an array of shape {vectors.shape}")
        turn, self._turn = self._turn, 1 - self._turn
        self._wait(turn)
        if self._buffers[turn].size < vectors.size:
            self._buffers[turn] = np.empty(vectors.size, dtype="<f4")
        staged = self._buffers[turn][: vectors.size].reshape(vectors.shape)
        np.copyto(staged, vectors, casting="same_kind")
        self._writes[turn] = self._thread.submit(self._file.write, staged.data)
        self.rows += len(vectors)

    def close(self) -> int:
        """Write the counts and the header, start flushing the file to disk, and return the number of rows."""
        self._wait(0)
        self._wait(1)
        if self._ngram_copy is not None:
            self._ngram_copy.result()
        for start in range(0, self.rows, COUNTS_BLOCK_ROWS):
            self._file.write(np.zeros(min(COUNTS_BLOCK_ROWS, self.rows - start), dtype="<i8").data)
        header = self._header(self.rows).ljust(self._header_bytes, b" ")
        self._file.seek(0)
        self._file.write(struct.pack("<Q", len(header)) + header)
        self._file.flush()
        self._flushes.append(self._flusher.submit(os.fsync, self._file.fileno()))
        return self.rows

    def _copy_ngrams(self, source: Path, offset: int) -> None:
        # A handle of its own on the output, so that the copy never moves the position the rows are written at.
        with open(source, "rb") as reader, open(self.path, "r+b") as writer:
            copy_byte_range(reader, offset, writer, 8 + self._header_bytes, self._ngram_bytes)
        self._flushes.append(self._flusher.submit(os.fsync, self._file.fileno()))

    def _wait(self, turn: int) -> None:
        """Wait for the write from buffer `turn` to finish (raising what it raised)."""
        write, self._writes[turn] = self._writes[turn], None
        if write is not None:
            write.result()

    @property
    def _ngram_bytes(self) -> int:
        return self.ngram_rows * self.dim * 4

    def _header(self, rows: int) -> bytes:
        table_end = self._ngram_bytes + rows * self.dim * 4
        header = {
            "__metadata__": {"format": "pt"},
            "embeddings": {"dtype": "F32", "shape": [rows, self.dim], "data_offsets": [self._ngram_bytes, table_end]},
            "counts": {"dtype": "I64", "shape": [rows], "data_offsets": [table_end, table_end + rows * 8]},
        }
        if self.ngram_rows:
            header["ngrams"] = {
                "dtype": "F32", "shape": [self.ngram_rows, self.dim], "data_offsets": [0, self._ngram_bytes]
            }  # fmt: skip
        encoded = json.dumps(header, separators=(",", ":")).encode()
        # The data then starts at a multiple of 8 bytes, as the safetensors library aligns it.
        return encoded + b" " * (-(8 + len(encoded)) % 8)

    def data_offset(self) -> int:
        """Where the data of `embeddings` starts in the file."""
        return 8 + self._header_bytes + self._ngram_bytes


def copy_byte_range(source: BinaryIO, source_offset: int, target: BinaryIO, target_offset: int, count: int) -> None:
    """Copy `count` bytes from the open file `source` at `source_offset` to `target` at `target_offset`: by the
    kernel (copy_file_range(2)) where it can, else through a buffer a block at a time. Moves both files' positions.
    Raises ValueError if the source ends first."""
    copied = 0
    try:
        while copied < count:
            done = os.copy_file_range(
                source.fileno(), target.fileno(), count - copied, source_offset + copied, target_offset + copied
            )
            if done == 0:
                break
            copied += done
    except OSError as error:
        # Files on two file systems, or a file system without it: copied below.
        if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
    except AttributeError:
        # A system without copy_file_range (macOS, Windows).
        pass
    source.seek(source_offset + copied)
    target.seek(target_offset + copied)
    while copied < count:
        block = source.read(min(COPY_BLOCK_BYTES, count - copied))
        if not block:
            break
        target.write(block)
        copied += len(block)
    if copied < count:
        raise ValueError(f"the file ended {count - copied:,} bytes before the {count:,} to copy did")
