"""Training and using `Word2VecForSequenceClassification` on labelled texts: what `word2vec classify` runs."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerFast

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


# Texts shuffled together into a pool are sorted by length before they are cut into batches, so that a batch pads
# its texts to a length close to theirs (BBC News articles run from 90 to 4,000 tokens).
BATCHES_PER_POOL = 16


def length_sorted_batches(texts: TokenizedTexts, batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Every text once, in batches of `batch_size` texts of similar length, in an order drawn from `generator`."""
    order = torch.randperm(len(texts.ids), generator=generator).tolist()
    pool_size = batch_size * BATCHES_PER_POOL
    batches = []
    for start in range(0, len(order), pool_size):
        pool = sorted(order[start : start + pool_size], key=lambda index: len(texts.ids[index]))
        batches += [pool[position : position + batch_size] for position in range(0, len(pool), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def tokenize(tokenizer: PreTrainedTokenizerFast, texts: Sequence[str], max_length: int | None = None) -> TokenizedTexts:
    encoded = tokenizer(list(texts), add_special_tokens=False, truncation=max_length is not None, max_length=max_length)
    return TokenizedTexts(encoded["input_ids"], tokenizer.pad_token_id or 0)


def describe_settings(settings: ClassifierSettings) -> str:
    """The settings in words, for the log and the model card."""
    features = "word vectors"
    if settings.word_bigram_buckets:
        features += f" and {settings.word_bigram_buckets:,} hashed word-bigram buckets"
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
        "classifier_hidden_size": settings.hidden_size,
        "freeze_embeddings": settings.freeze_embeddings,
    }


def new_classifier(
    vectors_folder: str, label_names: Sequence[str], settings: ClassifierSettings
) -> Word2VecForSequenceClassification:
    """A classifier over the vectors of `vectors_folder` (a word2vec or a classifier folder: its head is replaced
    when the labels differ), with the labels and settings given."""
    return Word2VecForSequenceClassification.from_pretrained(
        vectors_folder, ignore_mismatched_sizes=True, **classifier_config(label_names, settings)
    )


def train_classifier(
    model: Word2VecForSequenceClassification,
    texts: TokenizedTexts,
    labels: Sequence[int],
    settings: ClassifierSettings,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """Adagrad on the trainable parameters (the frozen vectors stay out of the optimiser), `settings.epochs` passes
    in an order fixed by `settings.seed`, the learning rate decaying linearly to zero as fastText's does. Returns
    each epoch's mean loss; `log` gets a line per epoch."""
    model.to(device).train()
    model.sparse_gradients = True
    generator = torch.Generator().manual_seed(settings.seed)
    # Adagrad takes the tables' sparse gradients (the rows a batch uses) and scales each coordinate by its own history,
    # as Adam does; SparseAdam took 3 of the 4.7 s of training on BBC News, Adagrad a fraction of it.
    optimizer = torch.optim.Adagrad(
        [parameter for parameter in model.parameters() if parameter.requires_grad], lr=settings.learning_rate
    )
    steps_per_epoch = -(-len(labels) // settings.batch_size)
    # A few dozen labelled texts make one batch an epoch: they get more epochs, up to `min_steps` batches in all.
    epochs = max(settings.epochs, -(-settings.min_steps // steps_per_epoch))
    total_steps = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / total_steps)
    targets = torch.as_tensor(labels, dtype=torch.long)
    losses = []
    # Adagrad builds its sparse updates from valid indices: torch's invariant checks (off by default) would only warn.
    with torch.sparse.check_sparse_tensor_invariants(enable=False):
        for epoch in range(epochs):
            started, total = time.perf_counter(), 0.0
            for batch in length_sorted_batches(texts, settings.batch_size, generator):
                loss = model(**texts.batch(batch, device), labels=targets[batch].to(device)).loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.item() * len(batch)
            losses.append(total / len(targets))
            if log is not None:
                log(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f} ({time.perf_counter() - started:.1f} s)")
    model.sparse_gradients = False
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
