"""`python scripts/pull.py ARGS` is `word2vec pull ARGS` (see word2vec_hub/commands/pull.py)."""

import sys

from word2vec_hub.cli import main

if __name__ == "__main__":
    main(["pull", *sys.argv[1:]])
