"""`python -m word2vec_hub` is the `word2vec` command (torchrun needs it: `torchrun ... -m word2vec_hub train`)."""

from word2vec_hub.cli import main

main()
