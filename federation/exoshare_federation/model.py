"""The federated model: ridge-regularised linear regression of gait speed, trained by gradient
descent in numpy.

Linear, so FedAvg's weighted mean of the clinics' parameters is a meaningful model (boosted
trees are not averageable). Written in numpy rather than with scikit-learn's SGDRegressor:
full-batch gradient descent makes one local step of FedAvg with example-count weights exactly
one step on the pooled data, which is what the federated-vs-central comparison relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Params = list[NDArray[np.float64]]
"""[weights (n_features,), bias (1,)]."""


@dataclass(frozen=True)
class Training:
    """How a model is trained: ``steps`` of full-batch gradient descent at ``learning_rate`` on
    mean squared error plus ``l2`` times the squared weights; ``proximal_mu`` > 0 adds FedProx's
    ``mu / 2 * ||params - anchor||^2`` (the anchor is the global model of the round)."""

    steps: int = 20
    learning_rate: float = 0.1
    l2: float = 1e-3
    proximal_mu: float = 0.0


def zeros(n_features: int) -> Params:
    return [np.zeros(n_features), np.zeros(1)]


def predict(params: Params, x: NDArray[np.float64]) -> NDArray[np.float64]:
    return x @ params[0] + params[1][0]


def mse(params: Params, x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    return float(np.mean((predict(params, x) - y) ** 2))


def mae(params: Params, x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    return float(np.mean(np.abs(predict(params, x) - y)))


def train(
    params: Params, x: NDArray[np.float64], y: NDArray[np.float64], training: Training
) -> Params:
    """New parameters after ``training.steps`` gradient steps from ``params`` (not changed)."""
    anchor_w, anchor_b = params[0].copy(), params[1].copy()
    w, b = params[0].copy(), params[1].copy()
    n = len(y)
    for _ in range(training.steps):
        residual = x @ w + b[0] - y
        grad_w = 2.0 * x.T @ residual / n + 2.0 * training.l2 * w
        grad_b = np.array([2.0 * residual.mean()])
        if training.proximal_mu > 0:
            grad_w += training.proximal_mu * (w - anchor_w)
            grad_b += training.proximal_mu * (b - anchor_b)
        w -= training.learning_rate * grad_w
        b -= training.learning_rate * grad_b
    return [w, b]
