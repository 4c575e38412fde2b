"""Bringing existing word2vec, GloVe and fastText vectors in, and taking ours out to gensim."""
