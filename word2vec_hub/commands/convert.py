"""Turn existing word vectors into a model folder of this project, or write ours in word2vec format.

word2vec convert vectors.bin --from word2vec-bin --output my-model [--lowercase] [--max-vocab 200000]
word2vec convert glove.6B.100d.txt --from glove --output glove-100d --language en
word2vec convert word2vec-ptb --to word2vec-bin --output ptb-vectors.bin   # the other way (--overwrite to replace)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from word2vec_hub.argument_checks import check_file, check_model, check_parent
from word2vec_hub.conversion.formats import EXPORT_FORMATS, FORMATS, VECTOR_FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a vector file (with --from), or a model folder (with --to)")
    direction = parser.add_mutually_exclusive_group(required=True)
    direction.add_argument("--from", dest="source_format", choices=FORMATS, help="format of the vector file")
    direction.add_argument("--to", dest="target_format", choices=EXPORT_FORMATS)
    parser.add_argument("--output", required=True, help="model folder (with --from) or vector file (with --to)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="with --to: replace the vector file if it exists (a model folder of ours is replaced without it)",
    )
    parser.add_argument(
        "--lowercase", action=argparse.BooleanOptionalAction, default=False, help="lowercase words and text"
    )
    parser.add_argument(
        "--split-punctuation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the tokenizer splits punctuation off words (off: whitespace only)",
    )
    parser.add_argument("--max-vocab", type=int, help="keep only the first N vectors of the file")
    parser.add_argument("--language", help="language code for the model card")


def check_arguments(options: argparse.Namespace) -> None:
    if options.target_format:
        check_model(options.input, "the model")
        check_parent(options.output, "--output")
    else:
        from word2vec_hub.folders.checks import check_output_dir

        if options.overwrite:
            raise ValueError(
                "--overwrite is for --to (a vector file); with --from, a model folder of ours is replaced without it "
                "and anything else never is"
            )
        check_file(options.input, "the vector file")
        check_output_dir(options.output)


def run(options: argparse.Namespace) -> int:
    from word2vec_hub.conversion.convert import convert_vector_file, export_word2vec_format
    from word2vec_hub.conversion.vector_files import VectorFileError
    from word2vec_hub.folders.checks import OutputError, check_output_file
    from word2vec_hub.modeling import Word2VecModel

    try:
        if options.target_format:
            check_output_file(options.output, options.overwrite)
            model = Word2VecModel.from_pretrained(options.input)
            binary = VECTOR_FORMATS[options.target_format].binary
            export_word2vec_format(model, options.output, binary=binary, overwrite=options.overwrite)
            print(f"wrote {model.config.vocab_size - 2:,} vectors of {model.config.hidden_size} to {options.output}")
            return 0
        report = convert_vector_file(
            options.input,
            options.source_format,
            options.output,
            lowercase=options.lowercase,
            max_vocab=options.max_vocab,
            split_punctuation=options.split_punctuation,
            language=options.language,
        )
    except (VectorFileError, OutputError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"read {report.words_read:,} vectors of {report.dimension} from {Path(options.input).name}")
    if report.duplicates_dropped:
        print(f"dropped {report.duplicates_dropped:,} duplicate(s) after normalisation (kept the first of each)")
    print(f"saved {report.words_kept:,} words to {options.output} (no skip-gram head: has_context_vectors=false)")
    return 0
