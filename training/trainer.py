"""Training a `Word2VecModel` and its tokenizer from text."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerFast

from word2vec_hub.folders.atomic import recover_folder
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import TABLE_FILE_KEY, file_key
from word2vec_hub.resources import available_memory_bytes, readable_size
from word2vec_hub.tokenization.word_level import PAD_TOKEN, UNK_TOKEN, wrap_tokenizer

from .arguments import TrainingArguments, cannot_grow_converted
from .callbacks import TrainerCallback
from .corpus import CorpusError, TextCorpus
from .devices import choose_backend, resolve_device
from .distributed import Distributed
from .encoding import EncodedCorpus
from .epochs import EpochLoop
from .subword_rows import SubwordRows, rows_in_table
from .vocabulary import encode_corpus

TRAINER_STATE_FILE = "trainer_state.json"
PHRASE_SETTINGS = ("phrases", "phrase_min_count", "phrase_threshold")
# Per word beside the tables: its count, keep probability, noise probability and alias-table entry, with room for
# the float64 intermediates that compute them.
BYTES_PER_WORD = 64
# Per word with subwords: its n-gram rows (int32, about 25 of 3- to 6-grams for an English word) and their offset.
SUBWORD_BYTES_PER_WORD = 128


class NotEnoughMemory(MemoryError):
    """The tables to train would not fit in the memory of the device; the message gives the sizes."""


@dataclass
class TrainingResult:
    model: Word2VecModel
    tokenizer: PreTrainedTokenizerFast
    seconds: float
    words_trained: int
    final_loss: float
    history: list[dict] = field(default_factory=list)
    # Wall seconds of each phase: "reading", "vocabulary and encoding", "training".
    phases: dict[str, float] = field(default_factory=dict)
    # How text written without spaces was segmented: "word", "character" or "none" (None: the loaded tokenizer's).
    segmentation: str | None = None
    # The corpus's language, as its source declares it (en for the PTB) or else its script tells it (zh, ja, th),
    # for the model card.
    language: str | None = None
    # A callback ended training before its last epoch (`TrainerState.should_training_stop`).
    stopped_early: bool = False

    @property
    def words_per_second(self) -> float:
        return self.words_trained / self.seconds if self.seconds > 0 else float("nan")


def train_word2vec(
    corpus: TextCorpus,
    args: TrainingArguments,
    init_from: str | Path | None = None,
    resume: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    log_file: str | Path | None = None,
    distributed: Distributed | None = None,
    callbacks: list[TrainerCallback] | None = None,
    grow_vocabulary: bool = False,
) -> TrainingResult:
    """Build the vocabulary, encode the corpus once, and train word2vec on it: skip-gram or CBOW (`args.cbow`), with
    negative sampling (`args.negative` > 0), hierarchical softmax (`args.hs`) or both.

    Args:
        init_from: a model folder to continue training: its vocabulary, vectors and counts are kept. It must have
            been trained with the architecture and output layers of `args` (or converted, then negative sampling only).
        grow_vocabulary: with `init_from`, add the corpus's words that the vocabulary lacks and that reach
            `min_count`, as gensim's `build_vocab(update=True)` does: every old word keeps its id and vectors, the new
            words get new rows (input vectors initialised as in a new model, context vectors zero), and the corpus's
            counts are added to the model's (so the noise distribution and subsampling cover both texts). A folder
            without context vectors (converted vectors) cannot grow.
        resume: a checkpoint folder written by an interrupted or checkpointing run; training continues where it
            stopped, with the checkpoint's hyperparameters, on the same corpus; `args` must name its architecture and
            output layers. On the CPU with one worker (or the torch engine) the result equals an uninterrupted run.
        checkpoint_dir, checkpoint_every: save a resumable checkpoint every `checkpoint_every` words (0: only when
            interrupted with Ctrl-C).
        log_file: append one JSON line per block of training (words, loss, learning rate, words/s).
        distributed: this process's place in a torchrun job (see `training.distributed`): it reads its shard of
            `corpus` and trains with the other ranks; only rank 0 writes checkpoints and the log, and every rank
            returns the same model.
        callbacks: `training.callbacks.TrainerCallback`s, called at the start and end of training, of each epoch
            and after each block; one can stop training cleanly (a checkpoint is saved to `checkpoint_dir` if
            given, and the model trained so far is returned).
    """
    started = time.perf_counter()
    state = None
    if resume is not None:
        recover_folder(resume)  # a checkpoint whose save a crash interrupted is finished or rolled back first
        state = json.loads((Path(resume) / TRAINER_STATE_FILE).read_text()) if _is_checkpoint(resume) else None
        if state is None:
            raise CorpusError(f"{resume} is not a checkpoint folder (no {TRAINER_STATE_FILE}); check --resume")
        checkpoint_args = TrainingArguments(**state["args"])
        checkpoint_kind, asked = ModelKind.of(checkpoint_args), ModelKind.of(args)
        if checkpoint_kind != asked:
            raise CorpusError(
                f"--resume {resume}: the checkpoint trains {checkpoint_kind}, but this run asks for {asked}; resume "
                f"with {checkpoint_kind.flags()} (the checkpoint's), or start a new run without --resume"
            )
        args = replace(checkpoint_args, progress=args.progress)
        init_from = resume
    # Decided before anything records the arguments, so that a checkpoint names what was trained.
    args = corpus.decide_defaults(args)
    device = resolve_device(args.device)
    backend_name = choose_backend(args.backend, device)  # an engine that cannot run is refused before the reading
    if distributed is not None:
        device = distributed.device(device)
        distributed.start(device)
        corpus = corpus.shard(distributed.rank, distributed.world_size)
        if not distributed.is_main:
            args, log_file = replace(args, progress=False), None
        if distributed.world_size == 1:
            # One process has nobody to synchronise with: the single-process path, unchanged.
            distributed = None
    if grow_vocabulary and init_from is None:
        raise CorpusError("grow_vocabulary adds words to a model: give the model folder with init_from (--init-from)")
    # A checkpoint of a run that grew the vocabulary holds the grown one already.
    grow_vocabulary = grow_vocabulary and state is None
    if init_from is not None and resume is None and args.phrases > 0:
        raise CorpusError(
            "phrases are learnt with a new vocabulary: continued training keeps the folder's tokenizer and joins the "
            "phrases it holds; leave out --phrases"
        )
    if init_from is not None:
        model = _load_for_training(init_from, args, continuing=state is not None, growing=grow_vocabulary)
        tokenizer = model.tokenizer
        backend = tokenizer.backend_tokenizer
    with tempfile.TemporaryDirectory(prefix="word2vec-corpus-") as workdir:
        text = encode_corpus(
            corpus,
            args,
            workdir,
            tokenizer=None if init_from is None else backend,
            distributed=distributed,
            device=device,
            grow_vocabulary=grow_vocabulary,
        )
        backend, encoded, corpus_tokens = text.tokenizer, text.encoded, text.corpus_tokens
        segmentation, language = text.segmentation, text.language
        phases = {"reading": text.seconds_reading, "vocabulary and encoding": text.seconds_encoding}
        if text.phrases is not None:
            phases["phrases (part of vocabulary and encoding)"] = text.phrases.seconds
        if encoded.word_count == 0:
            raise CorpusError(f"the corpus ({corpus.name}) is empty: it holds no words")
        if corpus_tokens == 0:
            raise CorpusError(
                f"no word of the corpus ({corpus.name}, {encoded.word_count} words) occurs at least "
                f"min_count={args.min_count} times, so the vocabulary is empty; lower --min-count"
            )
        if state is not None and state["corpus_tokens"] != corpus_tokens:
            raise CorpusError(
                f"the corpus has {corpus_tokens:,} in-vocabulary words but the checkpoint was trained on "
                f"{state['corpus_tokens']:,}; resume with the same --corpus"
            )
        if init_from is None:
            args = args.with_ngram_lengths(segmented=segmentation in ("word", "character"))
            hashed = _hashed_subwords(backend, args, (backend.token_to_id(PAD_TOKEN), backend.token_to_id(UNK_TOKEN)))
            ngram_buckets = None if hashed is None else hashed.buckets()
            ngram_rows = None if ngram_buckets is None else len(ngram_buckets)
            check_memory(backend.get_vocab_size(), args.dim, backend_name, device, args.negative, args.hs, ngram_rows)
            tokenizer = wrap_tokenizer(backend)
            model = _new_model(tokenizer, encoded, args, ngram_buckets)
            subword_rows = None if hashed is None else hashed.in_table(ngram_buckets)
            if subword_rows is not None:
                # The model holds composed vectors, as every folder does: its own rows start as fastText's.
                subword_rows.compose(model.embeddings.data.clone(), model.ngrams.data, model.embeddings.data)
        else:
            config = model.config
            args = replace(args, min_n=config.min_n, max_n=config.max_n, bucket=config.bucket or args.bucket)
            hashed = _hashed_subwords(backend, args, (config.pad_token_id, config.unk_token_id))
            ngram_buckets = _table_buckets(model, hashed)
            if grow_vocabulary:
                ngram_rows = None if hashed is None else config.bucket if ngram_buckets is None else len(ngram_buckets)
                check_memory(
                    backend.get_vocab_size(), args.dim, backend_name, device, args.negative, args.hs, ngram_rows
                )
                tokenizer = wrap_tokenizer(backend)
                old_words = config.vocab_size
                grow_word_tables(model, len(tokenizer), args.seed)
                model.counts += torch.from_numpy(encoded.counts)
                subword_rows = _fit_ngram_table(model, hashed, ngram_buckets, args.seed)
                if subword_rows is not None:
                    # A new word's own row starts as a new model's, so its vector starts as the mean of that row and
                    # its (trained) n-gram rows.
                    own = subword_rows.own_rows(model.embeddings.data, model.ngrams.data)
                    own[old_words:] = model.embeddings.data[old_words:]
                    subword_rows.compose(own, model.ngrams.data, model.embeddings.data)
            else:
                if int(model.counts.sum()) == 0:
                    model.counts.copy_(torch.from_numpy(encoded.counts))
                subword_rows = _fit_ngram_table(model, hashed, ngram_buckets, args.seed)
        model.set_tokenizer(tokenizer)  # before training: callbacks may query the model
        if state is None:
            # Recorded before training, so that a checkpoint of this stage already names it and --resume keeps it.
            _record_stage(model.config, corpus.name, encoded.word_count, args.epochs)

        def save_checkpoint(trainer_state: dict) -> Path | None:
            if checkpoint_dir is None:
                return None
            if distributed is not None and not distributed.is_main:
                return Path(checkpoint_dir)
            trainer_state = {**trainer_state, "args": asdict(args), "corpus_tokens": corpus_tokens}
            extra = {TRAINER_STATE_FILE: json.dumps(trainer_state)}
            return save_model_folder(model, tokenizer, checkpoint_dir, extra_files=extra, card=False)

        trainer = EpochLoop(
            model,
            encoded,
            args,
            device,
            backend_name,
            resume_state=state,
            distributed=distributed,
            corpus_tokens=corpus_tokens,
            subword_rows=subword_rows,
        )
        training_started = time.perf_counter()
        history = trainer.train(
            checkpoint=save_checkpoint,
            checkpoint_every=checkpoint_every,
            log_file=Path(log_file) if log_file else None,
            callbacks=callbacks,
        )
        phases["training"] = time.perf_counter() - training_started
        if distributed is not None:
            phases["synchronising (part of training)"] = distributed.seconds_synchronising
        del encoded
    final_loss = history[-1]["loss"] if history else float("nan")
    return TrainingResult(
        model=model,
        tokenizer=tokenizer,
        seconds=time.perf_counter() - started,
        words_trained=trainer.words_trained - trainer.words_at_start,
        final_loss=final_loss,
        history=history,
        phases=phases,
        segmentation=segmentation,
        language=corpus.language or language,
        stopped_early=trainer.stopped_early,
    )


@dataclass(frozen=True)
class ModelKind:
    """What a model's tables and their training are: the architecture, the output layers, and whether its input
    has subwords (fastText's n-gram table)."""

    cbow: bool
    hs: bool
    negative_sampling: bool
    subwords: bool = False

    @classmethod
    def of(cls, args: TrainingArguments) -> ModelKind:
        return cls(args.cbow, args.hs, args.negative > 0, args.subwords)

    def __str__(self) -> str:
        layers = [
            name
            for name, used in (("hierarchical softmax", self.hs), ("negative sampling", self.negative_sampling))
            if used
        ]
        return f"{'CBOW' if self.cbow else 'skip-gram'} with {' and '.join([*layers, *['subwords'] * self.subwords])}"

    def flags(self) -> str:
        """The command-line flags that choose this kind."""
        chosen = (
            ("--cbow", self.cbow),
            ("--hs", self.hs),
            ("--negative 0", not self.negative_sampling),
            ("--subwords", self.subwords),
        )
        flags = [flag for flag, used in chosen if used]
        return " ".join(flags) if flags else "none of --cbow, --hs, --subwords"


def training_memory_bytes(
    vocab_size: int, dim: int, backend: str, negative: int = 5, hs: bool = False, ngram_rows: int | None = None
) -> int:
    """Memory training takes that grows with the vocabulary: the float32 tables of about vocab_size x dim (the
    input vectors, the context vectors where `negative` > 0, the hierarchical-softmax nodes where `hs`), one more
    for the torch engine's per-batch step bounds (`torch_engine._step_bound`), and BYTES_PER_WORD of sampling tables
    a word (Huffman paths included). With subwords (`ngram_rows` not None, 0 where no word has an n-gram): the
    n-gram table of `ngram_rows` x dim (a new model's rows: the buckets its words' n-grams hash to), the words' own
    rows beside their composed vectors, and SUBWORD_BYTES_PER_WORD of n-gram rows a word."""
    subwords = ngram_rows is not None
    tables = 1 + (negative > 0) + hs + (backend == "torch") + subwords
    per_word = BYTES_PER_WORD + (SUBWORD_BYTES_PER_WORD if subwords else 0)
    return tables * vocab_size * dim * 4 + vocab_size * per_word + (ngram_rows or 0) * dim * 4


def check_memory(
    vocab_size: int,
    dim: int,
    backend: str,
    device: torch.device,
    negative: int = 5,
    hs: bool = False,
    ngram_rows: int | None = None,
) -> None:
    """Refuse, before allocating anything, tables that do not fit in the memory the device has free (the
    system's available memory for the CPU; unchecked where the device does not tell)."""
    if device.type == "cuda":
        available = torch.cuda.mem_get_info(device)[0]
    elif device.type == "cpu":
        available = available_memory_bytes()
    else:
        available = None
    needed = training_memory_bytes(vocab_size, dim, backend, negative, hs, ngram_rows)
    if available is not None and needed > available:
        ngrams = (
            f", and an n-gram table of {ngram_rows:,} rows, {readable_size(ngram_rows * dim * 4)}" if ngram_rows else ""
        )
        raise NotEnoughMemory(
            f"{vocab_size:,} words x {dim:,} dimensions need about {readable_size(needed)} of memory to train "
            f"(float32 input and output tables of {readable_size(vocab_size * dim * 4)} each{ngrams}) but {device} "
            f"has {readable_size(available)} available; lower --dim, or keep fewer words with --max-vocab or a higher "
            f"--min-count{', or fewer n-gram rows with a lower --bucket' if ngram_rows else ''}"
        )


def _is_checkpoint(folder: str | Path) -> bool:
    return (Path(folder) / TRAINER_STATE_FILE).is_file()


# What to do to train on from a folder that lacks a tensor (the model loads, initialised, for lookups), by the
# tensor's name in model.safetensors.
MISSING_TENSOR_ADVICE = {
    TABLE_FILE_KEY: "the folder holds no word vectors: train a new model",
    "counts": "they drive subsampling and negative sampling: train a new model from the corpus",
    "context": 'set "has_context_vectors": false in its config.json to start the context vectors at zero, as for '
    "converted vectors",
    "nodes": "the hierarchical-softmax nodes cannot be rebuilt: train a new model",
    "ngram_buckets": "without them no row of the n-gram table can be matched to its n-grams: train a new model",
}


def _record_stage(config: Word2VecConfig, corpus_name: str, word_count: int, epochs: int) -> None:
    """Make `corpus` and `corpus_word_count` this stage's, and add it to `training_history`."""
    config.corpus, config.corpus_word_count = corpus_name, word_count
    stage = {"corpus": corpus_name, "corpus_word_count": word_count, "epochs": epochs}
    config.training_history = [*(config.training_history or []), stage]


def grow_word_tables(model: Word2VecModel, vocab_size: int, seed: int) -> None:
    """Give `model` `vocab_size` rows (no fewer than it has), keeping every old row: new input vectors drawn as a new
    model draws them (uniform in +-0.5/dim, from `seed`), zero context vectors and counts. The one place the
    vocabulary grows: `resize_token_embeddings` grows the input table and `Word2VecModel._resize_rows` every other
    per-word table and the config."""
    if vocab_size < model.config.vocab_size:
        raise ValueError(
            f"the vocabulary can only grow: {vocab_size} rows asked, the model has {model.config.vocab_size}"
        )
    model.tokenizer = None  # it no longer matches the rows: the caller attaches the grown one
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.resize_token_embeddings(vocab_size, mean_resizing=False)
    model.forget_row_norms()


def _load_for_training(
    folder: str | Path, args: TrainingArguments, continuing: bool = False, growing: bool = False
) -> Word2VecModel:
    """A saved model to train further: float32, with zero context vectors if it had none (converted vectors),
    which cannot be `growing` a vocabulary.

    Unless `continuing` a checkpoint's stage, the folder's training so far becomes the first entry of
    `training_history` where the folder predates that record (0.2.0 and earlier, converted vectors)."""
    try:
        model, loading_info = Word2VecModel.from_pretrained(folder, dtype=torch.float32, output_loading_info=True)
    except OSError as error:
        raise CorpusError(f"cannot continue from {folder}: {error}") from error
    missing = sorted(file_key(key) for key in loading_info["missing_keys"])
    if missing:
        advice = "; ".join(MISSING_TENSOR_ADVICE[name] for name in missing if name in MISSING_TENSOR_ADVICE)
        raise CorpusError(
            f"cannot continue from {folder}: its model.safetensors lacks {', '.join(missing)}, which training needs "
            f"({advice})"
        )
    if model.tokenizer is None:
        raise CorpusError(f"{folder} has no tokenizer.json, so its vocabulary is unknown")
    if growing and model.context is None and model.nodes is None:
        raise CorpusError(cannot_grow_converted(folder))
    config = model.config
    option = "--resume" if continuing else "--init-from"
    _check_subwords(folder, option, config, args)
    if model.context is None and model.nodes is None:
        # Converted vectors (or a table whose output layers were dropped): the input vectors alone, whose output
        # layer starts at zero as word2vec starts it.
        if args.hs:
            raise CorpusError(
                f"{option} {folder}: the folder holds converted vectors without output vectors, and hierarchical "
                "softmax (--hs) cannot start from them; continue with negative sampling (without --hs), or train a "
                "new model with --hs"
            )
        config.architecture = "cbow" if args.cbow else "skip-gram"
        config.has_context_vectors = True
        model.context = torch.nn.Parameter(torch.zeros_like(model.embeddings))
    else:
        trained = ModelKind(
            config.architecture == "cbow", model.nodes is not None, model.context is not None, config.bucket > 0
        )
        if trained != ModelKind.of(args):
            raise CorpusError(
                f"{option} {folder}: the model was trained as {trained}, but this run asks for {ModelKind.of(args)}; "
                f"continue it with {trained.flags()} (its own), or train a new model"
            )
    model.embeddings.requires_grad_(True)
    if not continuing and config.training_history is None and config.corpus is not None:
        config.training_history = [
            {"corpus": config.corpus, "corpus_word_count": config.corpus_word_count, "epochs": config.epochs}
        ]
    for name in Word2VecConfig.training_hyperparameters:
        # How the phrases were learnt stays the folder's: its tokenizer keeps them.
        if name not in PHRASE_SETTINGS:
            setattr(model.config, name, getattr(args, name))
    return model


def _check_subwords(folder: str | Path, option: str, config: Word2VecConfig, args: TrainingArguments) -> None:
    """Refuse to continue a model with subwords without them, or the reverse, or with other n-gram settings than
    the folder's (its table was hashed with them)."""
    if args.subwords and config.bucket == 0:
        raise CorpusError(
            f"{option} {folder}: the model has no subword vectors (no n-gram table), but this run asks for --subwords; "
            "continue it without --subwords, or train a new model with --subwords"
        )
    if config.bucket > 0 and not args.subwords:
        raise CorpusError(
            f"{option} {folder}: the model has subword vectors (n-grams hashed into {config.bucket:,} buckets), but "
            "this run trains without them; continue it with --subwords, or train a new model"
        )
    theirs = (config.min_n, config.max_n, config.bucket)
    asked = (args.min_n or config.min_n, args.max_n or config.max_n, args.bucket or config.bucket)
    if args.subwords and theirs != asked:
        raise CorpusError(
            f"{option} {folder}: the model's n-grams are --min-n {theirs[0]} --max-n {theirs[1]} --bucket {theirs[2]}, "
            f"this run asks for --min-n {asked[0]} --max-n {asked[1]} --bucket {asked[2]}; continue with the "
            "model's (its n-gram table was hashed with them)"
        )


def _hashed_subwords(backend, args: TrainingArguments, special_ids: tuple[int | None, ...]) -> SubwordRows | None:
    """Each vocabulary word's n-gram buckets (None without subwords); the special words (`special_ids`: the pad and
    unknown words) have none."""
    if not args.subwords:
        return None
    words = [""] * backend.get_vocab_size()
    for word, word_id in backend.get_vocab().items():
        words[word_id] = word
    return SubwordRows.from_words(words, args.min_n, args.max_n, args.bucket, without=special_ids)


def _table_buckets(model: Word2VecModel, hashed: SubwordRows | None) -> np.ndarray | None:
    """The buckets a loaded model's compact n-gram table must hold to train the words `hashed`: its own and theirs,
    ascending. None for a full table (converted from fastText's `.bin`, or saved before compact tables), which
    holds every bucket and stays full, or without subwords."""
    if hashed is None or model.ngram_buckets is None:
        return None
    return np.union1d(model.ngram_buckets.cpu().numpy(), hashed.buckets())


def _fit_ngram_table(
    model: Word2VecModel, hashed: SubwordRows | None, table_buckets: np.ndarray | None, seed: int
) -> SubwordRows | None:
    """Grow a loaded model's compact n-gram table to `table_buckets` (`_table_buckets`) and return the words' rows of
    the model's table (None without subwords)."""
    if hashed is None or table_buckets is None:
        return hashed
    if len(table_buckets) > model.ngrams.shape[0]:
        grow_ngram_table(model, table_buckets, seed)
    return hashed.in_table(table_buckets)


def grow_ngram_table(model: Word2VecModel, table_buckets: np.ndarray, seed: int) -> None:
    """Give the compact n-gram table of `model` a row for each of `table_buckets` (ascending, a superset of its
    `ngram_buckets`), keeping every old row: new rows drawn as a new model draws them (uniform in +-1/dim, from
    `seed`)."""
    old_buckets = model.ngram_buckets.cpu().numpy()
    kept_at, held = rows_in_table(table_buckets, old_buckets)
    if not held.all():
        raise ValueError("the n-gram table can only grow: table_buckets must hold every bucket the table holds")
    dim = model.config.hidden_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        table = torch.empty(len(table_buckets), dim, dtype=model.ngrams.dtype).uniform_(-1.0 / dim, 1.0 / dim)
    table[torch.from_numpy(kept_at)] = model.ngrams.data
    model.ngrams = torch.nn.Parameter(table, requires_grad=model.ngrams.requires_grad)
    model.ngram_buckets = torch.from_numpy(table_buckets.astype(np.int64))
    model.config.ngram_rows = len(table_buckets)


def _new_model(
    tokenizer: PreTrainedTokenizerFast,
    encoded: EncodedCorpus,
    args: TrainingArguments,
    ngram_buckets: np.ndarray | None = None,
) -> Word2VecModel:
    """A new model for the vocabulary of `tokenizer`, drawn from `args.seed`; with subwords, its compact n-gram table
    holds the buckets `ngram_buckets` (ascending)."""
    config = Word2VecConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.dim,
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD_TOKEN),
        unk_token_id=tokenizer.convert_tokens_to_ids(UNK_TOKEN),
        architecture="cbow" if args.cbow else "skip-gram",
        has_context_vectors=args.negative > 0,
        huffman_ties="hashed",
        **(
            {"bucket": args.bucket, "ngram_rows": len(ngram_buckets), "min_n": args.min_n, "max_n": args.max_n}
            if args.subwords
            else {}
        ),
        **{name: getattr(args, name) for name in Word2VecConfig.training_hyperparameters},
    )
    # The tables' first values come from the seed, without reseeding the caller's generator.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        model = Word2VecModel(config)
    model.counts.copy_(torch.from_numpy(encoded.counts))
    if args.subwords:
        model.ngram_buckets.copy_(torch.from_numpy(ngram_buckets))
    return model
