"""Bootstrap intervals of the official F1: an exact bootstrap distribution enumerated by
brute force, closed-form cases, paired comparisons and the verdict."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from unerlib.metrics import prf, score
from unerlib.stats import (Estimate, bootstrap_f1, bootstrap_mean, f1_from_counts, paired_difference,
                           prf_interval, sentence_counts, verdict)

#: Five sentences with different (correct, predicted, gold) counts.
SMALL = np.array([[3, 4, 5], [0, 2, 1], [2, 2, 2], [1, 3, 4], [0, 0, 2]])


def _exact_distribution(counts: np.ndarray) -> np.ndarray:
    """F1 (percent) of every one of the n^n equally likely resamples."""
    n = len(counts)
    out = []
    for idx in itertools.product(range(n), repeat=n):
        c, p, g = counts[list(idx)].sum(axis=0)
        out.append(100 * prf(int(c), int(p), int(g))["f1"])
    return np.array(out)


def test_bootstrap_matches_the_exact_bootstrap_distribution():
    exact = _exact_distribution(SMALL)
    assert len(exact) == 5 ** 5
    est = bootstrap_f1(SMALL, n_resamples=20000, seed=1)
    c, p, g = SMALL.sum(axis=0)
    assert est.value == pytest.approx(100 * prf(int(c), int(p), int(g))["f1"])
    # the sampled percentiles fall between the exact 2%/3% (and 97%/98%) quantiles
    lo2, lo3, hi97, hi98 = np.quantile(exact, [0.02, 0.03, 0.97, 0.98])
    assert lo2 - 1e-9 <= est.low <= lo3 + 1e-9
    assert hi97 - 1e-9 <= est.high <= hi98 + 1e-9
    exact_low, exact_high = np.quantile(exact, [0.025, 0.975])
    assert est.low == pytest.approx(exact_low, abs=1.5)
    assert est.high == pytest.approx(exact_high, abs=1.5)
    assert est.low < est.value < est.high


def test_bootstrap_mean_matches_the_exact_distribution_of_independent_sets():
    first, second = SMALL[:3], np.array([[1, 1, 1], [0, 3, 2], [4, 6, 5], [2, 2, 4]])
    exact = (_exact_distribution(first)[:, None] + _exact_distribution(second)[None, :]).ravel() / 2
    est = bootstrap_mean([first, second], n_resamples=20000, seed=5)
    assert est.value == pytest.approx((f1_from_counts(first) + f1_from_counts(second)) / 2)
    lo2, lo3, hi97, hi98 = np.quantile(exact, [0.02, 0.03, 0.97, 0.98])
    assert lo2 - 1e-9 <= est.low <= lo3 + 1e-9
    assert hi97 - 1e-9 <= est.high <= hi98 + 1e-9


def test_identical_sentences_give_a_zero_width_interval():
    counts = np.tile([[2, 3, 4]], (50, 1))
    est = bootstrap_f1(counts, n_resamples=500)
    assert est.value == pytest.approx(100 * 2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))
    assert est.low == est.high == pytest.approx(est.value)
    assert est.half_width == pytest.approx(0)


def test_estimate_formatting():
    est = Estimate(45.23, 42.1, 48.3)
    assert str(est) == "45.2 ± 3.1"
    assert est.half_width == pytest.approx(3.1)
    assert est.as_dict() == {"value": 45.23, "low": 42.1, "high": 48.3}


def test_a_system_against_itself_is_exactly_zero():
    sets = [SMALL, np.tile([[1, 2, 3]], (7, 1)), np.array([[0, 1, 0], [5, 5, 9]])]
    diff = paired_difference(sets, [s.copy() for s in sets], n_resamples=300, seed=3)
    assert diff == Estimate(0.0, 0.0, 0.0)
    assert verdict(diff) == "not resolved at this size"


def test_paired_difference_shares_indices():
    # b is a with one extra correct answer on every sentence: paired, every replicate is
    # strictly better; unpaired resampling of such noisy sets would overlap zero
    rng = np.random.default_rng(0)
    gold = rng.integers(1, 6, size=200)
    a = np.stack([rng.binomial(gold, 0.3), gold, gold], axis=1)
    b = a + np.array([1, 0, 0])
    b[:, 0] = np.minimum(b[:, 0], gold)
    diff = paired_difference([b], [a], n_resamples=1000)
    assert diff.value == pytest.approx(f1_from_counts(b) - f1_from_counts(a))
    assert diff.low > 0 and verdict(diff) == "supported"
    assert verdict(paired_difference([a], [b], n_resamples=1000)) == "contradicted"
    with pytest.raises(ValueError, match="same sentences"):
        paired_difference([a], [b[:-1]])
    with pytest.raises(ValueError, match="as many sets"):
        paired_difference([a, a], [b])


def test_verdict_thresholds():
    assert verdict(Estimate(2.0, 0.5, 3.5)) == "supported"
    assert verdict(Estimate(2.0, -0.5, 3.5)) == "not resolved at this size"
    assert verdict(Estimate(2.0, 0.0, 3.5)) == "not resolved at this size"
    assert verdict(Estimate(-2.0, -3.5, -0.5)) == "contradicted"


def test_verdict_through_data_goes_unresolved_when_the_sample_shrinks():
    # per sentence b beats a twice, loses once, ties once: 75 against 50 F1
    good = np.array([[1, 1, 1], [1, 1, 1], [0, 1, 1], [1, 1, 1]])
    poor = np.array([[0, 1, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]])
    big = paired_difference([np.tile(good, (50, 1))], [np.tile(poor, (50, 1))])
    small = paired_difference([good], [poor])
    assert big.value == pytest.approx(25, abs=1e-6) and small.value == pytest.approx(25, abs=1e-6)
    assert verdict(big) == "supported"
    assert small.low < 0 < small.high and verdict(small) == "not resolved at this size"
    assert verdict(paired_difference([np.tile(poor, (50, 1))], [np.tile(good, (50, 1))])) == "contradicted"


def test_bootstrap_mean_value_reproducibility_and_independent_sets():
    sets = [SMALL, np.array([[1, 1, 1], [0, 3, 2], [4, 6, 5]])]
    est = bootstrap_mean(sets, n_resamples=2000, seed=7)
    assert est.value == pytest.approx(np.mean([f1_from_counts(s) for s in sets]))
    assert est == bootstrap_mean(sets, n_resamples=2000, seed=7)
    assert est != bootstrap_mean(sets, n_resamples=2000, seed=8)
    assert est.low < est.value < est.high
    # one set alone is bootstrap_f1
    assert bootstrap_mean([SMALL], 500, 2) == bootstrap_f1(SMALL, 500, 2)


def test_empty_and_malformed_input():
    with pytest.raises(ValueError, match="empty"):
        bootstrap_f1(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        bootstrap_mean([])
    with pytest.raises(ValueError, match="empty"):
        f1_from_counts(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="shape"):
        bootstrap_f1(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="correct <= predicted"):
        bootstrap_f1(np.array([[2, 1, 3]]))
    with pytest.raises(ValueError, match="parallel"):
        sentence_counts(["s"], ["[]"], [])


def test_sentence_counts_match_the_official_score():
    sentences = ["s1", "s1", "s2", "s3", "s2", "s1"]
    preds = ['["Paris", "London"]', "ASSISTANT: []", 'ASSISTANT: ["The Beatles"]', 'no list',
             '["x"]\n', 'USER: q ASSISTANT: ["Berlin", "berlin"]']
    golds = ['["paris"]', '["Obama"]', '["beatles"]', '["y"]', '[]', '["Berlin"]']
    counts = sentence_counts(sentences, preds, golds)
    assert counts.shape == (3, 3) and counts.dtype.kind == "i"
    s = score(preds, golds)
    assert counts.sum(axis=0).tolist() == [s["n_correct"], s["n_pred"], s["n_gold"]]
    assert counts.tolist() == [[2, 3, 3], [1, 2, 1], [0, 0, 1]]  # order of first appearance
    assert f1_from_counts(counts) == pytest.approx(100 * s["f1"])
    lenient = sentence_counts(sentences, preds, golds, parser="lenient")
    s = score(preds, golds, parser="lenient")
    assert lenient.sum(axis=0).tolist() == [s["n_correct"], s["n_pred"], s["n_gold"]]


def test_prf_interval():
    out = prf_interval(SMALL, n_resamples=1000)
    assert set(out) == {"precision", "recall", "f1"}
    assert out["precision"].value == pytest.approx(100 * 6 / 11)
    assert out["recall"].value == pytest.approx(100 * 6 / 14)
    assert out["f1"] == bootstrap_f1(SMALL, 1000)
    for est in out.values():
        assert est.low <= est.value <= est.high


def test_a_thousand_resamples_of_a_thousand_sentences_is_fast():
    rng = np.random.default_rng(0)
    pred, gold = rng.integers(0, 5, size=1000), rng.integers(0, 5, size=1000)
    counts = np.stack([rng.integers(0, np.minimum(pred, gold) + 1), pred, gold], axis=1)
    start = time.perf_counter()
    bootstrap_f1(counts, n_resamples=1000)
    paired_difference([counts], [counts[::-1].copy()], n_resamples=1000)
    assert time.perf_counter() - start < 1.0
