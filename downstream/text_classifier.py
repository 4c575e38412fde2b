"""Training and using `Word2VecForSequenceClassification` on labelled texts: what `word2vec classify` runs."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import torch
from transformers import PreTrainedTokenizerFast

from word2vec_hub.downstream.bags import Bags, RowwiseAdagrad
from word2vec_hub.downstream.classifier_settings import ClassifierSettings
from word2vec_hub.downstream.labelled_texts import LabelledTexts
from word2vec_hub.modeling import Word2VecForSequenceClassification, Word2VecModel


@dataclass
class TokenizedTexts:
    """Each text's token ids, unpadded: batches are padded to their own longest text."""

    ids: list[list[int]]
    pad_token_id: int

    def batch(self, indices: Sequence[int], device: torch.device | str) -> dict[str, torch.Tensor]:
        rows = [self.ids[i] for i in indices]
        length = max(1, max(map(len, rows)))
        input_ids = torch.full((len(rows), length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
        for position, row in enumerate(rows):
            input_ids[position, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention_mask[position, : len(row)] = 1
        return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}


def tokenize(tokenizer: PreTrainedTokenizerFast, texts: Sequence[str], max_length: int | None = None) -> TokenizedTexts:
    encoded = tokenizer(list(texts), add_special_tokens=False, truncation=max_length is not None, max_length=max_length)
    return TokenizedTexts(encoded["input_ids"], tokenizer.pad_token_id or 0)


def describe_settings(settings: ClassifierSettings) -> str:
    """The settings in words, for the log and the model card."""
    features = "word vectors"
    if settings.word_bigram_buckets:
        hashed = "words and word bigrams" if settings.hashed_words else "word bigrams"
        features += f" and {settings.word_bigram_buckets:,} buckets of hashed {hashed}"
    head = f"a hidden layer of {settings.hidden_size}, " if settings.hidden_size else ""
    return (
        f"mean of {features} ({'frozen' if settings.freeze_embeddings else 'fine-tuned'}), {head}"
        f"{settings.epochs} epochs (at least {settings.min_steps} steps) of batches of {settings.batch_size}, "
        f"Adagrad from learning rate "
        f"{settings.learning_rate:g} decaying to 0, seed {settings.seed}"
    )


def classifier_from_vectors(
    vectors: Word2VecModel, label_names: Sequence[str], settings: ClassifierSettings
) -> Word2VecForSequenceClassification:
    """A classifier over a copy of the vectors of a loaded model, as `new_classifier` makes from its folder."""
    config = copy.deepcopy(vectors.config)
    for name, value in classifier_config(label_names, settings).items():
        setattr(config, name, value)
    model = Word2VecForSequenceClassification(config).to(vectors.embeddings.device)
    with torch.no_grad():
        model.embeddings.copy_(vectors.embeddings)
    return model


def classifier_config(label_names: Sequence[str], settings: ClassifierSettings) -> dict:
    return {
        "num_labels": len(label_names),
        "id2label": dict(enumerate(label_names)),
        "label2id": {name: index for index, name in enumerate(label_names)},
        "problem_type": "single_label_classification",
        "word_bigram_buckets": settings.word_bigram_buckets,
        "hashed_words": settings.hashed_words,
        "classifier_hidden_size": settings.hidden_size,
        "freeze_embeddings": settings.freeze_embeddings,
    }


def new_classifier(
    vectors_folder: str, label_names: Sequence[str], settings: ClassifierSettings
) -> Word2VecForSequenceClassification:
    """A classifier over the vectors of `vectors_folder` (a word2vec or a classifier folder: its head is replaced
    when the labels differ), with the labels and settings given; its new rows drawn from `settings.seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        return Word2VecForSequenceClassification.from_pretrained(
            vectors_folder, ignore_mismatched_sizes=True, **classifier_config(label_names, settings)
        )


def text_bags(
    model: Word2VecForSequenceClassification, texts: TokenizedTexts, device: torch.device | str
) -> tuple[Bags, Bags | None, torch.Tensor]:
    """The known words and the rows of the hashed table of each text, as the model pools them (`known_words`,
    `hashed_ids`), and the number of both in each text `[texts]` (at least 1: the mean's divisor)."""
    # Every text in one row, a masked-out token after each: the model's own known_words and hashed_ids read the row
    # without padding texts to the longest one, and no pair of neighbours spans two texts.
    text_count = len(texts.ids)
    lengths = torch.tensor([len(ids) for ids in texts.ids], dtype=torch.long)
    tokens = torch.from_numpy(np.fromiter(chain.from_iterable(texts.ids), dtype=np.int64, count=int(lengths.sum())))
    text_of = torch.repeat_interleave(torch.arange(text_count), lengths + 1)
    row = torch.full((len(tokens) + text_count,), texts.pad_token_id, dtype=torch.long)
    row[torch.arange(len(tokens)) + torch.repeat_interleave(torch.arange(text_count), lengths)] = tokens
    attention_mask = torch.ones_like(row)
    attention_mask[(lengths + 1).cumsum(0) - 1] = 0
    input_ids, attention_mask = row.to(device).unsqueeze(0), attention_mask.to(device).unsqueeze(0)
    text_of = text_of.to(device)
    known = model.known_words(input_ids, attention_mask)[0]
    words = Bags.from_occurrences(text_of[known], input_ids[0, known], model.config.vocab_size, text_count)
    sizes = words.sizes()
    hashed = None
    if model.word_bigrams is not None:
        buckets, present = model.hashed_ids(input_ids, known.unsqueeze(0))
        # hashed_ids gives the pairs (each at its first word), then the words.
        column_text = torch.cat([text_of[:-1], text_of])[: buckets.shape[1]]
        hashed = Bags.from_occurrences(
            column_text[present[0]], buckets[0, present[0]], model.config.word_bigram_buckets, text_count
        )
        sizes = sizes + hashed.sizes()
    return words, hashed, sizes.clamp(min=1)


def train_classifier(
    model: Word2VecForSequenceClassification,
    texts: TokenizedTexts,
    labels: Sequence[int],
    settings: ClassifierSettings,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """Adagrad on the trainable parameters (the frozen vectors stay out of it), `settings.epochs` passes in an order
    fixed by `settings.seed`, the learning rate decaying linearly to zero as fastText's does. Returns each epoch's
    mean loss; `log` gets a line per epoch.

    The texts are bags of ids, made once (`text_bags`): a step pools the batch's bags (frozen vectors: their sums,
    also made once), runs the head and the loss through autograd, and updates only the table rows the batch holds
    (`RowwiseAdagrad`, one sum of squares a row, as for the embedding tables of recommender models: the
    per-coordinate sums would double the table's memory and the step's work; a compiled loop on the CPU). torch's
    own path, sparse embedding_bag gradients into torch.optim.Adagrad, spent most of its time coalescing and
    masking those gradients. The head (a few thousand numbers) gets torch.optim.Adagrad."""
    model.to(device).train()
    # A step's tensors are a batch's rows, too short for intra-op threads to pay: on the shared 2-core machine two
    # threads took 3 to 4 times the wall-clock time of one for the same training, waiting on each other.
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        return train_in_steps(model, texts, labels, settings, device, log)
    finally:
        torch.set_num_threads(threads)


def train_in_steps(
    model: Word2VecForSequenceClassification,
    texts: TokenizedTexts,
    labels: Sequence[int],
    settings: ClassifierSettings,
    device: torch.device | str,
    log: Callable[[str], None] | None,
) -> list[float]:
    """`train_classifier`'s loop."""
    generator = torch.Generator().manual_seed(settings.seed)
    words, hashed, sizes = text_bags(model, texts, device)
    tables = [] if hashed is None else [(model.word_bigrams.weight, hashed)]
    with torch.no_grad():
        if model.config.freeze_embeddings:
            frozen_sums = words.sums(model.embeddings)
        else:
            tables.append((model.embeddings, words))
    steppers = [RowwiseAdagrad(table.data, bags, settings.batch_size) for table, bags in tables]
    table_ids = {id(table) for table, _ in tables}
    head = [parameter for parameter in model.parameters() if parameter.requires_grad and id(parameter) not in table_ids]
    optimizer = torch.optim.Adagrad(head, lr=settings.learning_rate)
    steps_per_epoch = -(-len(labels) // settings.batch_size)
    # A few dozen labelled texts make one batch an epoch: they get more epochs, up to `min_steps` batches in all.
    epochs = max(settings.epochs, -(-settings.min_steps // steps_per_epoch))
    total_steps = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / total_steps)
    targets = torch.as_tensor(labels, dtype=torch.long, device=device)
    losses = []
    for epoch in range(epochs):
        started, total = time.perf_counter(), torch.zeros((), device=device)
        order = torch.randperm(len(labels), generator=generator).to(device)
        for batch in order.split(settings.batch_size):
            with torch.no_grad():
                pooled = frozen_sums[batch] if model.config.freeze_embeddings else 0
                for table, bags in tables:
                    pooled = pooled + bags.sums(table, batch)
                pooled = pooled / sizes[batch].unsqueeze(1)
            pooled.requires_grad_()
            loss = model.classification_loss(model.logits_from_pooled(pooled), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            learning_rate = optimizer.param_groups[0]["lr"]
            optimizer.step()
            schedule.step()
            text_gradients = pooled.grad / sizes[batch].unsqueeze(1)
            for stepper in steppers:
                stepper.step(batch, text_gradients, learning_rate)
            total += loss.detach() * len(batch)
        losses.append(total.item() / len(targets))
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f} ({time.perf_counter() - started:.1f} s)")
    model.eval()
    return losses


@torch.inference_mode()
def predict(model: Word2VecForSequenceClassification, texts: TokenizedTexts, batch_size: int = 256) -> torch.Tensor:
    """The predicted label id of each text."""
    model.eval()
    device = next(model.parameters()).device
    predictions = [
        model(**texts.batch(range(start, min(start + batch_size, len(texts.ids))), device)).logits.argmax(-1).cpu()
        for start in range(0, len(texts.ids), batch_size)
    ]
    return torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.long)


def classifier_accuracy(
    model: Word2VecForSequenceClassification,
    tokenizer: PreTrainedTokenizerFast,
    data: LabelledTexts,
    max_length: int | None = None,
) -> float:
    """The fraction of `data` whose label the classifier predicts."""
    predictions = predict(model, tokenize(tokenizer, data.texts, max_length))
    return (predictions == torch.tensor(data.labels)).float().mean().item()
