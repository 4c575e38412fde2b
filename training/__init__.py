"""Training word2vec models: reading corpora, encoding them, skip-gram with negative sampling, saving."""
