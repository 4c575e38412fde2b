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

import json
import struct
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

# Room for any row count up to this: the header's numbers then never need more digits than reserved.
MOST_ROWS = 10**15 - 1
COUNTS_BLOCK_ROWS = 2**20


class ConvertedWeightsWriter:
    """`model.safetensors` holding `embeddings` [rows, dim] float32 (appended a block at a time), `counts` [rows]
    int64 zeros (a converted model has no word counts), and, given `ngram_rows`, the `ngrams` [ngram_rows, dim]
    float32 table of a fastText model (written by `close`), as `Word2VecModel` saves them.

    Writing into the page cache costs the kernel about as much time as parsing a vector file costs us, so a thread
    writes one block while the caller reads the next; two buffers, reused, hold the blocks in flight.
    """

    def __init__(self, path: str | Path, dim: int, ngram_rows: int = 0) -> None:
        self.path, self.dim, self.rows, self.ngram_rows = Path(path), dim, 0, ngram_rows
        self._header_bytes = len(self._header(MOST_ROWS))
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by close() or __exit__)
        self._file.seek(8 + self._header_bytes)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weights-writer")
        self._buffers: list[np.ndarray] = [np.empty(0, dtype="<f4"), np.empty(0, dtype="<f4")]
        self._writes: list[Future | None] = [None, None]
        self._turn = 0

    def __enter__(self) -> ConvertedWeightsWriter:
        return self

    def __exit__(self, *exception) -> None:
        self._thread.shutdown(wait=True)
        self._file.close()

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

    def close(self, ngram_blocks: Iterable[np.ndarray] = ()) -> int:
        """Write the counts, the n-gram table from `ngram_blocks` (`ngram_rows` rows in all) and the header, close
        the file, and return the number of rows."""
        self._wait(0)
        self._wait(1)
        for start in range(0, self.rows, COUNTS_BLOCK_ROWS):
            self._file.write(np.zeros(min(COUNTS_BLOCK_ROWS, self.rows - start), dtype="<i8").data)
        written = 0
        for block in ngram_blocks:
            self._file.write(np.ascontiguousarray(block, dtype="<f4").data)
            written += len(block)
        if written != self.ngram_rows:
            raise ValueError(f"the n-gram table has {written} rows, {self.ngram_rows} were announced")
        header = self._header(self.rows).ljust(self._header_bytes, b" ")
        self._file.seek(0)
        self._file.write(struct.pack("<Q", len(header)) + header)
        self._file.close()
        return self.rows

    def _wait(self, turn: int) -> None:
        """Wait for the write from buffer `turn` to finish (raising what it raised)."""
        write, self._writes[turn] = self._writes[turn], None
        if write is not None:
            write.result()

    def _header(self, rows: int) -> bytes:
        table_bytes = rows * self.dim * 4
        counts_end = table_bytes + rows * 8
        header = {
            "__metadata__": {"format": "pt"},
            "embeddings": {"dtype": "F32", "shape": [rows, self.dim], "data_offsets": [0, table_bytes]},
            "counts": {"dtype": "I64", "shape": [rows], "data_offsets": [table_bytes, counts_end]},
        }
        if self.ngram_rows:
            ngram_bytes = self.ngram_rows * self.dim * 4
            header["ngrams"] = {
                "dtype": "F32",
                "shape": [self.ngram_rows, self.dim],
                "data_offsets": [counts_end, counts_end + ngram_bytes],
            }
        encoded = json.dumps(header, separators=(",", ":")).encode()
        # The data then starts at a multiple of 8 bytes, as the safetensors library aligns it.
        return encoded + b" " * (-(8 + len(encoded)) % 8)

    def data_offset(self) -> int:
        """Where the data of `embeddings` starts in the file."""
        return 8 + self._header_bytes
