"""Using word2vec vectors downstream: the frozen input layer of a transformer classifier."""
