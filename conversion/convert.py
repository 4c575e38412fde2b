"""Turning existing word vectors into a model folder of this project, and our models into gensim KeyedVectors."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from word2vec_hub.folders.atomic import replacing_file
from word2vec_hub.folders.checks import (
    OutputError,
    check_output_dir,
    check_output_file,
    nearest_existing_folder,
    replace_or_refuse,
)
from word2vec_hub.resources import readable_size
from word2vec_hub.tokenization.word_level import (
    PAD_TOKEN,
    SPECIAL_TOKENS,
    UNK_TOKEN,
    build_normalizer,
    empty_word_level_tokenizer,
    wrap_tokenizer,
)

from .vector_files import VectorFile
from .weights_writer import ConvertedWeightsWriter

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from word2vec_hub.modeling import Word2VecConfig, Word2VecModel

    from .fasttext_bin import FastTextBinFile


@dataclass
class ConversionReport:
    words_read: int
    words_kept: int
    duplicates_dropped: int
    dimension: int


WEIGHTS_FILE = "model.safetensors"


def convert_vector_file(
    path: str | Path,
    file_format: str,
    output: str | Path,
    lowercase: bool = False,
    max_vocab: int | None = None,
    split_punctuation: bool = True,
    language: str | None = None,
    table_dtype: str = "float32",
    pca_dims: int | None = None,
) -> ConversionReport:
    """Read a vector file and write a model folder (weights, tokenizer, model card) to `output`, its vectors stored
    as `table_dtype` and projected on their `pca_dims` principal components if given (`conversion.shrink`).

    The rows are [PAD], [UNK], then the vectors in file order. The vectors go from the file to `model.safetensors`
    a block at a time, so the table is never in memory as a whole (GoogleNews converts in far less memory than its
    3.6 GB). Words are normalised as the tokenizer will normalise text, so that each stays reachable; when two
    words become the same (such as "Apple" and "apple" with `lowercase`), the first in the file is kept.
    A smaller folder (`table_dtype` other than float32, or `pca_dims`) is made from a float32 one written first
    beside `output` and removed after: the table is then in memory once.
    """
    output = check_output_dir(output)
    if table_dtype != "float32" or pca_dims is not None:
        from .shrink import check_shrink_options, shrink_model_folder

        check_shrink_options(None, pca_dims, table_dtype)
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}-float32-") as full:
            arguments = {"lowercase": lowercase, "max_vocab": max_vocab, "split_punctuation": split_punctuation}
            report = convert_vector_file(path, file_format, Path(full) / output.name, **arguments)
            shrink_model_folder(Path(full) / output.name, output, table_dtype, pca_dims=pca_dims, language=language)
        return report
    report = ConversionReport(0, 0, 0, 0)
    with (
        open_vector_file(path, file_format, limit=max_vocab) as vectors,
        _model_libraries_imported_meanwhile() as imported,
    ):
        if vectors.count is not None:
            table_rows = len(SPECIAL_TOKENS) + vectors.count
            check_disk_space(output, table_rows * (vectors.dim * 4 + 8) + vectors.ngram_rows * vectors.dim * 4)

        def fill(staging: Path) -> None:
            weights = staging / WEIGHTS_FILE
            subwords = vectors.ngram_rows
            ngrams_from = (vectors.path, vectors.ngram_table_offset) if subwords else None
            # The tokenizer, config and card are made while the writer flushes the weights to disk.
            with ConvertedWeightsWriter(weights, vectors.dim, ngram_rows=subwords, ngrams_from=ngrams_from) as writer:
                vocabulary, duplicates = _write_vectors(vectors, writer, _words_normalizer(lowercase, nfkc=True))
                rows = writer.close()
                imported()
                tokenizer = wrap_tokenizer(
                    empty_word_level_tokenizer(
                        lowercase=lowercase, nfkc=True, split_punctuation=split_punctuation, vocab=vocabulary
                    )
                )
                from word2vec_hub.folders.model_folder import save_config_and_code, write_companion_files
                from word2vec_hub.modeling import Word2VecConfig

                special_ids = {"pad_token_id": vocabulary[PAD_TOKEN], "unk_token_id": vocabulary[UNK_TOKEN]}
                # 2M words are about 250 MB of Python strings, which the tokenizer (in Rust) now holds.
                del vocabulary
                config = Word2VecConfig(
                    vocab_size=rows,
                    hidden_size=vectors.dim,
                    **special_ids,
                    architecture=None,
                    has_context_vectors=False,
                    corpus=f"{vectors.path.name} ({file_format})",
                    min_count=1,
                    epochs=0,
                    **({"bucket": subwords, "min_n": vectors.min_n, "max_n": vectors.max_n} if subwords else {}),
                )
                model = _model_over_weights(config, weights, writer.data_offset(), tokenizer)
                save_config_and_code(model, staging)
                write_companion_files(model, tokenizer, staging, output.name, language)
            report.words_read, report.words_kept = vectors.words_read, rows - len(SPECIAL_TOKENS)
            report.duplicates_dropped, report.dimension = duplicates, vectors.dim

        replace_or_refuse(output, fill, lambda: f"writing the vectors of {vectors.path.name}")
    return report


@contextmanager
def _model_libraries_imported_meanwhile() -> Iterator[Callable[[], None]]:
    """Import the model package, and with it torch and transformers' model classes (seconds), which the folder's
    tokenizer, config and card need, in a thread while the block reads and writes the vectors: much of that is
    numba, numpy and the kernel's copy, which leave the GIL to the thread. Yields the wait for it, which the block
    calls before it uses them; the way out of the block waits too, an error's included (so an error after the
    file's header is reported once the import is done), so that no later import in this process runs beside the
    thread's: transformers' lazy module is not safe to import from two threads at once. The block itself imports
    nothing of transformers or torch before the wait.

    Entered once the vector file has opened (a file refused at its header costs no import), and not a daemon: an
    interpreter that exits while a thread is inside torch's extension modules can crash. A failed import is left
    to the main thread, whose own import of the same modules raises it. The command has imported
    `transformers.utils` for its logging by then, not the model classes: the thread still runs there."""
    if "word2vec_hub.modeling" in sys.modules:
        yield lambda: None
        return

    def import_them() -> None:
        try:
            import transformers  # noqa: F401

            import word2vec_hub.modeling  # noqa: F401
        except Exception:
            pass

    thread = threading.Thread(target=import_them, name="import-model-libraries")
    thread.start()
    try:
        yield thread.join
    finally:
        thread.join()


def open_vector_file(path: str | Path, file_format: str, limit: int | None) -> VectorFile | FastTextBinFile:
    """The reader of `file_format`: fastText's binary model has its own, the formats of one vector a word share one."""
    if file_format == "fasttext-bin":
        # numba compiles its reader: imported only for this format.
        from .fasttext_bin import FastTextBinFile

        return FastTextBinFile(path, limit=limit)
    return VectorFile(path, file_format, limit=limit)


def _write_vectors(
    vectors: VectorFile | FastTextBinFile, writer: ConvertedWeightsWriter, normalize: Callable[[list[str]], list[str]]
) -> tuple[dict[str, int], int]:
    """Stream zero rows for the special tokens, then each vector whose normalised word is new; return the
    vocabulary ({token: row}) and the number of duplicates dropped."""
    vocabulary = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    writer.append(np.zeros((len(SPECIAL_TOKENS), vectors.dim), dtype=np.float32))
    duplicates = 0
    # Closed on the way out, an error's included: a reader's threads are joined before the file is.
    with closing(iter(vectors)) as blocks:
        for words, block in blocks:
            keys = normalize(words)
            if len(set(keys)) == len(keys) and vocabulary.keys().isdisjoint(keys):
                vocabulary.update(zip(keys, range(len(vocabulary), len(vocabulary) + len(keys)), strict=True))
                writer.append(block)
                continue
            kept = []
            for index, key in enumerate(keys):
                if key not in vocabulary:
                    vocabulary[key] = len(vocabulary)
                    kept.append(index)
            duplicates += len(words) - len(kept)
            writer.append(block[kept])
    return vocabulary, duplicates


def _model_over_weights(
    config: Word2VecConfig, weights: Path, data_offset: int, tokenizer: PreTrainedTokenizerFast
) -> Word2VecModel:
    """The model whose `embeddings` are the written file's, memory-mapped: the model card reads a few rows."""
    import torch
    from torch import nn

    from word2vec_hub.modeling import Word2VecModel

    # Built on the meta device, so that no table is allocated and randomly initialised only to be replaced.
    with torch.device("meta"):
        model = Word2VecModel(config)
    # Copy-on-write: a write would stay in memory, never reach the file.
    table = np.memmap(
        weights, dtype=np.float32, mode="c", offset=data_offset, shape=(config.vocab_size, config.hidden_size)
    )
    model.embeddings = nn.Parameter(torch.from_numpy(table), requires_grad=not config.freeze_embeddings)
    model.counts = torch.zeros(config.vocab_size, dtype=torch.int64)
    model.set_tokenizer(tokenizer)
    return model


def check_disk_space(output: Path, weights_bytes: int) -> None:
    """Refuse, before writing, a conversion whose weights cannot fit on the disk of `output`."""
    free = shutil.disk_usage(nearest_existing_folder(output)).free
    if weights_bytes > free:
        raise OutputError(
            f"the weights need {readable_size(weights_bytes)} but {readable_size(free)} is free where {output} "
            "goes; choose an --output on a larger disk, or keep only the first N words with --max-vocab N"
        )


def _words_normalizer(lowercase: bool, nfkc: bool) -> Callable[[list[str]], list[str]]:
    """The tokenizer's normalisation of each of a list of words; ASCII skips the calls into Rust, since NFKC leaves
    it as it is."""
    normalizer = build_normalizer(lowercase=lowercase, nfkc=nfkc)
    if normalizer is None:
        return list
    normalize_str = normalizer.normalize_str

    def normalize(words: list[str]) -> list[str]:
        if "".join(words).isascii():
            return [word.lower() for word in words] if lowercase else words
        return [normalize_str(word) if not word.isascii() else word.lower() if lowercase else word for word in words]

    return normalize


def export_word2vec_format(model: Word2VecModel, output: str | Path, binary: bool, overwrite: bool = False) -> Path:
    """Write the model's word vectors to the file `output` in word2vec format (`Word2VecModel.save_word2vec_format`),
    refusing an existing file unless `overwrite`. The vectors go to a temporary file that replaces `output` once
    complete, so that an interrupted export leaves the old file or none, never half a file."""
    output = check_output_file(output, overwrite)
    output.parent.mkdir(parents=True, exist_ok=True)
    with replacing_file(output) as temporary:
        model.save_word2vec_format(temporary, binary=binary)
    return output


def export_fasttext_bin(model: Word2VecModel, output: str | Path, overwrite: bool = False) -> Path:
    """Write the model to the file `output` as a fastText `.bin` (`fasttext_bin.write_fasttext_bin`: what
    `fasttext.load_model` and gensim's `load_facebook_model` read, unknown words included where the model has
    subwords), refusing an existing file unless `overwrite`. Written to a temporary file that replaces `output`
    once complete, as `export_word2vec_format` does."""
    from .fasttext_bin import write_fasttext_bin

    output = check_output_file(output, overwrite)
    output.parent.mkdir(parents=True, exist_ok=True)
    with replacing_file(output) as temporary:
        write_fasttext_bin(model, temporary)
    return output


def to_keyed_vectors(model: Word2VecModel):
    """The word vectors as gensim `KeyedVectors` (special tokens left out, frequency order kept)."""
    from gensim.models import KeyedVectors

    rows = model.word_ids()
    keyed = KeyedVectors(vector_size=model.config.hidden_size)
    keyed.add_vectors([model.index_to_key[row] for row in rows], model.embeddings.detach().float().cpu()[rows].numpy())
    counts = model.counts.cpu()
    if counts.sum() > 0:
        for row in rows:
            keyed.set_vecattr(model.index_to_key[row], "count", int(counts[row]))
    return keyed
