"""The negative-sampling ablation judged from paired bootstrap intervals (unerlib.ablation),
on fake evaluations whose per-sentence counts are written by hand: no model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from unerlib.ablation import ablation_table, ablation_verdict, best_strategy, claims, seed_spread, strategy_scores
from unerlib.registry import ZERO_SHOT
from unerlib.stats import f1_from_counts


def _runs(tmp_path, correct: dict[str, int], sentences: int, seeds=(0,)) -> pd.DataFrame:
    """Per strategy and seed, every set has ``sentences`` sentences of 10 gold and 10
    predicted entities; sentence i gets ``correct[strategy]`` right, give or take one (a
    pattern shared by all strategies, so the differences are paired)."""
    rows = []
    for strategy, c in correct.items():
        for seed in seeds:
            for name in ZERO_SHOT:
                folder = tmp_path / f"{strategy}-{seed}-{name}"
                folder.mkdir()
                counts = [[max(0, min(10, c + (i % 3) - 1)), 10, 10] for i in range(sentences)]
                (folder / "metrics.json").write_text(json.dumps({"sentence_counts": counts,
                                                                 "span_sentence_counts": counts}))
                rows.append({"dataset": name, "f1": f1_from_counts(np.array(counts)), "strategy": strategy,
                             "seed": seed, "predictions": str(folder / "predictions.jsonl")})
    return pd.DataFrame(rows)


def test_a_clear_gain_on_many_sentences_is_supported(tmp_path):
    runs = _runs(tmp_path, {"none": 3, "uniform": 5, "frequency": 7}, sentences=60)
    table = claims(runs).set_index("claim")
    assert list(table["verdict"]) == ["supported"] * 3
    assert table.loc["none < frequency", "difference"] == pytest.approx(40.0, abs=1)
    assert table.loc["none < frequency", "low"] > 0
    assert table.loc["none < frequency", "paper difference"] == pytest.approx(21.9)
    text = ablation_verdict(runs)
    assert "**supported**" in text and "as in the paper" not in text.lower()
    assert best_strategy(runs) == "frequency"


def test_the_verdict_turns_to_not_resolved_when_the_interval_crosses_zero(tmp_path):
    # a small gain (5 against 4.5 correct on average is impossible per sentence, so 1 of 2
    # sentences differs) on two sentences per set: the interval crosses 0
    runs = _runs(tmp_path, {"none": 5, "frequency": 5}, sentences=2)
    runs.loc[runs.strategy == "frequency", "f1"] += 0  # same counts: a zero difference
    folder = tmp_path / "frequency-0-mit_movie"
    (folder / "metrics.json").write_text(json.dumps({"sentence_counts": [[9, 10, 10], [1, 10, 10]],
                                                     "span_sentence_counts": [[9, 10, 10], [1, 10, 10]]}))
    table = claims(runs).set_index("claim")
    row = table.loc["none < frequency"]
    assert row["low"] < 0 < row["high"]
    assert row["verdict"] == "not resolved at this size"
    assert "not resolved at this size" in ablation_verdict(runs)


def test_a_loss_is_contradicted(tmp_path):
    runs = _runs(tmp_path, {"none": 7, "frequency": 3}, sentences=60)
    assert claims(runs).set_index("claim").loc["none < frequency", "verdict"] == "contradicted"
    assert "**contradicted**" in ablation_verdict(runs)


def test_tables_and_seed_spread(tmp_path):
    runs = _runs(tmp_path, {"none": 3, "frequency": 7}, sentences=21, seeds=(0, 1, 2))
    table = ablation_table(runs)
    assert table.loc[("ours", "frequency"), "Avg"] == pytest.approx(70.0, abs=0.1)
    assert table.loc[("paper (UniNER-7B)", "none"), "Movie"] == 19.1
    scores = strategy_scores(runs)
    assert scores.loc["frequency", "seeds"] == 3 and "±" in scores.loc["frequency", "Movie"]
    assert scores.loc["none", "avg_low"] <= scores.loc["none", "avg"] <= scores.loc["none", "avg_high"]
    spread = seed_spread(runs)
    assert spread.loc["none", "seeds"] == 3 and spread.loc["none", "std"] == pytest.approx(0.0)
    assert "uniform" not in set(claims(runs)["claim"].str.split(" < ").sum())
