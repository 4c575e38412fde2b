"""The vector-file formats: one table from a format's name to its layout, which `VectorFile` reads by and the
export writes by (no heavy imports: the command line's choices come from it)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class VectorFormat:
    # The first line is the header "COUNT DIMENSION".
    header: bool
    # Each word is followed by DIMENSION raw float32 rather than DIMENSION numbers in text.
    binary: bool
    # Written from a model folder (`word2vec convert --to`, `export_word2vec_format`), for gensim and the C tools.
    written: bool


VECTOR_FORMATS = {
    # The original C tool's binary and text formats.
    "word2vec-bin": VectorFormat(header=True, binary=True, written=True),
    "word2vec-txt": VectorFormat(header=True, binary=False, written=True),
    # GloVe's text, without a header.
    "glove": VectorFormat(header=False, binary=False, written=False),
    # fastText's .vec: word2vec's text format.
    "fasttext-vec": VectorFormat(header=True, binary=False, written=False),
    # fastText's .bin model: each word's vector composed from its row and its character n-grams' rows; written with
    # the n-gram table by `export_fasttext_bin` (conversion/fasttext_bin.py).
    "fasttext-bin": VectorFormat(header=True, binary=True, written=True),
}
FORMATS = tuple(VECTOR_FORMATS)
EXPORT_FORMATS = tuple(name for name, layout in VECTOR_FORMATS.items() if layout.written)

# The dtypes a model folder may store its tables in: modeling_word2vec.TABLE_DTYPES, repeated here because the model
# code may import nothing of ours and the command line must not import torch (tests/test_shrink.py checks they agree).
TABLE_DTYPES = ("float32", "float16", "bfloat16", "int8")
# `word2vec convert MODEL --to folder`: a model folder out of a model folder (smaller with --dtype, --max-vocab and
# --pca-dims).
FOLDER_TARGET = "folder"
