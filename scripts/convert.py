"""`python scripts/convert.py ARGS` is `word2vec convert ARGS` (see word2vec_hub/commands/convert.py)."""

import sys

from word2vec_hub.cli import main

if __name__ == "__main__":
    main(["convert", *sys.argv[1:]])
