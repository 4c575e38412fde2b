"""Word2vec vectors as the frozen input layer of a small transformer classifier (BERT-style).

Pitfalls this code handles: BERT adds position and token-type embeddings and a LayerNorm on top of the word
embeddings, so only the word table is frozen, not what the encoder sees; `tie_word_embeddings` would tie the
table to an output layer (off here); `resize_token_embeddings` builds a new, trainable table, so freeze after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

from word2vec_hub.downstream.labelled_texts import LabelledTexts
from word2vec_hub.modeling import Word2VecModel

EMBEDDING_MODES = ("frozen", "fine-tuned", "random")


def build_classifier(
    vectors: Word2VecModel, num_labels: int, embeddings: str, max_length: int = 64, layers: int = 2
) -> BertForSequenceClassification:
    """A small BERT whose hidden size is the vectors' dimension, on the vectors' device. Its word table is the
    word2vec vectors frozen (`embeddings="frozen"`, sharing memory with `vectors`), a trainable copy of them
    (`"fine-tuned"`, so that training leaves `vectors` as they were), or BERT's random initialisation (`"random"`)."""
    if embeddings not in EMBEDDING_MODES:
        raise ValueError(f"embeddings must be one of {', '.join(EMBEDDING_MODES)}; got {embeddings!r}")
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
    classifier = BertForSequenceClassification(config).to(vectors.embeddings.device)
    if embeddings == "frozen":
        classifier.bert.set_input_embeddings(vectors.frozen_embedding())
    elif embeddings == "fine-tuned":
        table = vectors.embeddings.detach().clone()
        classifier.bert.set_input_embeddings(
            nn.Embedding.from_pretrained(table, freeze=False, padding_idx=vectors.config.pad_token_id)
        )
    return classifier


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """What goes to the optimiser: frozen tables stay out, so no optimiser state or weight decay touches them."""
    return [parameter for parameter in model.parameters() if parameter.requires_grad]


@dataclass
class EncodedTexts:
    """Token ids, attention masks and labels of texts, tokenised once and reused by every run."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: Sequence[int] | torch.Tensor) -> EncodedTexts:
        indices = torch.as_tensor(indices, dtype=torch.long)
        return EncodedTexts(self.input_ids[indices], self.attention_mask[indices], self.labels[indices])

    def batch(self, indices: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
        """The model inputs of `indices`, cut to the longest text among them."""
        mask = self.attention_mask[indices]
        length = max(1, int(mask.sum(1).max()))
        return {"input_ids": self.input_ids[indices, :length].to(device), "attention_mask": mask[:, :length].to(device)}


def encode_texts(tokenizer: PreTrainedTokenizerFast, data: LabelledTexts, max_length: int) -> EncodedTexts:
    """The first `max_length` tokens of each text (longer texts are truncated)."""
    inputs = tokenizer(data.texts, padding="max_length", truncation=True, max_length=max_length, return_tensors="pt")
    return EncodedTexts(inputs["input_ids"], inputs["attention_mask"], torch.tensor(data.labels, dtype=torch.long))


def train_for_steps(
    classifier: BertForSequenceClassification,
    train: EncodedTexts,
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> list[float]:
    """AdamW on the trainable parameters for exactly `steps` batches of `batch_size` texts, drawn epoch after epoch
    in an order fixed by `seed`, whatever the number of texts (so every label count gets the same budget).
    Returns the loss of each step."""
    device = next(classifier.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(trainable_parameters(classifier), lr=learning_rate)
    order = torch.empty(0, dtype=torch.long)
    losses = []
    classifier.train()
    for _ in range(steps):
        while len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(train), generator=generator)])
        batch, order = order[:batch_size], order[batch_size:]
        loss = classifier(**train.batch(batch, device), labels=train.labels[batch].to(device)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.inference_mode()
def accuracy(classifier: BertForSequenceClassification, data: EncodedTexts, batch_size: int = 128) -> float:
    """The fraction of `data` whose label the classifier predicts (in eval mode: no dropout)."""
    device = next(classifier.parameters()).device
    classifier.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        batch = torch.arange(start, min(start + batch_size, len(data)))
        predictions = classifier(**data.batch(batch, device)).logits.argmax(-1).cpu()
        correct += int((predictions == data.labels[batch]).sum())
    return correct / len(data)
