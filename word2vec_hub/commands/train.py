"""Train word2vec (skip-gram or CBOW, negative sampling or hierarchical softmax) and write a model folder.

word2vec train                              # the Penn Treebank, as in the d2l word2vec chapter
word2vec train --corpus a.txt b.txt.gz      # your own text, one sentence or document a line
word2vec train --cbow --hs --negative 0     # CBOW with hierarchical softmax, as word2vec's -cbow 1 -hs 1 -negative 0
word2vec train --subwords                   # fastText's subwords: unseen words get vectors from their n-grams
torchrun --nproc-per-node 2 -m word2vec_hub train --corpus big.txt   # data-parallel on torch.distributed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
from dataclasses import fields
from pathlib import Path

from word2vec_hub.argument_checks import UsageError, check_folder, check_model, check_parent, looks_like_path
from word2vec_hub.conversion.formats import TABLE_DTYPES
from word2vec_hub.tokenization.writing_systems import SEGMENTATIONS, WORD_DISCOVERIES
from word2vec_hub.training.arguments import (
    ALPHA,
    BACKENDS,
    BUCKET,
    CBOW_ALPHA,
    LR_SCHEDULES,
    NGRAM_LENGTHS,
    SEGMENTED_NGRAM_LENGTHS,
    SUBWORD_ALPHA,
    SYNC_CHOICES,
    SYNC_EVERY,
    TrainingArguments,
    cannot_grow_converted,
)

DEFAULT_PROBES = ("chip", "market", "president", "company", "stock", "bank")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainingArguments()
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--corpus", nargs="+", metavar="PATH",
        help="text files (.gz/.bz2/.xz too), folders, glob patterns, or - for stdin; default: the PTB",
    )  # fmt: skip
    source.add_argument("--dataset", metavar="NAME_OR_PATH", help="a Hugging Face datasets dataset, streamed")
    parser.add_argument("--dataset-config", help="configuration name of --dataset")
    parser.add_argument("--split", default="train", help="split of --dataset (default: train)")
    parser.add_argument("--text-column", default="text", help="column of --dataset holding the text")
    parser.add_argument("--output", help="model folder to write (default: word2vec-<corpus name>)")
    parser.add_argument("--dim", type=int, default=defaults.dim, help="vector size (gensim's vector_size)")
    parser.add_argument("--window", type=int, default=defaults.window, help="maximum distance to a context word")
    parser.add_argument(
        "--cbow", action="store_true",
        help="CBOW: predict each word from its window (word2vec's -cbow 1, gensim's sg=0); default: skip-gram",
    )  # fmt: skip
    parser.add_argument(
        "--cbow-mean", action=argparse.BooleanOptionalAction, default=defaults.cbow_mean,
        help="with --cbow: the window's input is the mean of its vectors (default), or their sum (gensim's cbow_mean)",
    )  # fmt: skip
    parser.add_argument(
        "--hs", action="store_true",
        help="hierarchical softmax over the Huffman tree of the counts (gensim's hs=1), beside the negatives, or "
        "instead of them with --negative 0",
    )  # fmt: skip
    parser.add_argument(
        "--negative", type=int, default=defaults.negative, help="noise words per pair (0: none, with --hs)"
    )
    parser.add_argument(
        "--subwords", action="store_true",
        help="fastText's model: a word's vector is the mean of its own and its character n-grams' vectors, so words "
        "never seen get vectors (gensim's FastText)",
    )  # fmt: skip
    parser.add_argument(
        "--min-n", type=int, default=None,
        help=f"with --subwords: shortest n-gram, in characters (default: {NGRAM_LENGTHS[0]}, fastText's; "
        f"{SEGMENTED_NGRAM_LENGTHS[0]} for text the tokenizer segments: Chinese, Japanese, Thai)",
    )  # fmt: skip
    parser.add_argument(
        "--max-n", type=int, default=None,
        help=f"with --subwords: longest n-gram, in characters (default: {NGRAM_LENGTHS[1]}; "
        f"{SEGMENTED_NGRAM_LENGTHS[1]} for text the tokenizer segments)",
    )  # fmt: skip
    parser.add_argument(
        "--bucket", type=int, default=None,
        help=f"with --subwords: rows of the n-gram table the n-grams hash into (fastText's -bucket; default: {BUCKET:,}"
        ", or the --init-from model's)",
    )  # fmt: skip
    parser.add_argument("--sample", type=float, default=defaults.sample, help="subsampling threshold (0: off)")
    parser.add_argument("--min-count", type=int, default=defaults.min_count, help="drop rarer words")
    parser.add_argument("--max-vocab", type=int, default=None, help="keep at most this many words")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the corpus")
    parser.add_argument(
        "--alpha", type=float, default=None,
        help=f"initial learning rate (default: {ALPHA}, gensim's; {CBOW_ALPHA} with --cbow, word2vec's for CBOW on the "
        f"mean; {SUBWORD_ALPHA} with --subwords, fastText's)",
    )  # fmt: skip
    parser.add_argument("--min-alpha", type=float, default=defaults.min_alpha, help="final learning rate")
    parser.add_argument("--ns-exponent", type=float, default=defaults.ns_exponent, help="noise distribution power")
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="(center, context) pairs a step of the torch engine"
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of the initial vectors, subsampling and noise words"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    parser.add_argument(
        "--backend", default="auto", choices=BACKENDS,
        help="training engine (auto: the compiled kernel on the CPU, the fused Triton kernel on CUDA where Triton is "
        "installed, batched tensors elsewhere)",
    )  # fmt: skip
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="CPU processes reading the corpus and threads of the numba engine (0: all cores)",
    )
    parser.add_argument(
        "--lr-schedule", default=None, choices=LR_SCHEDULES,
        help="gensim (the default): as gensim's corpus_file mode (each epoch restarts lower, each thread decays by "
        "its own share); linear (the default with --subwords, as fastText): word2vec's decay over all words to "
        "--min-alpha",
    )  # fmt: skip
    parser.add_argument(
        "--split-punctuation",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="split punctuation off words (default: on for --corpus files, off for the pre-tokenised PTB)",
    )
    parser.add_argument(
        "--segmentation", default="auto", choices=SEGMENTATIONS,
        help="text written without spaces (Chinese, Japanese, Thai): word splits it into words found in the corpus, "
        "character into single characters, none leaves whole clauses; auto (default): word where such text is at "
        "least 1%% of the corpus, character for less",
    )  # fmt: skip
    parser.add_argument(
        "--word-discovery", default="auto", choices=WORD_DISCOVERIES,
        help="where --segmentation word finds words: jieba's dictionary (pip install 'word2vec-hub[chinese]'), or "
        "the corpus's own statistics; auto (default): jieba for Chinese when it is installed",
    )  # fmt: skip
    parser.add_argument(
        "--phrases", nargs="?", type=int, const=1, default=defaults.phrases, metavar="PASSES",
        help="join collocations into tokens (new_york), in tokenizer.json too, as gensim's Phrases: PASSES 1 (the "
        "default when given) for two-word phrases, 2 for up to four words",
    )  # fmt: skip
    parser.add_argument(
        "--phrase-min-count", type=int, default=defaults.phrase_min_count,
        help="pairs seen fewer times are no phrase (gensim's Phrases min_count)",
    )  # fmt: skip
    parser.add_argument(
        "--phrase-threshold", type=float, default=defaults.phrase_threshold,
        help="word2phrase score a pair needs to be a phrase (gensim's Phrases threshold; higher: fewer phrases)",
    )  # fmt: skip
    parser.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=True, help="lowercase the text")
    parser.add_argument("--nfkc", action=argparse.BooleanOptionalAction, default=True, help="NFKC-normalise text")
    parser.add_argument("--log-file", help="append a JSON line per block of training (words, loss, lr, words/s)")
    parser.add_argument(
        "--checkpoint-every", type=int, default=0, metavar="WORDS",
        help="save a resumable checkpoint every WORDS corpus words (Ctrl-C always saves one)",
    )  # fmt: skip
    parser.add_argument("--checkpoint-dir", help="where checkpoints go (default: <output>-checkpoint)")
    parser.add_argument("--resume", metavar="DIR", help="continue an interrupted run from its checkpoint folder")
    parser.add_argument(
        "--sync", default="sum", choices=SYNC_CHOICES,
        help="under torchrun: add up every rank's changes to the tables (sum) or average them (average)",
    )  # fmt: skip
    parser.add_argument(
        "--sync-every", type=int, default=SYNC_EVERY, metavar="WORDS",
        help="under torchrun: words each rank trains between two synchronisations of the tables",
    )  # fmt: skip
    parser.add_argument("--init-from", metavar="MODEL_DIR", help="continue training an existing model folder")
    parser.add_argument(
        "--grow-vocabulary", action="store_true",
        help="with --init-from: add the corpus's new words that reach --min-count (old words keep their ids and "
        "vectors; gensim's build_vocab(update=True))",
    )  # fmt: skip
    parser.add_argument(
        "--language", help="language code for the model card (default: en for the PTB; zh, ja or th for a corpus "
        "mostly in Chinese, Japanese or Thai script)",
    )  # fmt: skip
    parser.add_argument(
        "--probe", nargs="+",
        help="words whose neighbours to print (default: a few for the PTB, frequent words of the vocabulary for "
        "your own corpus)",
    )  # fmt: skip
    parser.add_argument(
        "--dtype",
        choices=TABLE_DTYPES,
        default="float32",
        help="dtype the saved folder stores the vectors in (training runs in float32; checkpoints stay float32). "
        "int8 is for sharing a finished model: word2vec convert MODEL --to folder --dtype int8",
    )
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")


def probe_words(model, count: int = 6, skip: int = 50, among: int = 500) -> list[str]:
    """`count` words spread over the `among` most frequent words of the vocabulary after the `skip` most frequent
    (mostly function words: "the", "的"; a fifth of a smaller vocabulary), words of letters only and two characters
    or more."""
    rows = model.word_ids()
    skip = min(skip, len(rows) // 5)
    words = [model.index_to_key[row] for row in rows[skip : skip + among]]
    words = [word for word in words if word.isalpha() and len(word) >= 2] or words
    step = max(1, len(words) // count)
    return words[::step][:count]


def output_stem(source: str) -> str:
    """A folder-name-safe stem of the first corpus source ("-" is standard input, patterns lose their magic)."""
    if source == "-":
        return "stdin"
    stem = re.sub(r"[^\w-]+", "", Path(source.rstrip("/")).name.split(".")[0])
    return stem or "corpus"


def interrupted_saving(output: Path, before: os.stat_result | None) -> str:
    """What a Ctrl-C while the trained model was being saved to `output` left there (`before`: the stat of the
    folder that was there, if any), once a write it cut short is finished or rolled back."""
    from word2vec_hub.folders.atomic import recover_folder

    # Another process writing the folder, or a second Ctrl-C, leaves it to be reported as it stands.
    with contextlib.suppress(OSError, KeyboardInterrupt):
        recover_folder(output)
    after = output.stat() if output.exists() else None
    done = "interrupted while saving, after training was complete"
    if after is not None and (before is None or not os.path.samestat(before, after)):
        return f"{done}: the model was saved to {output} all the same"
    kept = f"{output} still holds the model it held before" if after is not None else f"{output} was not created"
    return f"{done}: the model was not saved and {kept}; run the command again to train it anew"


def default_output(options: argparse.Namespace) -> str:
    """word2vec-<stem of the dataset or first corpus file>, or word2vec-ptb."""
    source = options.dataset or (options.corpus[0] if options.corpus else None)
    return f"word2vec-{output_stem(source)}" if source else "word2vec-ptb"


def training_arguments(options: argparse.Namespace) -> TrainingArguments:
    """The options as `TrainingArguments`; what they leave unset (--[no-]split-punctuation) the corpus decides."""
    return TrainingArguments(**{field.name: getattr(options, field.name) for field in fields(TrainingArguments)})


def check_arguments(options: argparse.Namespace) -> None:
    from word2vec_hub.folders.checks import check_output_dir
    from word2vec_hub.training.corpus import source_files

    if options.sync_every < 1:
        raise ValueError(f"--sync-every must be at least 1 word, got {options.sync_every}")
    if options.dtype == "int8":
        raise UsageError(
            "--dtype int8 is for sharing a finished model, not for a model being trained (int8 keeps no skip-gram "
            "head to continue from); train with float32, float16 or bfloat16, then shrink a copy with "
            "`word2vec convert MODEL --to folder --output SMALL --dtype int8`"
        )
    if options.negative == 0 and not options.hs:
        raise UsageError(
            "--negative 0 leaves no output layer to train: add --hs (hierarchical softmax), or give --negative 1 or "
            "more"
        )
    training_arguments(options)
    if options.dataset and looks_like_path(options.dataset) and not Path(options.dataset).expanduser().exists():
        raise UsageError(f"--dataset {options.dataset}: no such file or folder")
    for source in options.corpus or []:
        if source != "-":
            source_files(source)
    if options.init_from:
        if options.phrases:
            raise UsageError(
                "--phrases learns phrases with a new vocabulary: --init-from keeps the folder's tokenizer and joins "
                "the phrases it holds; leave out --phrases"
            )
        check_model(options.init_from, "--init-from")
        check_subwords_match(options)
    if options.grow_vocabulary:
        check_growable(options)
    if options.resume:
        check_folder(options.resume, "--resume")
    if options.log_file:
        check_parent(options.log_file, "--log-file")
    # Checked before training, not when the first checkpoint or the model is due: a refusal then would cost the
    # training done so far. Saving checks the output once more (the folder may have changed meanwhile).
    options.output_dir = check_output_dir(options.output or default_output(options))
    options.checkpoint_path = check_output_dir(options.checkpoint_dir or f"{options.output_dir}-checkpoint")


def check_subwords_match(options: argparse.Namespace) -> None:
    """--subwords continues a model with subwords and only such a model; a local folder's config says whether it
    has them, before torch is imported (the trainer checks the n-gram settings and other folders)."""
    config = Path(options.init_from).expanduser() / "config.json"
    if not config.is_file():
        return
    try:
        bucket = json.loads(config.read_text()).get("bucket", 0)
    except (OSError, ValueError):
        return  # loading the model reports what is wrong with it
    if options.subwords and not bucket:
        raise UsageError(
            f"--init-from {options.init_from}: the model has no subword vectors (no n-gram table), but --subwords "
            "asks for them; continue it without --subwords, or train a new model with --subwords"
        )
    if bucket and not options.subwords:
        raise UsageError(
            f"--init-from {options.init_from}: the model has subword vectors (n-grams hashed into {bucket:,} buckets); "
            "continue it with --subwords (its n-gram settings are kept), or train a new model"
        )


def check_growable(options: argparse.Namespace) -> None:
    """--grow-vocabulary needs a model to grow, trained here or elsewhere (converted vectors have no context
    vectors to continue with); a local folder's config says which, before torch is imported."""
    if not options.init_from:
        raise UsageError("--grow-vocabulary adds words to a model; give the model folder with --init-from MODEL_DIR")
    if options.resume:
        raise UsageError(
            "--grow-vocabulary with --resume: a checkpoint already holds the vocabulary its run grew; leave out "
            "--grow-vocabulary (and --init-from)"
        )
    config = Path(options.init_from).expanduser() / "config.json"
    if config.is_file():
        try:
            has_context_vectors = json.loads(config.read_text()).get("has_context_vectors", True)
        except (OSError, ValueError):
            return  # loading the model reports what is wrong with it
        if has_context_vectors is False:
            raise UsageError(f"--init-from {cannot_grow_converted(options.init_from)}")


def stop_on_sigterm(signum: int, frame: object) -> None:
    """A rank's SIGTERM handler: torchrun stops the other ranks this way when one fails. The SIGTERMs after the first
    are ignored, so that one cannot cut short the resume hint the first leads to."""
    from word2vec_hub.training.distributed import RankFailure

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise RankFailure("stopped by SIGTERM: torchrun stops the other ranks when one fails")


def run(options: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from word2vec_hub.folders.checks import OutputError
    from word2vec_hub.folders.model_folder import save_model_folder
    from word2vec_hub.training.corpus import CorpusError, TextCorpus
    from word2vec_hub.training.distributed import Distributed, RankFailure
    from word2vec_hub.training.epochs import TrainingDiverged, TrainingInterrupted
    from word2vec_hub.training.trainer import NotEnoughMemory, train_word2vec

    distributed = Distributed.from_environment(options.sync, options.sync_every)
    if distributed is not None:
        signal.signal(signal.SIGTERM, stop_on_sigterm)
    is_main = distributed is None or distributed.is_main
    output, checkpoint_dir = options.output_dir, options.checkpoint_path
    saving = False
    try:
        if options.dataset:
            corpus = TextCorpus.from_dataset(
                options.dataset, options.dataset_config, options.split, options.text_column
            )
        elif options.corpus:
            corpus = TextCorpus.from_files(options.corpus)
        else:
            corpus = TextCorpus.penn_treebank()
        args = training_arguments(options)
        if is_main:
            print(f"corpus: {corpus.name}" + (f" ({distributed.world_size} ranks)" if distributed else ""))
        result = train_word2vec(
            corpus,
            args,
            init_from=options.init_from,
            resume=options.resume,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=options.checkpoint_every,
            log_file=options.log_file,
            distributed=distributed,
            grow_vocabulary=options.grow_vocabulary,
        )
        if not is_main:
            return 0
        before = output.stat() if output.exists() else None
        saving = True
        # Seconds: the weights, the tokenizer, and the model card's word map (matplotlib).
        with tqdm(desc=f"saving {output}", bar_format="{desc} [{elapsed}]", disable=not options.progress):
            save_model_folder(
                result.model,
                result.tokenizer,
                output,
                language=options.language or result.language,
                table_dtype=options.dtype,
            )
    except TrainingInterrupted as interruption:
        print(
            f"interrupted: checkpoint saved to {interruption.checkpoint}; continue with the same command and "
            f"--resume {interruption.checkpoint}",
            file=sys.stderr,
        )
        return 130
    except RankFailure as failure:
        # torchrun may send SIGTERM while this runs (a failure found by this rank): the hint must reach the user.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        checkpoint = checkpoint_dir if checkpoint_dir.is_dir() else None
        advice = (
            f"restart the same torchrun command with --resume {checkpoint}"
            if checkpoint
            else "no checkpoint was saved; pass --checkpoint-every WORDS to be able to resume"
        )
        print(f"error: {failure}; {advice}", file=sys.stderr)
        return 1
    except (CorpusError, OutputError, TrainingDiverged, NotEnoughMemory, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        message = (
            interrupted_saving(output, before) if saving else "interrupted before training started: nothing was written"
        )
        print(message, file=sys.stderr)
        return 130
    finally:
        if distributed is not None:
            distributed.stop()

    model = result.model
    print(
        f"trained {len(model.word_ids()):,} words ([PAD] and [UNK] not counted) x {model.config.hidden_size} dims on "
        f"{model.config.corpus_word_count:,} corpus words in {result.seconds:.1f} s "
        f"({result.words_per_second:,.0f} words/s, device {model.device}); final loss {result.final_loss:.4f}"
    )
    print(f"saved to {output}")
    own_corpus = bool(options.corpus or options.dataset)
    for word in options.probe or (probe_words(model) if own_corpus else DEFAULT_PROBES):
        if word not in model:
            print(f"  {word}: not in the vocabulary")
            continue
        neighbours = ", ".join(f"{other} {score:.3f}" for other, score in model.most_similar(word, topn=5))
        print(f"  {word}: {neighbours}")
    return 0
