"""The error taxonomy of notebook 10 (unerlib.errors): one hand-made case per kind, the
precedence between kinds, agreement with the official metric's counts, parse failures and
cap hits read from a crafted predictions file, per-type bootstrap intervals, the figures.
Small fixtures, no model."""

from __future__ import annotations

import json
import random

import matplotlib
import pandas as pd
import pytest

from unerlib.data import DataError
from unerlib.error_report import (answer_rates, answer_rates_summary, examples_or_note, health_summary, health_table,
                                  kinds_summary, type_table, types_summary, with_total)
from unerlib.errors import (ERROR_KINDS, KINDS, analyse_sets, answer_health, classify_answer, classify_errors,
                            error_counts, load_cap_hits, load_evaluation, parse_failure, top_examples,
                            type_scores_with_intervals, weakest_types)
from unerlib.inference import Question
from unerlib.metrics import load_predictions, opens_with_list, score

matplotlib.use("Agg")

PASSAGE = "Barack Obama visited New York City with Michelle ."
PERSON = '["Barack Obama", "Michelle"]'
LOCATION = '["New York City"]'
OTHERS = {"person": PERSON, "location": LOCATION}


def _kinds(raw, gold=PERSON, typ="person", passage=PASSAGE, others=OTHERS):
    return {entity: kind for entity, kind, _d in classify_answer(passage, typ, raw, gold, others)}


# --------------------------------------------------------------------------- one case per kind


def test_every_kind_on_one_answer():
    rows = classify_answer(PASSAGE, "person", json.dumps(["Barack Obama", "Obama", "New York City", "Joe Biden",
                                                          "visited"]), PERSON, OTHERS)
    assert rows == [("Barack Obama", "correct", ""),
                    ("Obama", "wrong boundary", "Barack Obama"),
                    ("New York City", "wrong type", "location"),
                    ("Joe Biden", "hallucinated", ""),
                    ("visited", "spurious", ""),
                    ("Michelle", "missed", "")]
    assert {k for _e, k, _d in rows} == set(KINDS)


def test_correct_is_compared_after_official_normalisation():
    assert _kinds('["the Barack Obama!", "MICHELLE"]') == {"the Barack Obama!": "correct", "MICHELLE": "correct"}


def test_substring_checks_ignore_case():
    assert _kinds('["VISITED", "Hillary"]') == {"VISITED": "spurious", "Hillary": "hallucinated", "Barack Obama": "missed",
                                                 "Michelle": "missed"}


def test_boundary_extends_past_the_gold_mention():
    assert _kinds('["Obama visited"]')["Obama visited"] == "wrong boundary"  # in the text, overlapping
    assert _kinds('["with Michelle"]')["with Michelle"] == "wrong boundary"


def test_missed_is_every_gold_entity_not_predicted_once():
    assert _kinds("[]") == {"Barack Obama": "missed", "Michelle": "missed"}
    assert _kinds('["Michelle", "michelle"]') == {"Michelle": "correct", "Barack Obama": "missed"}


# --------------------------------------------------------------------------- precedence


def test_correct_beats_every_other_kind():
    # not a substring of the passage ("!" and article), yet equal after normalisation
    assert _kinds('["the Barack Obama!"]')["the Barack Obama!"] == "correct"
    # also a gold entity of another type: still correct for this one
    others = {"person": PERSON, "location": '["Barack Obama"]'}
    assert _kinds('["Barack Obama"]', others=others)["Barack Obama"] == "correct"


def test_wrong_type_beats_wrong_boundary():
    others = {"person": PERSON, "location": '["Obama"]'}  # overlaps the person "Barack Obama" too
    assert _kinds('["Obama"]', others=others)["Obama"] == "wrong type"


def test_wrong_boundary_beats_hallucinated():
    # not in the passage, but holds the gold mention as whole words
    assert _kinds('["Barack Obama Jr"]')["Barack Obama Jr"] == "wrong boundary"
    assert _kinds('["Barack Obamas"]')["Barack Obamas"] == "hallucinated"  # not whole words
    # a gold mention not verbatim in the passage: whole-word containment decides too
    assert _kinds('["Michelle"]', gold='["Michelle Obama"]')["Michelle"] == "wrong boundary"


def test_hallucinated_beats_spurious_for_blank_strings():
    assert _kinds('["", "  "]') == {"": "hallucinated", "Barack Obama": "missed", "Michelle": "missed"}


def test_overlap_with_another_types_mention_is_spurious_not_boundary():
    assert _kinds('["York"]')["York"] == "spurious"


# --------------------------------------------------------------------------- the official counts


def _question_set(n=40, seed=1):
    rng = random.Random(seed)
    words = ["Alice", "Bob", "Paris", "Rome", "IBM", "the", "met", "in", "Acme Corp", "Carol"]
    questions, raws = [], []
    for i in range(n):
        passage = " ".join(rng.choice(words) for _ in range(8)) + f" s{i // 2}"
        for typ in ("person", "location"):
            gold = sorted({w for w in rng.sample(words, 3) if w in passage})
            questions.append(Question(f"q{i}-{typ}", passage, typ, json.dumps(gold)))
            pred = rng.sample(words + ["Zed", "Paris Rome", "alice"], rng.randint(0, 4))
            raws.append(rng.choice([json.dumps(pred), json.dumps(pred)[:-1], "I think " + json.dumps(pred),
                                    json.dumps(pred)]))
    return questions, raws


def test_rows_agree_with_the_official_metric():
    questions, raws = _question_set()
    table = classify_errors(questions, raws, dataset="toy")
    official = score(raws, [q.gold for q in questions])
    counts = table["kind"].value_counts()
    assert counts.get("correct", 0) == official["n_correct"]
    assert len(table[table["kind"] != "missed"]) == official["n_pred"]
    assert counts.get("correct", 0) + counts.get("missed", 0) == official["n_gold"]
    assert list(table.columns) == ["dataset", "id", "passage", "type", "entity", "kind", "detail"]
    assert set(table["kind"]) <= set(KINDS)


def test_error_counts_and_top_examples():
    questions, raws = _question_set()
    table = pd.concat([classify_errors(questions, raws, dataset="b"),
                       classify_errors(questions[:10], raws[:10], dataset="a")], ignore_index=True)
    counts = error_counts(table)
    assert list(counts.index) == ["b", "a"]  # order of appearance
    assert list(counts.columns) == list(KINDS) + ["errors"]
    assert (counts["errors"] == counts[list(ERROR_KINDS)].sum(axis=1)).all()
    assert counts.to_numpy().sum() - counts["errors"].sum() == len(table)
    for kind in KINDS:
        top = top_examples(table, kind, n=5)
        assert len(top) <= 5 and list(top.columns) == ["dataset", "type", "entity", "count", "detail", "sentence"]
        assert list(top["count"]) == sorted(top["count"], reverse=True)
    top = top_examples(table, "missed", n=3)
    assert top["count"].iloc[0] == table[table["kind"] == "missed"].assign(
        k=lambda d: d["entity"].str.lower()).groupby(["dataset", "type", "k"]).size().max()
    with pytest.raises(ValueError, match="unknown kind"):
        top_examples(table, "typo")
    text = kinds_summary(counts)
    total = counts["errors"].sum()
    assert f"Its {total} errors" in text and f"{counts['correct'].sum()} gold entities correctly" in text
    assert kinds_summary(counts.assign(**{k: 0 for k in ERROR_KINDS})).startswith("Over 2 sets the student made no error")
    assert kinds_summary(counts.iloc[:1]).startswith("Over 1 set the student")
    empty = error_counts(classify_errors([], []))
    assert empty.empty and list(empty.columns) == list(KINDS) + ["errors"]


def test_top_examples_cut_the_sentence_around_the_entity():
    long = "x " * 200 + "Obama spoke ." + " y" * 200
    q = Question("1", long, "person", '["Obama"]')
    top = top_examples(classify_errors([q], ["[]"], "d"), "missed", width=40)
    assert "Obama" in top["sentence"][0] and len(top["sentence"][0]) <= 44
    assert top["sentence"][0].startswith("…") and top["sentence"][0].endswith("…")


# --------------------------------------------------------------------------- answers and files


PREDICTION_LINES = [
    {"id": "a", "type": "person", "prediction": '["Barack Obama"]'},
    {"id": "b", "type": "person", "prediction": "Barack Obama is a person", "cap_hit": False},
    {"id": "c", "type": "person", "prediction": '["Barack Obama", "Mich', "cap_hit": True},
    {"id": "d", "type": "person", "prediction": '["Barack Obama", 5]'},
    {"id": "e", "type": "person", "prediction": "[Barack Obama]", "cap_hit": True},
    {"id": "f", "type": "person", "prediction": "[]", "cap_hit": False},
    {"id": "g", "type": "person", "prediction": 'USER: x ASSISTANT: ["Michelle"]'},
    {"id": "h", "type": "person", "prediction": '["Barack Obama"\n, "Michelle"]', "cap_hit": True},
    {"id": "i", "type": "person", "prediction": '["Barack"', "stop": "cap"},
    {"id": "j", "type": "person", "prediction": '["Barack"]', "stop": "end"},
]


def _write(path, lines):
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_parse_failures_and_cap_hits_from_a_predictions_file(tmp_path):
    path = _write(tmp_path / "predictions.jsonl", PREDICTION_LINES)
    raws = list(load_predictions(path).values())
    caps = load_cap_hits(path)
    assert caps == {"b": False, "c": True, "e": True, "f": False, "h": True, "i": True, "j": False}
    assert [parse_failure(r) for r in raws] == [None, "no list", "no list", "not a list of strings", "invalid JSON",
                                                None, None, "no list", "no list", None]
    assert [parse_failure(r) is None for r in raws] == [opens_with_list(r) for r in raws]
    flags = [caps.get(x["id"]) for x in PREDICTION_LINES]
    health = answer_health(raws, flags)
    assert health == {"answers": 10, "empty": 1, "parse_failures": 6, "no_list": 4, "invalid_json": 1,
                      "not_a_list_of_strings": 1, "cap_hits": 4, "cap_hit_failures": 4, "cap_hits_recorded": 7}
    unrecorded = answer_health(raws)  # not recorded: zero
    assert (unrecorded["cap_hits"], unrecorded["cap_hits_recorded"]) == (0, 0)
    text = health_summary(pd.DataFrame([{"dataset": "toy", **health}]).set_index("dataset"), max_new_tokens=16)
    assert "6 (60.0%) could not be read" in text and "4 did not open" in text and "16-token cap" in text
    assert "4 answers (57.1% of the 7 with the flag recorded)" in text
    text = health_summary(pd.DataFrame([{"dataset": "toy", **unrecorded}]).set_index("dataset"))
    assert "do not record" in text
    with pytest.raises(ValueError):
        answer_health(raws, [True])


def test_a_parse_failure_predicts_nothing_and_misses_the_gold():
    assert _kinds('["Barack Obama", "Mich') == {"Barack Obama": "missed", "Michelle": "missed"}
    assert _kinds('["Barack Obama", 5]') == {"Barack Obama": "missed", "Michelle": "missed"}


def test_load_evaluation_reads_questions_answers_and_cap_hits(fixtures, tmp_path):
    gold = fixtures / "uniner.json"
    path = _write(tmp_path / "p.jsonl", [
        {"id": "x_0", "type": "location", "prediction": '["Paris", "France", "Paris is"]', "cap_hit": True},
        {"id": "x_1", "type": "person", "prediction": '["Paris"]'},
        {"id": "x_2", "type": "person", "prediction": '["Obama"'},
        {"id": "x_3", "type": "organization", "prediction": '["Obama"]'}])
    questions, raws, caps = load_evaluation(str(gold), path)
    assert [q.id for q in questions] == ["x_0", "x_1", "x_2", "x_3"]
    assert raws[2] == '["Obama"' and caps == [True, None, None, None]
    table = classify_errors(questions, raws, "toy")
    assert list(table["kind"]) == ["correct", "correct", "wrong boundary", "wrong type", "missed", "missed",
                                   "wrong type", "missed"]
    result = analyse_sets(pd.DataFrame({"dataset": [str(gold)], "predictions": [str(path)]}), n_resamples=50)
    assert result["health"].loc[str(gold), "parse_failures"] == 1
    assert result["health"].loc[str(gold), "cap_hits"] == 1
    assert result["counts"].loc[str(gold), "missed"] == 3
    assert set(result["types"]["type"]) == {"location", "person", "organization"}
    _write(tmp_path / "short.jsonl", [{"id": "x_0", "type": "location", "prediction": "[]"}])
    with pytest.raises(DataError, match="has no prediction"):
        load_evaluation(str(gold), tmp_path / "short.jsonl")


# --------------------------------------------------------------------------- per-type intervals


def test_type_scores_intervals_contain_the_point_value():
    questions, raws = _question_set(60)
    types = type_scores_with_intervals(questions, raws, n_resamples=200, seed=3)
    assert list(types["type"]) == ["person", "location"]
    for _i, row in types.iterrows():
        sub = [(q, r) for q, r in zip(questions, raws) if q.type == row["type"]]
        official = score([r for _q, r in sub], [q.gold for q, _r in sub])
        assert row["f1"] == pytest.approx(100 * official["f1"])
        assert (row["correct"], row["predicted"], row["gold"]) == \
            (official["n_correct"], official["n_pred"], official["n_gold"])
        assert row["questions"] == len(sub) and row["sentences"] == len({q.passage for q, _r in sub})
        for name in ("precision", "recall", "f1"):
            assert row[f"{name}_low"] <= row[name] <= row[f"{name}_high"]
    again = type_scores_with_intervals(questions, raws, n_resamples=200, seed=3)
    pd.testing.assert_frame_equal(types, again)  # seeded
    text = types_summary(types.assign(dataset="toy"))
    assert "2 of 2 (set, type) pairs" in text and "median width of the 95% intervals" in text
    weak = weakest_types(types.assign(dataset="toy"), n=1)
    assert len(weak) == 1 and weak["f1"][0] == types["f1"].min()


def test_weakest_types_skip_types_without_gold():
    types = pd.DataFrame({"dataset": ["d"] * 3, "type": ["a", "b", "c"], "gold": [0, 3, 5],
                          "f1": [0.0, 10.0, 5.0], "f1_low": [0.0, 0.0, 0.0], "f1_high": [0.0, 20.0, 9.0]})
    assert list(weakest_types(types, n=5)["type"]) == ["c", "b"]


# --------------------------------------------------------------------------- figures


def test_figures_are_titled_and_labelled():
    from unerlib.plots_errors import plot_error_kinds, plot_type_intervals

    questions, raws = _question_set()
    table = pd.concat([classify_errors(questions, raws, "b"), classify_errors(questions[:4], ["[]"] * 4, "a")])
    fig = plot_error_kinds(error_counts(table), title="kinds")
    ax = fig.axes[0]
    assert ax.get_title() == "kinds" and ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(ERROR_KINDS)
    types = type_scores_with_intervals(questions, raws, n_resamples=20).assign(dataset="b")
    fig = plot_type_intervals(weakest_types(types), title="types")
    assert fig.axes[0].get_title() == "types" and fig.axes[0].get_xlabel()
    assert len(fig.axes[0].get_yticklabels()) == len(weakest_types(types))


# --------------------------------------------------------------------------- report tables


def test_report_tables(fixtures, tmp_path):
    gold = str(fixtures / "uniner.json")
    path = _write(tmp_path / "p.jsonl", [
        {"id": "x_0", "type": "location", "prediction": '["Paris"]', "cap_hit": False},
        {"id": "x_1", "type": "person", "prediction": "[]", "cap_hit": False},
        {"id": "x_2", "type": "person", "prediction": '["Obama"', "cap_hit": True},
        {"id": "x_3", "type": "organization", "prediction": '["Obama"]', "cap_hit": False}])
    result = analyse_sets(pd.DataFrame({"dataset": ["toy"], "predictions": [str(path)]}).assign(dataset=[gold]),
                          n_resamples=20)
    health = health_table(result["health"])
    assert list(health.index) == [gold, "all sets"] and health.loc["all sets", "parse failures"] == 1
    assert health.loc["all sets", "cap hits"] == 1 and "cap_hits_recorded" not in health
    counts = with_total(result["counts"])
    assert counts.loc["all sets", "missed"] == result["counts"]["missed"].sum()
    assert (counts.dtypes == "int64").all()
    table = type_table(result["types"])
    assert set(table["type"]) == {"location", "person", "organization"}  # person: gold; x_1 answered []
    assert list(table.columns)[-1] == "F1 95% interval" and table["F1 95% interval"][0].startswith("[")
    assert isinstance(examples_or_note(result["errors"], "missed"), pd.DataFrame)
    note = examples_or_note(result["errors"], "hallucinated")
    assert "No hallucinated entity" in note.data
    text = health_summary(result["health"], 12)
    assert "None of the 4 answers" not in text and "1 answer (25.0% of the 4" in text


def test_answer_rates_set_the_student_beside_gold():
    """Gold names an entity for 10% of one set's questions and the student (parse failures
    counted as empty, as scored) for 80%: the table and the paragraph say so and name the
    lowest F1."""
    evaluations = pd.DataFrame([
        {"dataset": "rare", "sentences": 10, "questions": 100, "gold_empty": 90, "empty": 15, "parse_failures": 5,
         "precision": 2.0, "recall": 40.0, "f1": 3.8, "f1_low": 1.0, "f1_high": 7.0},
        {"dataset": "dense", "sentences": 10, "questions": 50, "gold_empty": 10, "empty": 20, "parse_failures": 0,
         "precision": 60.0, "recall": 50.0, "f1": 54.5, "f1_low": 40.0, "f1_high": 66.0}])
    rates = answer_rates(evaluations)
    assert list(rates["gold names an entity %"]) == [10.0, 80.0]
    assert list(rates["student names one %"]) == [80.0, 60.0]
    assert rates.loc[0, "F1 95% interval"] == "[1.0, 7.0]"
    text = answer_rates_summary(rates)
    assert "On 1 of them the student names something more often than gold does" in text
    assert "lowest F1 is on rare (3.8, interval [1.0, 7.0])" in text and "for 10.0% of the questions" in text
    assert answer_rates_summary(rates.iloc[:0]) == "No sets to compare."
