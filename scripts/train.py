"""`python scripts/train.py ARGS` is `word2vec train ARGS` (see word2vec_hub/commands/train.py)."""

import sys

from word2vec_hub.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
