"""The subcommands of `word2vec`: each module has `add_arguments(parser)`, which imports nothing heavy,
`check_arguments(options)`, which checks paths and names before anything heavy is imported (a `ValueError` or
`OSError` becomes the one `error:` line, exit status 2; it may keep what it resolved on `options` for `run`, which
the command line calls only after it), and `run(options) -> int`, which imports what the work needs and returns
the exit status (2 for bad input)."""
