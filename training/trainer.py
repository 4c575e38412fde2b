"""Training a `Word2VecModel` and its tokenizer from text."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerFast

from modeling import Word2VecConfig, Word2VecModel
from tokenization import PAD_TOKEN, UNK_TOKEN, train_word_level_tokenizer, wrap_tokenizer

from .corpus import CorpusError, TextCorpus
from .encoding import EncodedCorpus, encode_corpus
from .sgns import NoiseSampler, keep_probabilities, noise_distribution, sgns_step, skipgram_pairs

BLOCK_TOKENS = 1 << 18
PROGRESS_EVERY_BATCHES = 32
# What the model's config records of the arguments that trained it, under the same names.
RECORDED_HYPERPARAMETERS = (
    "window",
    "negative",
    "sample",
    "min_count",
    "max_vocab",
    "epochs",
    "alpha",
    "min_alpha",
    "ns_exponent",
)


@dataclass
class TrainingArguments:
    """Hyperparameters, named and defaulted as gensim's `Word2Vec(sg=1)` (`dim` is gensim's `vector_size`)."""

    dim: int = Word2VecConfig.hidden_size
    window: int = Word2VecConfig.window
    negative: int = Word2VecConfig.negative
    sample: float = Word2VecConfig.sample
    min_count: int = Word2VecConfig.min_count
    max_vocab: int | None = Word2VecConfig.max_vocab
    epochs: int = Word2VecConfig.epochs
    alpha: float = Word2VecConfig.alpha
    min_alpha: float = Word2VecConfig.min_alpha
    ns_exponent: float = Word2VecConfig.ns_exponent
    batch_size: int = 1024
    seed: int = 1
    device: str = "auto"
    lowercase: bool = True
    nfkc: bool = True
    split_punctuation: bool = True
    progress: bool = True

    def __post_init__(self):
        positive = ("dim", "window", "negative", "min_count", "epochs", "batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise ValueError(f"max_vocab must be at least 1, got {self.max_vocab}")
        if not 0 < self.min_alpha <= self.alpha:
            raise ValueError(f"need 0 < min_alpha <= alpha, got alpha={self.alpha}, min_alpha={self.min_alpha}")
        if self.sample < 0:
            raise ValueError(f"sample must be >= 0 (0 disables subsampling), got {self.sample}")


@dataclass
class TrainingResult:
    model: Word2VecModel
    tokenizer: PreTrainedTokenizerFast
    seconds: float
    words_trained: int
    final_loss: float
    history: list[dict] = field(default_factory=list)

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


def train_word2vec(corpus: TextCorpus, args: TrainingArguments) -> TrainingResult:
    """Build the vocabulary, encode the corpus once, and train skip-gram with negative sampling on it."""
    started = time.perf_counter()
    device = resolve_device(args.device)
    backend = train_word_level_tokenizer(
        corpus,
        min_count=args.min_count,
        max_vocab=args.max_vocab,
        lowercase=args.lowercase,
        nfkc=args.nfkc,
        split_punctuation=args.split_punctuation,
    )
    with tempfile.TemporaryDirectory(prefix="word2vec-corpus-") as workdir:
        encoded = encode_corpus(corpus, backend, workdir)
        if encoded.word_count == 0:
            raise CorpusError(f"the corpus ({corpus.name}) is empty: it holds no words")
        if encoded.num_tokens == 0:
            raise CorpusError(
                f"no word of the corpus ({corpus.name}, {encoded.word_count} words) occurs at least "
                f"min_count={args.min_count} times, so the vocabulary is empty; lower --min-count"
            )
        tokenizer = wrap_tokenizer(backend)
        model = _new_model(tokenizer, encoded, corpus.name, args)
        trainer = SkipGramTrainer(model, encoded, args, device)
        history = trainer.train()
        del encoded
    model.set_tokenizer(tokenizer)
    final_loss = history[-1]["loss"] if history else float("nan")
    return TrainingResult(
        model=model,
        tokenizer=tokenizer,
        seconds=time.perf_counter() - started,
        words_trained=trainer.words_trained,
        final_loss=final_loss,
        history=history,
    )


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
        **{name: getattr(args, name) for name in RECORDED_HYPERPARAMETERS},
    )
    torch.manual_seed(args.seed)
    model = Word2VecModel(config)
    model.counts.copy_(torch.from_numpy(encoded.counts))
    return model


class SkipGramTrainer:
    """Runs the epochs: subsampling, dynamic windows, shuffled batches of pairs, linear learning-rate decay."""

    def __init__(self, model: Word2VecModel, encoded: EncodedCorpus, args: TrainingArguments, device: torch.device):
        self.model = model.to(device=device, dtype=torch.float32)
        self.encoded = encoded
        self.args = args
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(args.seed)
        trainable_counts = model.counts.detach().cpu().clone()
        for special_id in (model.config.pad_token_id, model.config.unk_token_id):
            if special_id is not None:
                trainable_counts[special_id] = 0
        self.keep_probability = keep_probabilities(trainable_counts, args.sample).float().to(device)
        self.noise = NoiseSampler(noise_distribution(trainable_counts, args.ns_exponent), device)
        self.total_words = args.epochs * encoded.num_tokens
        self.words_trained = 0

    def learning_rate(self, words_done: float) -> float:
        """Linear decay from alpha to min_alpha over all epochs, as word2vec and gensim do."""
        progress = min(words_done / self.total_words, 1.0)
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

    def train(self) -> list[dict]:
        """Train in place; returns one record per epoch (`epoch`, `loss` per pair, `learning_rate`, `words`)."""
        args = self.args
        embeddings, context = self.model.embeddings.data, self.model.context.data
        history = []
        bar = tqdm(
            total=self.total_words,
            unit="word",
            unit_scale=True,
            disable=not args.progress,
            desc="training",
            dynamic_ncols=True,
        )
        try:
            for epoch in range(args.epochs):
                loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
                epoch_pairs = 0
                shown_loss, shown_pairs = torch.zeros((), dtype=torch.float64, device=self.device), 0
                for block, sentence_starts in self.encoded.blocks(BLOCK_TOKENS):
                    centers, contexts = self._pairs(block, sentence_starts)
                    num_batches = max(1, math.ceil(centers.shape[0] / args.batch_size))
                    words_per_batch = block.shape[0] / num_batches
                    for batch_index in range(num_batches):
                        batch = slice(batch_index * args.batch_size, (batch_index + 1) * args.batch_size)
                        batch_centers, batch_contexts = centers[batch], contexts[batch]
                        learning_rate = self.learning_rate(self.words_trained + batch_index * words_per_batch)
                        negatives = self.noise.sample((batch_centers.shape[0], args.negative), self.generator)
                        batch_loss = sgns_step(
                            embeddings, context, batch_centers, batch_contexts, negatives, learning_rate
                        )
                        loss_sum += batch_loss
                        shown_loss += batch_loss
                        shown_pairs += batch_centers.shape[0]
                        if (batch_index + 1) % PROGRESS_EVERY_BATCHES == 0 or batch_index == num_batches - 1:
                            bar.set_postfix(
                                loss=f"{shown_loss.item() / max(shown_pairs, 1):.4f}",
                                lr=f"{learning_rate:.5f}",
                                refresh=False,
                            )
                            shown_loss.zero_()
                            shown_pairs = 0
                    epoch_pairs += centers.shape[0]
                    self.words_trained += block.shape[0]
                    bar.update(block.shape[0])
                history.append(
                    {
                        "epoch": epoch + 1,
                        "loss": loss_sum.item() / max(epoch_pairs, 1),
                        "learning_rate": self.learning_rate(self.words_trained),
                        "words": self.words_trained,
                        "pairs": epoch_pairs,
                    }
                )
        finally:
            bar.close()
        return history
