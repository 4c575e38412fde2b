"""The classic baseline that needs no transformer: each text's mean word vector into a logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from word2vec_hub.modeling import Word2VecModel


def mean_vectors(vectors: Word2VecModel, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
    """`vectors.encode` of every text (the mean of its known words' vectors, all of its words), `batch_size` texts
    at a time since a batch is padded to its longest text."""
    batches = [vectors.encode(list(texts[start : start + batch_size])) for start in range(0, len(texts), batch_size)]
    return torch.cat(batches).float().cpu() if batches else torch.zeros(0, vectors.config.hidden_size)


def fit_logistic_regression(
    features: torch.Tensor, labels: torch.Tensor, num_labels: int, iterations: int = 200
) -> nn.Linear:
    """Multinomial logistic regression fitted by L-BFGS from zero weights, with scikit-learn's default penalty
    (C=1: the summed log-loss plus half the squared norm of the weights, bias not penalised)."""
    linear = nn.Linear(features.shape[1], num_labels)
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(linear(features), labels, reduction="sum") + 0.5 * linear.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(objective)
    return linear


@torch.no_grad()
def logistic_regression_accuracy(linear: nn.Linear, features: torch.Tensor, labels: torch.Tensor) -> float:
    return (linear(features).argmax(-1) == labels).float().mean().item()
