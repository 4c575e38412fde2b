"""`python scripts/evaluate.py ARGS` is `word2vec evaluate ARGS` (see word2vec_hub/commands/evaluate.py)."""

import sys

from word2vec_hub.cli import main

if __name__ == "__main__":
    main(["evaluate", *sys.argv[1:]])
