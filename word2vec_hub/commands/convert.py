"""Turn existing word vectors into a model folder of this project, or write ours in word2vec format.

word2vec convert vectors.bin --from word2vec-bin --output my-model [--lowercase] [--max-vocab 200000]
word2vec convert glove.6B.100d.txt --from glove --output glove-100d --language en
word2vec convert word2vec-ptb --to word2vec-bin --output ptb-vectors.bin   # the other way (--overwrite to replace)
word2vec convert fasttext-model --to fasttext-bin --output model.bin   # for fastText and gensim, subwords included
word2vec convert word2vec-ptb --to folder --output ptb-small --dtype int8 --max-vocab 5000 --pca-dims 50
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from word2vec_hub.argument_checks import UsageError, check_file, check_model, check_parent
from word2vec_hub.conversion.formats import EXPORT_FORMATS, FOLDER_TARGET, FORMATS, TABLE_DTYPES, VECTOR_FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a vector file (with --from), or a model folder (with --to)")
    direction = parser.add_mutually_exclusive_group(required=True)
    direction.add_argument("--from", dest="source_format", choices=FORMATS, help="format of the vector file")
    direction.add_argument(
        "--to",
        dest="target_format",
        choices=(*EXPORT_FORMATS, FOLDER_TARGET),
        help=f"format of the vector file to write, or {FOLDER_TARGET}: a (smaller) model folder",
    )
    parser.add_argument(
        "--output", required=True, help=f"model folder (with --from, --to {FOLDER_TARGET}) or vector file (with --to)"
    )
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
    parser.add_argument(
        "--max-vocab",
        type=int,
        help="keep only the first N vectors of the file (with --from), the N most frequent words (with --to folder)",
    )
    parser.add_argument("--language", help="language code for the model card")
    shrinking = parser.add_argument_group("smaller model folders (with --from, or --to folder)")
    shrinking.add_argument(
        "--dtype",
        choices=TABLE_DTYPES,
        default="float32",
        help="store the vectors as float16 or bfloat16 (half the size) or int8 with a scale a row (a quarter)",
    )
    shrinking.add_argument(
        "--pca-dims", type=int, help="project the vectors on their first N principal components (as model2vec)"
    )


def check_arguments(options: argparse.Namespace) -> None:
    shrinks = options.dtype != "float32" or options.pca_dims is not None
    if options.target_format and options.target_format != FOLDER_TARGET and shrinks:
        raise UsageError(
            f"--dtype and --pca-dims make a model folder, and --to {options.target_format} writes a vector file; "
            f"pass --to {FOLDER_TARGET} --output FOLDER"
        )
    for option, value, unit in (("--max-vocab", options.max_vocab, "words"), ("--pca-dims", options.pca_dims, "dims")):
        if value is not None and value < 1:
            raise UsageError(f"{option} must be 1 or more {unit}, got {value}")
    if options.target_format == FOLDER_TARGET:
        from word2vec_hub.folders.checks import check_output_dir

        if options.overwrite:
            raise UsageError(
                f"--overwrite is for a vector file; with --to {FOLDER_TARGET}, a model folder of ours is replaced "
                "without it and anything else never is"
            )
        check_model(options.input, "the model")
        if Path(options.output).expanduser().resolve() == Path(options.input).expanduser().resolve():
            raise UsageError(
                f"--output {options.output} is the model folder itself; write the smaller copy to another folder "
                "(the full one is the one to continue training from)"
            )
        check_output_dir(options.output)
    elif options.target_format:
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
    # torch and transformers come with the model's code: a conversion from a file imports them when its vectors
    # are written, while they are flushed to disk.
    from word2vec_hub.conversion.convert import convert_vector_file, export_fasttext_bin, export_word2vec_format
    from word2vec_hub.conversion.vector_files import VectorFileError
    from word2vec_hub.folders.checks import OutputError, check_output_file

    try:
        if options.target_format == FOLDER_TARGET:
            from word2vec_hub.conversion.shrink import shrink_model_folder

            report = shrink_model_folder(
                options.input,
                options.output,
                table_dtype=options.dtype,
                max_vocab=options.max_vocab,
                pca_dims=options.pca_dims,
                language=options.language,
            )
            print(
                f"saved {report.words_kept:,} of {report.words_before:,} words, {report.dims_kept} of "
                f"{report.dims_before} dimensions, as {report.table_dtype} to {options.output}"
                + (
                    f" (PCA kept {report.variance_kept:.1%} of the variance)"
                    if report.variance_kept is not None
                    else ""
                )
            )
            return 0
        if options.target_format:
            from word2vec_hub.modeling import Word2VecModel

            check_output_file(options.output, options.overwrite)
            model = Word2VecModel.from_pretrained(options.input)
            if options.target_format == "fasttext-bin":
                export_fasttext_bin(model, options.output, overwrite=options.overwrite)
            else:
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
            table_dtype=options.dtype,
            pca_dims=options.pca_dims,
        )
    except (VectorFileError, OutputError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"read {report.words_read:,} vectors of {report.dimension} from {Path(options.input).name}")
    if report.duplicates_dropped:
        print(f"dropped {report.duplicates_dropped:,} duplicate(s) after normalisation (kept the first of each)")
    print(f"saved {report.words_kept:,} words to {options.output} (no skip-gram head: has_context_vectors=false)")
    return 0
