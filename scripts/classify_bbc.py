"""`python scripts/classify_bbc.py ARGS` is `word2vec classify ARGS` (see word2vec_hub/commands/classify.py)."""

import sys

from word2vec_hub.cli import main

if __name__ == "__main__":
    main(["classify", *sys.argv[1:]])
