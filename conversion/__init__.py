"""Bringing existing word2vec, GloVe and fastText vectors in, and taking ours out to gensim."""

from .convert import ConversionReport, convert_vector_file, to_keyed_vectors, vectors_to_model
from .vector_files import FORMATS, VectorFileError, read_vectors

__all__ = [
    "FORMATS",
    "ConversionReport",
    "VectorFileError",
    "convert_vector_file",
    "read_vectors",
    "to_keyed_vectors",
    "vectors_to_model",
]
