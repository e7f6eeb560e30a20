"""The span metric (unerlib.metrics.span_score): exact word spans and type, every occurrence
counted. Expected counts are worked out by hand in the comments."""

from __future__ import annotations

import pytest

from unerlib.metrics import answer_spans, span_score, word_spans

P1 = "Obama met Merkel in Berlin. Obama left."
#     0    5    10    16 19 20    26 28   33
P2 = "rainbow and rain."


def test_word_spans_every_occurrence_at_word_boundaries():
    assert word_spans(P1, "Obama") == [(0, 5), (28, 33)]
    assert word_spans(P2, "rain") == [(12, 16)]          # not inside "rainbow"
    assert word_spans(P2, "Rain") == []                  # case-sensitive
    assert word_spans("C++ and C++11", "C++") == [(0, 3)]  # "C++11": a digit touches the end
    assert word_spans("a a a", "a a") == [(0, 3), (2, 5)]  # overlapping occurrences count
    assert word_spans(P1, "") == [] and word_spans(P1, "  ") == []


def test_answer_spans_reads_predictions_as_the_official_parser():
    spans, missing = answer_spans(P1, 'ASSISTANT: ["Obama", "Angela"] and ["Merkel"]')
    assert spans == {(0, 5), (28, 33)} and missing == {"Angela"}  # nothing after the first "]"
    assert answer_spans(P1, 'Sure: ["Obama"]') == (set(), set())   # text before the list: empty
    assert answer_spans(P1, '["Obama", 3]') == (set(), set())      # a number: the official parser reads []
    assert answer_spans(P1, '["Obama",\n"Merkel"]') == (set(), set())  # a list over two lines reads []
    # a gold answer is a JSON list, "]" inside an entity included
    assert answer_spans("see [1] here", '["[1]"]', gold=True) == ({(4, 7)}, set())


def test_span_score_by_hand():
    passages = [P1, P1, P2, P1]
    types = ["person", "location", "weather", "organization"]
    preds = [
        '["Obama", "Berlin"]',   # Obama x2 (0-5, 28-33) + Berlin 20-26: 3 predicted, 2 correct
        '["berlin", "Merkel"]',  # "berlin" found nowhere (1 FP); Merkel as a location: wrong type (1 FP)
        '["rain", "rain"]',      # one span 12-16, correct
        'No entities.',          # unparseable: nothing predicted
    ]
    golds = ['["Obama", "Merkel"]',  # Obama x2 + Merkel 10-16: 3 gold
             '["Berlin"]',           # 1 gold
             '["rain"]',             # 1 gold
             '[]']
    result = span_score(passages, types, preds, golds)
    assert (result["n_correct"], result["n_pred"], result["n_gold"], result["n"]) == (3, 6, 5, 4)
    assert result["precision"] == pytest.approx(3 / 6)
    assert result["recall"] == pytest.approx(3 / 5)
    assert result["f1"] == pytest.approx(2 * 0.5 * 0.6 / 1.1)


def test_span_score_counts_occurrences_not_strings():
    # the official metric sees one string "obama" on each side (1/1 correct); spans see two
    result = span_score([P1], ["person"], ['["Obama"]'], ['["Obama"]'])
    assert (result["n_correct"], result["n_pred"], result["n_gold"]) == (2, 2, 2)
    # a repeated (passage, type) question counts once; a missing gold string is a miss
    result = span_score([P1, P1], ["person", "person"], ['["Obama"]', '["Obama"]'], ['["Obama", "Angela"]'] * 2)
    assert (result["n_correct"], result["n_pred"], result["n_gold"]) == (2, 2, 3)
    # the same missing string on both sides is not a match
    result = span_score([P1], ["person"], ['["Angela"]'], ['["Angela"]'])
    assert (result["n_correct"], result["n_pred"], result["n_gold"]) == (0, 1, 1)


def test_span_score_empty_and_bad_input():
    assert span_score([], [], [], [])["f1"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="parallel"):
        span_score([P1], ["person"], [], ['[]'])
