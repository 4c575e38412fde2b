"""Word2vec vectors as the frozen input layer of a small transformer classifier (BERT-style).

Pitfalls this code handles: BERT adds position and token-type embeddings and a LayerNorm on top of the word
embeddings, so only the word table is frozen, not what the encoder sees; `tie_word_embeddings` would tie the
table to an output layer (off here); `resize_token_embeddings` builds a new, trainable table, so freeze after it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

from word2vec_hub.modeling import Word2VecModel


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[int]
    label_names: list[str]


def read_labelled_jsonl(path: str | Path, label_names: list[str] | None = None, limit: int | None = None):
    """`{"label": ..., "text": ...}` lines; labels become ids in sorted order (or the order given)."""
    records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    records = records[:limit] if limit is not None else records
    label_names = label_names or sorted({record["label"] for record in records})
    index = {name: i for i, name in enumerate(label_names)}
    return LabelledTexts([r["text"] for r in records], [index[r["label"]] for r in records], label_names)


def build_classifier(
    vectors: Word2VecModel, num_labels: int, frozen_vectors: bool, max_length: int = 256, layers: int = 2
) -> BertForSequenceClassification:
    """A small BERT whose hidden size is the vectors' dimension; its word table is the word2vec vectors
    (frozen) when `frozen_vectors`, else random and trainable."""
    dim = vectors.config.hidden_size
    heads = next(count for count in (4, 2, 1) if dim % count == 0)
    config = BertConfig(
        vocab_size=vectors.config.vocab_size,
        hidden_size=dim,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * dim,
        max_position_embeddings=max_length,
        pad_token_id=vectors.config.pad_token_id,
        num_labels=num_labels,
        tie_word_embeddings=False,
    )
    classifier = BertForSequenceClassification(config)
    if frozen_vectors:
        classifier.bert.set_input_embeddings(vectors.frozen_embedding())
    return classifier


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """What goes to the optimiser: frozen tables stay out, so no optimiser state or weight decay touches them."""
    return [parameter for parameter in model.parameters() if parameter.requires_grad]


@dataclass
class ClassifierRun:
    name: str
    losses: list[float] = field(default_factory=list)
    test_accuracy: float = float("nan")


def train_classifier(
    classifier: BertForSequenceClassification,
    tokenizer: PreTrainedTokenizerFast,
    train: LabelledTexts,
    test: LabelledTexts,
    name: str,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    max_length: int = 256,
    seed: int = 0,
) -> ClassifierRun:
    """Train with AdamW on the trainable parameters only; record the loss of each step and the test accuracy."""
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(trainable_parameters(classifier), lr=learning_rate)
    run = ClassifierRun(name)
    labels = torch.tensor(train.labels)
    classifier.train()
    for _ in range(epochs):
        order = torch.randperm(len(train.texts)).tolist()
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            inputs = tokenizer(
                [train.texts[i] for i in batch], padding=True, truncation=True, max_length=max_length,
                return_tensors="pt",
            )  # fmt: skip
            loss = classifier(**inputs, labels=labels[batch]).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.losses.append(loss.item())
    run.test_accuracy = accuracy(classifier, tokenizer, test, batch_size, max_length)
    return run


@torch.no_grad()
def accuracy(classifier, tokenizer, data: LabelledTexts, batch_size: int = 64, max_length: int = 256) -> float:
    classifier.eval()
    correct = 0
    for start in range(0, len(data.texts), batch_size):
        inputs = tokenizer(
            data.texts[start : start + batch_size], padding=True, truncation=True, max_length=max_length,
            return_tensors="pt",
        )  # fmt: skip
        predictions = classifier(**inputs).logits.argmax(-1)
        correct += (predictions == torch.tensor(data.labels[start : start + batch_size])).sum().item()
    classifier.train()
    return correct / len(data.texts)


def plot_losses(runs: list[ClassifierRun], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    for run in runs:
        window = max(1, len(run.losses) // 50)
        smoothed = torch.tensor(run.losses).unfold(0, window, 1).mean(1).tolist() if window > 1 else run.losses
        axes.plot(smoothed, label=f"{run.name} (test accuracy {run.test_accuracy:.3f})")
    axes.set_xlabel("step")
    axes.set_ylabel("training loss")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
