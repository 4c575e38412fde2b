"""`python scripts/push.py ARGS` is `word2vec push ARGS` (see word2vec_hub/commands/push.py)."""

import sys

from word2vec_hub.cli import main

if __name__ == "__main__":
    main(["push", *sys.argv[1:]])
