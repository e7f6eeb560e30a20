"""The student's empty-answer probability (unerlib.emptiness): the AUC and its interval on
hand-made scores, and the batched forward on the tiny random model and a scripted one."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest_models import *  # noqa: F401,F403
from unerlib.emptiness import EmptyScores, auc, empty_auc, empty_scores, empty_summary
from unerlib.inference import Question


def test_auc_on_known_rankings():
    gold = np.array([True, True, False, False])
    assert auc(np.array([4.0, 3.0, 2.0, 1.0]), gold) == 1.0
    assert auc(np.array([1.0, 2.0, 3.0, 4.0]), gold) == 0.0
    assert auc(np.zeros(4), gold) == 0.5  # ties count half
    assert auc(np.array([4.0, 1.0, 2.0, 3.0]), gold) == 0.5
    assert math.isnan(auc(np.ones(3), np.array([True, True, True])))


def test_the_interval_resamples_sentences_and_holds_the_value():
    rng = np.random.default_rng(1)
    gold = rng.random(300) < 0.3
    scores = EmptyScores(gold * 1.0 + rng.normal(0, 1, 300), gold, np.repeat(np.arange(50), 6))
    est = empty_auc(scores, n_resamples=200)
    assert 0.6 < est.value < 0.9 and est.low < est.value < est.high
    useless = EmptyScores(rng.normal(0, 1, 300), gold, np.repeat(np.arange(50), 6))
    assert empty_auc(useless, n_resamples=200).low < 0.5 < empty_auc(useless, n_resamples=200).high


def test_summary_row():
    scores = EmptyScores(np.log(np.array([0.9, 0.6, 0.5, 0.1])), np.array([True, True, False, False]),
                         np.array([0, 0, 1, 1]))
    row = empty_summary(scores, n_resamples=50)
    assert row["AUC"] == 1.0 and row["questions"] == 4
    assert row["P(empty) | gold empty"] == 75.0 and row["P(empty) | gold names one"] == 30.0
    assert row["near one half %"] == 50.0


def _questions():
    passages = ["Paris is in France .", "Alan Turing was born in London in 1912 ."]
    return [Question(f"{i}-{t}", p, t, json.dumps(["Paris"] if t == "city" and i == 0 else []))
            for i, p in enumerate(passages) for t in ("city", "person", "year")]


def test_batched_rows_score_as_single_rows(tiny_student):
    """Left padding with shifted positions gives each question the score it has alone."""
    qs = _questions()
    alone = empty_scores(tiny_student, qs, batch_rows=1, progress=False)
    batched = empty_scores(tiny_student, qs, batch_rows=6, progress=False)
    np.testing.assert_allclose(batched.log_prob, alone.log_prob, atol=1e-4)
    assert batched.gold_empty.tolist() == [False, True, True, True, True, True]
    assert batched.sentence.tolist() == [0, 0, 0, 1, 1, 1]


def test_a_student_that_answers_empty_scores_high(student_tokenizer):
    qs = _questions()
    empty = empty_scores(scripted_student(student_tokenizer, " []"), qs, progress=False)  # noqa: F405
    listing = empty_scores(scripted_student(student_tokenizer, ' ["Paris"]'), qs, progress=False)  # noqa: F405
    # the scripted token has logit 10 over a background below 1 across the whole vocabulary
    assert (empty.log_prob > listing.log_prob + math.log(1000)).all()
    assert auc(empty.log_prob, empty.gold_empty) == 0.5  # the same score whatever the type


def test_questions_without_gold_are_refused(tiny_student):
    with pytest.raises(ValueError, match="gold"):
        empty_scores(tiny_student, [Question("0", "Paris .", "city")], progress=False)


def test_the_sentences_name_the_baseline_and_the_range():
    import pandas as pd

    from unerlib.emptiness import empty_sentences

    rows = [{"config": "base", "AUC": 0.45, "AUC low": 0.41, "AUC high": 0.50, "P(empty) | gold empty": 15.0,
             "P(empty) | gold names one": 16.0, "near one half %": 23.8},
            {"config": "better", "AUC": 0.86, "AUC low": 0.83, "AUC high": 0.89, "P(empty) | gold empty": 70.0,
             "P(empty) | gold names one": 35.8, "near one half %": 59.8},
            {"config": "unread", "AUC": None, "AUC low": None, "AUC high": None, "P(empty) | gold empty": 1.0,
             "P(empty) | gold names one": None, "near one half %": 0.0}]
    text = empty_sentences(pd.DataFrame(rows))
    assert "0.45 [0.41, 0.50] (not resolved from chance)" in text and "from 0.45 (`base`) to 0.86 (`better`)" in text
    assert "cannot be read" in empty_sentences(pd.DataFrame(rows[2:]))
