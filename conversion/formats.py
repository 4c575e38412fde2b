"""The vector-file formats `word2vec convert` reads and writes (no heavy imports: the command line's choices)."""

# Read: the original C tool's binary and text formats, GloVe's headerless text, fastText's .vec text.
FORMATS = ("word2vec-bin", "word2vec-txt", "glove", "fasttext-vec")
# Written from a model folder, for gensim and the C tools.
EXPORT_FORMATS = ("word2vec-bin", "word2vec-txt")
