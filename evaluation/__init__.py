"""Intrinsic evaluation of word vectors: word-similarity correlation and analogy accuracy."""
