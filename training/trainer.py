"""Training a `Word2VecModel` and its tokenizer from text."""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import math
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numba
import numpy as np
import torch
import torch.distributed as dist
from tokenizers import models
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerFast

from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.tokenization.segmentation import ScriptShares, resolve_segmentation, train_segmenting_tokenizer
from word2vec_hub.tokenization.word_level import (
    PAD_TOKEN,
    UNK_TOKEN,
    TokenIds,
    count_tokens,
    empty_word_level_tokenizer,
    tokens_of_words,
    vocabulary_from_counts,
    wrap_tokenizer,
)

from . import fast_cpu
from .arguments import BACKENDS, TrainingArguments
from .atomic import recover_folder
from .corpus import CorpusError, TextCorpus
from .distributed import Distributed
from .encoding import EncodedCorpus, read_words
from .output import save_model_folder
from .sgns import NoiseSampler, keep_probabilities, noise_distribution, sgns_step, skipgram_pairs

BLOCK_TOKENS = 1 << 20
TRAINER_STATE_FILE = "trainer_state.json"


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
    # The corpus's language where its script tells it (zh, ja, th), for the model card.
    language: str | None = None

    @property
    def words_per_second(self) -> float:
        return self.words_trained / self.seconds if self.seconds > 0 else float("nan")


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA, then MPS, then the CPU; an explicit device that is not there is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available here; use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} was asked for but MPS is not available here; use --device cpu or auto")
    return device


class TrainingInterrupted(Exception):
    """Training stopped on Ctrl-C after saving a checkpoint; `checkpoint` is where (None if none was asked for)."""

    def __init__(self, checkpoint: Path | None):
        super().__init__(f"interrupted; checkpoint saved to {checkpoint}" if checkpoint else "interrupted")
        self.checkpoint = checkpoint


def train_word2vec(
    corpus: TextCorpus,
    args: TrainingArguments,
    init_from: str | Path | None = None,
    resume: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    log_file: str | Path | None = None,
    distributed: Distributed | None = None,
) -> TrainingResult:
    """Build the vocabulary, encode the corpus once, and train skip-gram with negative sampling on it.

    Args:
        init_from: a model folder to continue training: its vocabulary, vectors and counts are kept.
        resume: a checkpoint folder written by an interrupted or checkpointing run; training continues where it
            stopped, with the checkpoint's hyperparameters, on the same corpus. On the CPU with one worker (or the
            torch engine) the result equals an uninterrupted run.
        checkpoint_dir, checkpoint_every: save a resumable checkpoint every `checkpoint_every` words (0: only when
            interrupted with Ctrl-C).
        log_file: append one JSON line per block of training (words, loss, learning rate, words/s).
        distributed: this process's place in a torchrun job (see `training.distributed`): it reads its shard of
            `corpus` and trains with the other ranks; only rank 0 writes checkpoints and the log, and every rank
            returns the same model.
    """
    started = time.perf_counter()
    state = None
    if resume is not None:
        recover_folder(resume)  # a checkpoint whose save a crash interrupted is finished or rolled back first
        state = json.loads((Path(resume) / TRAINER_STATE_FILE).read_text()) if _is_checkpoint(resume) else None
        if state is None:
            raise CorpusError(f"{resume} is not a checkpoint folder (no {TRAINER_STATE_FILE}); check --resume")
        args = replace(TrainingArguments(**state["args"]), progress=args.progress)
        init_from = resume
    device = resolve_device(args.device)
    choose_backend(args.backend, device)  # an engine that cannot run here is refused before the corpus is read
    if distributed is not None:
        device = distributed.device(device)
        distributed.start(device)
        corpus = corpus.shard(distributed.rank, distributed.world_size)
        if not distributed.is_main:
            args, log_file = replace(args, progress=False), None
        if distributed.world_size == 1:
            # One process has nobody to synchronise with: the single-process path, unchanged.
            distributed = None
    segmentation = language = None
    if init_from is not None:
        model = _load_for_training(init_from, args)
        tokenizer = model.tokenizer
        backend = tokenizer.backend_tokenizer
    with tempfile.TemporaryDirectory(prefix="word2vec-corpus-") as workdir:
        words = read_words(corpus, workdir)
        phases = {"reading": time.perf_counter() - started}
        if init_from is None:
            shares = ScriptShares.of(words.words, words.word_counts.tolist())
            language = shares.language
            segmentation = resolve_segmentation(args.segmentation, shares)
            if distributed is not None:
                segmentation = distributed.broadcast(segmentation if distributed.is_main else None)
                if segmentation == "word":
                    raise CorpusError(
                        "word segmentation of Chinese, Japanese or Thai text runs in one process only; train "
                        "without torchrun, or pass --segmentation character"
                    )
        if segmentation == "word":
            backend, word_ids = train_segmenting_tokenizer(
                words.words,
                words.word_counts.tolist(),
                min_count=args.min_count,
                max_vocab=args.max_vocab,
                lowercase=args.lowercase,
                nfkc=args.nfkc,
                split_punctuation=args.split_punctuation,
                discovery=args.word_discovery,
                shares=shares,
            )
        else:
            if init_from is None:
                backend = empty_word_level_tokenizer(
                    lowercase=args.lowercase,
                    nfkc=args.nfkc,
                    split_punctuation=args.split_punctuation,
                    split_unspaced_characters=segmentation == "character",
                )
            tokens_per_word = tokens_of_words(backend, words.words)
            if init_from is None:
                token_counts = count_tokens(tokens_per_word, words.word_counts.tolist())
                if distributed is not None:
                    token_counts = distributed.merge_counts(token_counts)
                vocabulary = vocabulary_from_counts(token_counts, args.min_count, args.max_vocab)
                if distributed is not None:
                    vocabulary = distributed.broadcast(vocabulary if distributed.is_main else None)
                backend.model = models.WordLevel(vocab=vocabulary, unk_token=UNK_TOKEN)
            word_ids = TokenIds.from_tokens(tokens_per_word, backend.get_vocab())
            del tokens_per_word
        encoded = words.encode(backend, word_ids)
        del words, word_ids  # the distinct words and line lengths are not needed to train
        corpus_tokens = encoded.num_tokens
        if distributed is not None:
            counts = distributed.all_reduce(torch.from_numpy(encoded.counts).to(device)).cpu().numpy()
            encoded = replace(encoded, counts=counts, word_count=int(counts.sum()))
            corpus_tokens = int(distributed.all_reduce(torch.tensor([corpus_tokens], device=device)).item())
        phases["vocabulary and encoding"] = time.perf_counter() - started - phases["reading"]
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
            tokenizer = wrap_tokenizer(backend)
            model = _new_model(tokenizer, encoded, corpus.name, args)
        elif int(model.counts.sum()) == 0:
            model.counts.copy_(torch.from_numpy(encoded.counts))

        def save_checkpoint(trainer_state: dict) -> Path | None:
            if checkpoint_dir is None:
                return None
            if distributed is not None and not distributed.is_main:
                return Path(checkpoint_dir)
            trainer_state = {**trainer_state, "args": asdict(args), "corpus_tokens": corpus_tokens}
            extra = {TRAINER_STATE_FILE: json.dumps(trainer_state)}
            return save_model_folder(model, tokenizer, checkpoint_dir, extra_files=extra, card=False)

        trainer = SkipGramTrainer(
            model, encoded, args, device, resume_state=state, distributed=distributed, corpus_tokens=corpus_tokens
        )
        training_started = time.perf_counter()
        history = trainer.train(
            checkpoint=save_checkpoint, checkpoint_every=checkpoint_every, log_file=Path(log_file) if log_file else None
        )
        phases["training"] = time.perf_counter() - training_started
        if distributed is not None:
            phases["synchronising (part of training)"] = distributed.seconds_synchronising
        del encoded
    model.set_tokenizer(tokenizer)
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
        language=language,
    )


def _is_checkpoint(folder: str | Path) -> bool:
    return (Path(folder) / TRAINER_STATE_FILE).is_file()


def _load_for_training(folder: str | Path, args: TrainingArguments) -> Word2VecModel:
    """A saved model to train further: float32, with zero context vectors if it had none (converted vectors)."""
    try:
        model = Word2VecModel.from_pretrained(folder, dtype=torch.float32)
    except OSError as error:
        raise CorpusError(f"cannot continue from {folder}: {error}") from error
    if model.tokenizer is None:
        raise CorpusError(f"{folder} has no tokenizer.json, so its vocabulary is unknown")
    if model.context is None:
        model.config.has_context_vectors = True
        model.context = torch.nn.Parameter(torch.zeros_like(model.embeddings))
    model.embeddings.requires_grad_(True)
    for name in Word2VecConfig.training_hyperparameters:
        setattr(model.config, name, getattr(args, name))
    return model


def _new_model(
    tokenizer: PreTrainedTokenizerFast, encoded: EncodedCorpus, corpus_name: str, args: TrainingArguments
) -> Word2VecModel:
    config = Word2VecConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.dim,
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD_TOKEN),
        unk_token_id=tokenizer.convert_tokens_to_ids(UNK_TOKEN),
        corpus=corpus_name,
        corpus_word_count=encoded.word_count,
        **{name: getattr(args, name) for name in Word2VecConfig.training_hyperparameters},
    )
    torch.manual_seed(args.seed)
    model = Word2VecModel(config)
    model.counts.copy_(torch.from_numpy(encoded.counts))
    return model


class SkipGramTrainer:
    """Runs the epochs: subsampling, dynamic windows, negative sampling, linear learning-rate decay.

    Three engines train the same model from the same encoded corpus: on the CPU word2vec's per-pair updates
    compiled with numba on `workers` threads; on CUDA the same updates of each block's shuffled pairs fused into
    one Triton kernel (`triton_sgns`); on any device shuffled batches of pairs as tensors (`sgns_step`).
    """

    def __init__(
        self,
        model: Word2VecModel,
        encoded: EncodedCorpus,
        args: TrainingArguments,
        device: torch.device,
        resume_state: dict | None = None,
        distributed: Distributed | None = None,
        corpus_tokens: int | None = None,
    ):
        self.model = model.to(device=device, dtype=torch.float32)
        self.encoded = encoded
        self.args = args
        self.device = device
        self.backend = choose_backend(args.backend, device)
        self.distributed = distributed
        self.rank = distributed.rank if distributed else 0
        self.world_size = distributed.world_size if distributed else 1
        # Ranks draw different random numbers; rank 0 draws what a single process draws.
        self.generator = torch.Generator(device=device).manual_seed(args.seed + 1_000_003 * self.rank)
        trainable_counts = model.counts.detach().cpu().clone()
        for special_id in (model.config.pad_token_id, model.config.unk_token_id):
            if special_id is not None:
                trainable_counts[special_id] = 0
        keep = keep_probabilities(trainable_counts, args.sample)
        noise = noise_distribution(trainable_counts, args.ns_exponent)
        if self.backend == "triton":
            from .triton_sgns import NoiseTable

            self.keep_probability = keep.float().to(device)
            self.noise_table = NoiseTable(*fast_cpu.noise_table(noise.numpy()), device)
        elif self.backend == "numba":
            processes_here = distributed.local_world_size if distributed else 1
            self.workers = args.workers or max(1, (os.cpu_count() or 1) // processes_here)
            numba.set_num_threads(min(self.workers, numba.config.NUMBA_NUM_THREADS))
            self.keep_threshold = keep.float().numpy()
            self.noise_table = fast_cpu.noise_table(noise.numpy())
        else:
            self.keep_probability = keep.float().to(device)
            self.noise = NoiseSampler(noise, device)
        # Every count of words below is over all ranks: each rank trains its share of every block.
        self.epoch_words = encoded.num_tokens if corpus_tokens is None else corpus_tokens
        self.total_words = args.epochs * self.epoch_words
        block_tokens = distributed.sync_every if distributed else BLOCK_TOKENS
        local_blocks = max(1, math.ceil(encoded.num_tokens / block_tokens))
        self.blocks_per_epoch = local_blocks
        if distributed is not None:
            local_blocks = torch.tensor([local_blocks], device=device)
            self.blocks_per_epoch = int(distributed.all_reduce(local_blocks, dist.ReduceOp.MAX).item())
        self.words_trained = 0
        # Where training stands: the next block to train, and the epoch's running sums.
        self.position = {"epoch": 0, "block": 0, "loss": 0.0, "loss_pairs": 0, "pairs": 0}
        self.history: list[dict] = []
        if resume_state is not None:
            self.words_trained = resume_state["words_trained"]
            self.position = resume_state["position"]
            self.history = resume_state["history"]
            generators = resume_state["generators"]
            if len(generators) != self.world_size:
                raise CorpusError(
                    f"the checkpoint was written by {len(generators)} process(es), this run has {self.world_size}; "
                    f"resume with torchrun --nproc-per-node (and --nnodes) giving {len(generators)} in all"
                )
            state = torch.tensor(list(base64.b64decode(generators[self.rank])), dtype=torch.uint8)
            self.generator.set_state(state)
        if distributed is not None:
            distributed.share_tables(self.tables)
        self.words_at_start = self.words_trained
        self.interrupted = False

    @property
    def writers(self) -> int:
        """Threads training side by side over all ranks."""
        return (self.workers if self.backend == "numba" else 1) * self.world_size

    @property
    def tables(self) -> list[torch.Tensor]:
        return [self.model.embeddings.data, self.model.context.data]

    def progress(self, words_done: float, writers: int = 1) -> tuple[float, float]:
        """Training progress (0 to 1, which sets the learning rate) when `words_done` words of all ranks are
        trained, and how much each further word of one of `writers` side-by-side threads adds to it."""
        if self.args.lr_schedule == "linear":
            return words_done / self.total_words, writers / self.total_words
        epoch = min(words_done // self.epoch_words, self.args.epochs - 1)
        within_epoch = (words_done - epoch * self.epoch_words) / writers / self.epoch_words
        return (epoch + within_epoch) / self.args.epochs, 1 / self.total_words

    def learning_rate(self, words_done: float, writers: int = 1) -> float:
        """The rate at `words_done`: alpha decaying linearly with progress to min_alpha (see arguments.LR_SCHEDULES)."""
        progress = min(self.progress(words_done, writers)[0], 1.0)
        return self.args.alpha - (self.args.alpha - self.args.min_alpha) * progress

    def _pairs(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = torch.from_numpy(block.astype(np.int64)).to(self.device)
        sentence_marks = torch.zeros(tokens.shape[0], dtype=torch.int32, device=self.device)
        sentence_marks[torch.from_numpy(sentence_starts).to(self.device)] = 1
        sentence_ids = torch.cumsum(sentence_marks, 0)
        draws = torch.rand(tokens.shape[0], generator=self.generator, device=self.device)
        kept = draws < self.keep_probability[tokens]
        centers, contexts = skipgram_pairs(tokens[kept], sentence_ids[kept], self.args.window, self.generator)
        order = torch.randperm(centers.shape[0], generator=self.generator, device=self.device)
        return centers[order], contexts[order]

    def _train_block_torch(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[float, int, int]:
        embeddings, context = self.model.embeddings.data, self.model.context.data
        centers, contexts = self._pairs(block, sentence_starts)
        num_batches = max(1, math.ceil(centers.shape[0] / self.args.batch_size))
        words_per_batch = block.shape[0] / num_batches
        loss = torch.zeros((), dtype=torch.float64, device=self.device)
        for index in range(num_batches):
            batch = slice(index * self.args.batch_size, (index + 1) * self.args.batch_size)
            words_done = self.words_trained + index * words_per_batch * self.world_size
            learning_rate = self.learning_rate(words_done, self.writers)
            negatives = self.noise.sample((centers[batch].shape[0], self.args.negative), self.generator)
            loss += sgns_step(embeddings, context, centers[batch], contexts[batch], negatives, learning_rate)
        return loss.item(), centers.shape[0], centers.shape[0]

    def _train_block_triton(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[float, int, int]:
        from .triton_sgns import train_pairs

        centers, contexts = self._pairs(block, sentence_starts)
        seed = int(torch.randint(0, 2**31 - 1, (), generator=self.generator, device=self.device))
        block_words = block.shape[0] * self.world_size
        loss = train_pairs(
            self.model.embeddings.data,
            self.model.context.data,
            centers,
            contexts,
            self.noise_table,
            self.args.negative,
            self.learning_rate(self.words_trained, self.writers),
            self.learning_rate(self.words_trained + block_words, self.writers),
            seed,
        )
        return loss.item(), centers.shape[0], centers.shape[0]

    def _train_block_numba(self, block: np.ndarray, sentence_starts: np.ndarray) -> tuple[float, int, int]:
        seeds = torch.randint(1, 2**62, (self.workers,), generator=self.generator).numpy().astype(np.uint64)
        results = fast_cpu.train_block(
            np.ascontiguousarray(block, dtype=np.int32),
            np.append(sentence_starts, block.shape[0]).astype(np.int64),
            self.model.embeddings.data.numpy(),
            self.model.context.data.numpy(),
            self.keep_threshold,
            self.noise_table,
            self.args.window,
            self.args.negative,
            self.args.alpha,
            self.args.min_alpha,
            *self.progress(self.words_trained, self.writers),
            seeds,
            self.workers,
        )
        return float(results[:, 0].sum()), int(results[:, 1].sum()), int(results[:, 2].sum())

    def state(self) -> dict:
        """What a checkpoint needs besides the model to continue exactly where training stands (a collective
        in a distributed run: every rank's random state goes in)."""
        generator = base64.b64encode(bytes(self.generator.get_state().cpu().tolist())).decode()
        return {
            "words_trained": self.words_trained,
            "position": dict(self.position),
            "history": self.history,
            "generators": self.distributed.gather(generator) if self.distributed else [generator],
        }

    def train(
        self,
        checkpoint: Callable[[dict], Path | None] | None = None,
        checkpoint_every: int = 0,
        log_file: Path | None = None,
    ) -> list[dict]:
        """Train in place; returns one record per epoch (`epoch`, `loss` per pair, `learning_rate`, `words`,
        `pairs`). On the CPU engine the loss is measured on a sample of the pairs.

        `checkpoint(state)` is called every `checkpoint_every` words and on Ctrl-C, which then raises
        `TrainingInterrupted`; `log_file` gets a JSON line per block.
        """
        with open(log_file, "a") if log_file is not None else contextlib.nullcontext() as log:
            return self._run_epochs(checkpoint, checkpoint_every, log)

    def _run_epochs(self, checkpoint, checkpoint_every: int, log) -> list[dict]:
        train_block = {
            "numba": self._train_block_numba,
            "triton": self._train_block_triton,
            "torch": self._train_block_torch,
        }[self.backend]
        bar = tqdm(
            total=self.total_words,
            initial=self.words_trained,
            unit="word",
            unit_scale=True,
            disable=not self.args.progress,
            desc="training",
            dynamic_ncols=True,
        )
        previous_handler = self._catch_interrupts()
        started, next_checkpoint = time.perf_counter(), self.words_trained + checkpoint_every
        try:
            while self.position["epoch"] < self.args.epochs:
                position = self.position
                for index, (block, sentence_starts) in enumerate(self.encoded.blocks(self.blocks_per_epoch)):
                    if index < position["block"]:
                        continue
                    loss, loss_pairs, pairs = train_block(block, sentence_starts) if block.shape[0] else (0.0, 0, 0)
                    words, interrupted = block.shape[0], self.interrupted
                    if self.distributed is not None:
                        loss, loss_pairs, pairs, words, interrupted = self._synchronise(
                            loss, loss_pairs, pairs, words, interrupted
                        )
                    position.update(
                        block=index + 1,
                        loss=position["loss"] + loss,
                        loss_pairs=position["loss_pairs"] + loss_pairs,
                        pairs=position["pairs"] + pairs,
                    )
                    self.words_trained += words
                    learning_rate = self.learning_rate(self.words_trained, self.writers)
                    bar.set_postfix(loss=f"{loss / max(loss_pairs, 1):.4f}", lr=f"{learning_rate:.5f}", refresh=False)
                    bar.update(words)
                    if log is not None:
                        elapsed = time.perf_counter() - started
                        record = {
                            "epoch": position["epoch"] + 1,
                            "words": self.words_trained,
                            "loss": loss / max(loss_pairs, 1),
                            "learning_rate": learning_rate,
                            "elapsed_seconds": round(elapsed, 3),
                            "words_per_second": (self.words_trained - self.words_at_start) / max(elapsed, 1e-9),
                        }
                        log.write(json.dumps(record) + "\n")
                        log.flush()
                    if interrupted:
                        raise TrainingInterrupted(checkpoint(self.state()) if checkpoint else None)
                    if checkpoint is not None and checkpoint_every and self.words_trained >= next_checkpoint:
                        checkpoint(self.state())
                        next_checkpoint = self.words_trained + checkpoint_every
                self.history.append(
                    {
                        "epoch": position["epoch"] + 1,
                        "loss": position["loss"] / max(position["loss_pairs"], 1),
                        "learning_rate": self.learning_rate(self.words_trained, self.writers),
                        "words": self.words_trained,
                        "pairs": position["pairs"],
                    }
                )
                self.position = {"epoch": position["epoch"] + 1, "block": 0, "loss": 0.0, "loss_pairs": 0, "pairs": 0}
        finally:
            bar.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        return self.history

    def _synchronise(
        self, loss: float, loss_pairs: int, pairs: int, words: int, interrupted: bool
    ) -> tuple[float, int, int, int, bool]:
        """Average the tables over the ranks; the block's sums over all ranks, and whether any rank got Ctrl-C."""
        sums = torch.tensor([loss, loss_pairs, pairs, words, interrupted], dtype=torch.float64, device=self.device)
        self.distributed.all_reduce(sums)
        self.distributed.synchronise_tables(self.tables)
        loss, loss_pairs, pairs, words, interrupted = sums.tolist()
        return loss, int(loss_pairs), int(pairs), int(words), interrupted > 0

    def _catch_interrupts(self):
        """On Ctrl-C, finish the block in progress, so that a checkpoint holds a consistent state."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def interrupt(signum, frame):
            if self.interrupted:
                raise KeyboardInterrupt
            self.interrupted = True

        return signal.signal(signal.SIGINT, interrupt)


def choose_backend(backend: str, device: torch.device) -> str:
    """`auto`: the compiled per-pair kernel on the CPU, the fused Triton kernel on CUDA where Triton is installed
    (else batched tensors), batched tensors on MPS and other devices."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        if device.type == "cpu":
            return "numba"
        return "triton" if device.type == "cuda" and triton_available() else "torch"
    if backend == "numba" and device.type != "cpu":
        raise ValueError(f"the numba engine runs on the CPU only, not on {device}; use --backend auto")
    if backend == "triton":
        if not triton_available():
            raise ValueError("the triton engine needs Triton (pip install 'word2vec-hub[gpu]'); use --backend auto")
        if device.type != "cuda" and not triton_interpreted():
            raise ValueError(
                f"the triton engine runs on CUDA (or on the CPU under TRITON_INTERPRET=1, for testing), not on "
                f"{device}; use --backend auto"
            )
    return backend


def triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def triton_interpreted() -> bool:
    """Whether Triton runs its kernels in its interpreter, on CPU tensors (TRITON_INTERPRET=1)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
