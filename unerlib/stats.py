"""Bootstrap confidence intervals for the official UniNER F1.

Sentences (passages) are the resampling unit: each sentence's questions are summed into
one row of ``(correct, predicted, gold)`` counts, rows are drawn with replacement, and the
micro-F1 of each replicate is recomputed from the summed counts with the paper's 1e-10
smoothing (:func:`unerlib.metrics.prf`). Averages over several sets resample each set
independently within a replicate; paired comparisons draw the same rows for both systems.
Intervals are percentile intervals; every F1 here is in percent (0-100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .metrics import PARSERS, _counts, prf

DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile interval (percent)."""

    value: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        return f"{self.value:.1f} ± {self.half_width:.1f}"

    def as_dict(self) -> dict[str, float]:
        """``{"value", "low", "high"}``."""
        return {"value": self.value, "low": self.low, "high": self.high}


def sentence_counts(sentences: Sequence[str], preds: Sequence[str], golds: Sequence[str],
                    parser: str = "official") -> np.ndarray:
    """``(n_sentences, 3)`` int array of (correct, predicted, gold) summed over each
    sentence's questions, sentences in order of first appearance; counted exactly as
    :func:`unerlib.metrics.score` counts."""
    if not (len(sentences) == len(preds) == len(golds)):
        raise ValueError(f"sentence_counts needs parallel lists: {len(sentences)} sentences, "
                         f"{len(preds)} predictions, {len(golds)} gold answers")
    if parser not in PARSERS:
        raise ValueError(f"unknown parser {parser!r}; choose from {sorted(PARSERS)}")
    parse = PARSERS[parser]
    rows: dict[str, list[int]] = {}
    for sentence, pred, gold in zip(sentences, preds, golds):
        row = rows.setdefault(sentence, [0, 0, 0])
        for k, v in enumerate(_counts(pred, gold, parse)):
            row[k] += v
    return np.array(list(rows.values()), dtype=np.int64).reshape(-1, 3)


def _check(counts: np.ndarray, what: str = "counts") -> np.ndarray:
    """A non-empty ``(n, 3)`` integer array, or a ValueError."""
    arr = np.asarray(counts)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{what} must be an (n_sentences, 3) array of (correct, predicted, gold), "
                         f"got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty: no sentences to score or resample")
    if (arr < 0).any() or (arr[:, 0] > arr[:, 1]).any() or (arr[:, 0] > arr[:, 2]).any():
        raise ValueError(f"{what}: counts must be non-negative with correct <= predicted and correct <= gold")
    return arr


def _f1(c: np.ndarray, p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Vectorised :func:`unerlib.metrics.prf` F1, in percent."""
    prec = c / (p + 1e-10)
    rec = c / (g + 1e-10)
    return 100 * 2 * prec * rec / (prec + rec + 1e-10)


def f1_from_counts(counts: np.ndarray) -> float:
    """Micro F1 (percent) of summed sentence counts, with :func:`unerlib.metrics.prf`."""
    c, p, g = (int(x) for x in _check(counts).sum(axis=0))
    return 100 * prf(c, p, g)["f1"]


def _replicate_f1(counts: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """F1 (percent) of each replicate: ``idx`` is ``(n_resamples, n)`` row indices."""
    sums = np.stack([counts[:, k][idx].sum(axis=1) for k in range(3)])
    return _f1(sums[0].astype(float), sums[1].astype(float), sums[2].astype(float))


def _indices(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    return rng.integers(0, n, size=(n_resamples, n))


def _interval(value: float, samples: np.ndarray, level: float) -> Estimate:
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    alpha = (1 - level) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha])
    return Estimate(float(value), float(low), float(high))


def _check_resamples(n_resamples: int) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")


def bootstrap_f1(counts: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                 level: float = 0.95) -> Estimate:
    """Micro F1 of one set with its percentile bootstrap interval over sentences."""
    return bootstrap_mean([counts], n_resamples, seed, level)


def _sets(count_sets: Sequence[np.ndarray], what: str) -> list[np.ndarray]:
    sets = [_check(c, f"{what}[{i}]") for i, c in enumerate(count_sets)]
    if not sets:
        raise ValueError(f"{what} is empty: no sets to average")
    return sets


def bootstrap_mean(count_sets: Sequence[np.ndarray], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                   level: float = 0.95) -> Estimate:
    """Mean of per-set F1s, each set resampled independently within every replicate."""
    _check_resamples(n_resamples)
    sets = _sets(count_sets, "count_sets")
    rng = np.random.default_rng(seed)
    value = float(np.mean([f1_from_counts(c) for c in sets]))
    samples = np.mean([_replicate_f1(c, _indices(rng, len(c), n_resamples)) for c in sets], axis=0)
    return _interval(value, samples, level)


def paired_difference(a_sets: Sequence[np.ndarray], b_sets: Sequence[np.ndarray],
                      n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean F1(a) minus mean F1(b) over sets, both systems resampled with the same
    sentence indices (``a_sets[i]`` and ``b_sets[i]`` must cover the same sentences)."""
    _check_resamples(n_resamples)
    a_list, b_list = _sets(a_sets, "a_sets"), _sets(b_sets, "b_sets")
    if len(a_list) != len(b_list):
        raise ValueError(f"paired_difference needs as many sets for a ({len(a_list)}) as for b ({len(b_list)})")
    for i, (a, b) in enumerate(zip(a_list, b_list)):
        if len(a) != len(b):
            raise ValueError(f"set {i}: a has {len(a)} sentences and b {len(b)}; a paired comparison "
                             f"needs both systems scored on the same sentences")
    rng = np.random.default_rng(seed)
    value = float(np.mean([f1_from_counts(a) - f1_from_counts(b) for a, b in zip(a_list, b_list)]))
    diffs = []
    for a, b in zip(a_list, b_list):
        idx = _indices(rng, len(a), n_resamples)
        diffs.append(_replicate_f1(a, idx) - _replicate_f1(b, idx))
    return _interval(value, np.mean(diffs, axis=0), level)


def verdict(diff: Estimate) -> str:
    """"supported" when the interval lies above 0, "contradicted" when below, else
    "not resolved at this size"."""
    if diff.low > 0:
        return "supported"
    if diff.high < 0:
        return "contradicted"
    return "not resolved at this size"


def prf_interval(counts: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                 level: float = 0.95) -> dict[str, Estimate]:
    """Micro precision, recall and F1 (percent) of one set, each with its interval (all
    three from the same replicates)."""
    _check_resamples(n_resamples)
    arr = _check(counts)
    c, p, g = (int(x) for x in arr.sum(axis=0))
    point = {k: 100 * v for k, v in prf(c, p, g).items()}
    idx = _indices(np.random.default_rng(seed), len(arr), n_resamples)
    sc, sp, sg = (arr[:, k][idx].sum(axis=1).astype(float) for k in range(3))
    prec, rec = 100 * sc / (sp + 1e-10), 100 * sc / (sg + 1e-10)
    samples = {"precision": prec, "recall": rec, "f1": _f1(sc, sp, sg)}
    return {k: _interval(point[k], samples[k], level) for k in ("precision", "recall", "f1")}
