"""Classification metrics without extra dependencies: accuracy and AUROC."""

from __future__ import annotations

import numpy as np


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose most probable class is the label."""
    return float((probs.argmax(axis=1) == labels).mean()) if len(labels) else float("nan")


def binary_auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve from ranks (Mann–Whitney U), ties averaged.

    Returns NaN when only one class is present.
    """
    pos = int(positive.sum())
    neg = len(positive) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[positive.astype(bool)].sum() - pos * (pos + 1) / 2) / (pos * neg))


def auroc(probs: np.ndarray, labels: np.ndarray) -> float:
    """Binary AUROC of class 1, or the macro one-vs-rest mean for more classes."""
    if probs.shape[1] == 2:
        return binary_auroc(probs[:, 1], labels == 1)
    per_class = [binary_auroc(probs[:, k], labels == k) for k in range(probs.shape[1])]
    valid = [v for v in per_class if not np.isnan(v)]
    return float(np.mean(valid)) if valid else float("nan")
