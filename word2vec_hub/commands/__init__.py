"""The subcommands of `word2vec`: each module has `add_arguments(parser)`, which imports nothing heavy, and
`run(options) -> int`, which imports what the work needs and returns the exit status (2 for bad input)."""
