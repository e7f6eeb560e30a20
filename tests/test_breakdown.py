"""The domain breakdown (notebook 05): which datasets, the grouping into the paper's nine
domains with missing ones kept, the weakest datasets and their per-type scores; the span
columns of evaluate_sets on a cached evaluation; the figures. Small fixtures, no model."""

from __future__ import annotations

import json
import math

import matplotlib
import pandas as pd
import numpy as np
import pytest

from unerlib.artifacts import artifact_dir, mark_done
from unerlib.data import DataError
from unerlib.experiments import (build_student, build_teacher_data, dataset_breakdown, domain_breakdown,
                                 domain_summary, evaluate_sets, select_datasets, type_breakdown,
                                 weakest_datasets, with_domains, zero_shot_sets)
from unerlib.registry import DOMAINS, REGISTRY, TEACHER_SOURCES, ZERO_SHOT, dataset_role

matplotlib.use("Agg")

RE3D_TEST = [("Carter", "B-Person"), ("thanked", "O"), ("Abadi", "B-Person"), (".", "O"), None,
             ("Carter", "B-Person"), ("left", "O"), ("Iraq", "B-Location"), (".", "O"), None]


def _write_conll(path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\n" if r is None else f"{r[0]}\t{r[1]}\n" for r in rows))


@pytest.fixture
def re3d_root(tmp_path):
    """A data folder holding only a two-sentence re3d test split."""
    root = tmp_path / "data"
    _write_conll(root / "raw/re3d/re3d-test.conll", RE3D_TEST)
    _write_conll(root / "raw/re3d/re3d-train.conll", RE3D_TEST)
    return root


def _scores() -> pd.DataFrame:
    rows = []
    for system, base in (("untuned", 0.0), ("tuned", 10.0)):
        for name, f1 in (("mit_movie", 30.0), ("crossner_ai", 20.0), ("genia", 5.0), ("cadec", 12.0)):
            rows.append({"dataset": name, "precision": 0.0, "recall": 0.0, "f1": base and f1,
                         "span_precision": 0.0, "span_recall": 0.0, "span_f1": (base and f1) / 2,
                         "questions": 10, "predictions": f"/nowhere/{system}/{name}/predictions.jsonl",
                         "system": system})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- which datasets


def test_zero_shot_sets_are_every_non_training_dataset_in_domain_order():
    names = zero_shot_sets("all")
    assert set(ZERO_SHOT) <= set(names)
    assert not set(names) & set(TEACHER_SOURCES)
    assert all(dataset_role(n) in ("zero-shot", "evaluation") for n in names)
    assert {n for n in REGISTRY if dataset_role(n) in ("zero-shot", "evaluation")} == set(names)
    ranks = [DOMAINS.index(REGISTRY[n].domain) for n in names]
    assert ranks == sorted(ranks)
    assert zero_shot_sets(" genia , cadec,genia ") == ["genia", "cadec"]
    assert zero_shot_sets(["wnut17"]) == ["wnut17"]


def test_select_datasets_errors_list_the_valid_names():
    with pytest.raises(DataError) as err:
        zero_shot_sets("genia,nope")
    assert "'nope'" in str(err.value) and "cadec" in str(err.value)
    with pytest.raises(DataError, match="teacher source"):
        zero_shot_sets("conll2003")
    with pytest.raises(DataError, match="no dataset"):
        select_datasets(" , ", ["a"], "a test")


# --------------------------------------------------------------------------- grouping


def test_domain_breakdown_keeps_every_domain():
    domains = domain_breakdown(_scores())
    assert list(domains["domain"].drop_duplicates()) == list(DOMAINS)
    assert len(domains) == 2 * len(DOMAINS)
    tuned = domains[domains["system"] == "tuned"].set_index("domain")
    assert tuned.loc["general", "f1"] == pytest.approx(30.0)
    assert tuned.loc["STEM", "f1"] == pytest.approx(20.0)
    assert tuned.loc["biomedical", "f1"] == pytest.approx(5.0)
    assert tuned.loc["clinical", "span_f1"] == pytest.approx(6.0)
    assert tuned.loc["clinical", "dataset names"] == "cadec"
    for missing in ("programming", "social media", "law", "finance", "transportation"):
        assert not tuned.loc[missing, "has data"] and tuned.loc[missing, "datasets"] == 0
        assert math.isnan(tuned.loc[missing, "f1"])


def test_domain_mean_is_over_datasets():
    scores = pd.DataFrame([{"dataset": "mit_movie", "f1": 10.0, "span_f1": 1.0, "system": "s"},
                           {"dataset": "crossner_music", "f1": 30.0, "span_f1": 3.0, "system": "s"}])
    domains = domain_breakdown(scores).set_index("domain")
    assert domains.loc["general", "f1"] == pytest.approx(20.0) and domains.loc["general", "datasets"] == 2


def test_domain_summary_and_dataset_breakdown_tables():
    summary = domain_summary(domain_breakdown(_scores()))
    assert list(summary["domain"]) == list(DOMAINS)
    assert {"f1 tuned", "f1 untuned", "span_f1 tuned"} <= set(summary.columns)
    row = summary.set_index("domain").loc["transportation"]
    assert row["datasets"] == 0 and math.isnan(row["f1 tuned"])
    per_dataset = dataset_breakdown(_scores())
    assert list(per_dataset["dataset"]) == ["mit_movie", "crossner_ai", "genia", "cadec"]
    assert per_dataset.set_index("dataset").loc["genia", "f1 tuned"] == pytest.approx(5.0)
    assert list(with_domains(_scores())["domain"][:4]) == ["general", "STEM", "biomedical", "clinical"]


def test_weakest_datasets():
    assert weakest_datasets(_scores(), "tuned", 2) == ["genia", "cadec"]
    assert weakest_datasets(_scores(), "untuned", 2) == ["cadec", "crossner_ai"]  # all 0: by name
    with pytest.raises(ValueError, match="systems"):
        weakest_datasets(_scores(), "nope")


def test_type_breakdown_reads_the_cached_metrics(tmp_path):
    scores = _scores()
    for name in ("genia", "cadec"):
        folder = tmp_path / name
        folder.mkdir()
        by_type = {"protein": {"n": 4, "n_gold": 3, "n_pred": 2, "precision": 0.5, "recall": 1 / 3, "f1": 0.4},
                   "cell": {"n": 4, "n_gold": 1, "n_pred": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}}
        (folder / "metrics.json").write_text(json.dumps({"by_type": by_type}))
        scores.loc[(scores["dataset"] == name) & (scores["system"] == "tuned"), "predictions"] = \
            str(folder / "predictions.jsonl")
    table = type_breakdown(scores, ["genia", "cadec"])
    assert list(table["dataset"]) == ["genia", "genia", "cadec", "cadec"]
    assert list(table["type"][:2]) == ["cell", "protein"]  # weakest type first
    assert table["f1"].iloc[1] == pytest.approx(40.0) and table["gold"].iloc[1] == 3


# --------------------------------------------------------------------------- evaluate_sets span columns


def test_evaluate_sets_scores_a_resumed_evaluation_with_intervals(tmp_path, re3d_root):
    """A run that died after answering every question left them in the partial file: the
    next run asks nothing (no model is loaded: "m" is no model) and scores both metrics."""
    from unerlib.evaluation import evaluation_params
    from unerlib.inference import load_questions

    folder = artifact_dir("evaluations", evaluation_params("m", None, "re3d", None, 8), tmp_path / "art")
    questions = load_questions("re3d", None, re3d_root)
    answers = {"person": '["Carter", "Abadi"]', "location": '["iraq"]'}  # iraq: wrong case
    with open(folder / "predictions.partial.jsonl", "w") as fh:
        for q in questions:
            fh.write(json.dumps({"id": q.id, "type": q.type, "prediction": answers.get(q.type, "[]")}) + "\n")
        fh.write('{"id": "half a line')  # the run died while writing
    table = evaluate_sets("m", None, sets=["re3d"], limit=None, max_new_tokens=8, progress=False,
                          root=tmp_path / "art", data_root=re3d_root)
    row = table.iloc[0]
    # gold: s1 person Carter, Abadi; s2 person Carter; s2 location Iraq -> 4
    # official (case folded): s1 person 2 of 2, s1 location "iraq" wrong, s2 person Carter right and
    # Abadi wrong, s2 location "iraq" right -> predicted 6, correct 4, gold 4
    assert row["precision"] == pytest.approx(200 / 3) and row["recall"] == pytest.approx(100.0)
    # span: "Abadi" found nowhere in s2 and "iraq" nowhere (case-sensitive) -> 6 predicted, 3 correct
    assert row["span_precision"] == pytest.approx(50.0)
    assert row["span_recall"] == pytest.approx(75.0)
    # both sentences count (2 correct, 3 predicted, 2 gold) officially: a zero-width interval;
    # their span counts differ (3/3/3 and 0/3/1): a wide one
    assert row["f1_low"] == pytest.approx(row["f1"]) and row["f1_high"] == pytest.approx(row["f1"])
    assert row["span_f1_low"] < row["span_f1"] < row["span_f1_high"]
    cached = json.loads((folder / "metrics.json").read_text())
    assert cached["span"]["n_correct"] == 3 and cached["span"]["n_pred"] == 6
    assert np.array(cached["span_sentence_counts"]).sum(axis=0).tolist() == [3, 6, 4]
    assert np.array(cached["sentence_counts"]).sum(axis=0).tolist() == [4, 6, 4]
    assert not (folder / "predictions.partial.jsonl").exists() and (folder / "done").is_file()


def test_reusing_notebook_03_never_trains(tmp_path):
    data = tmp_path / "teacher" / "data.json"
    data.parent.mkdir()
    data.write_text("[]")
    with pytest.raises(DataError, match="03_training"):
        build_student(data, root=tmp_path / "art", build=False, max_steps=1)
    with pytest.raises(DataError, match="03_training"):
        build_teacher_data(n_passages=3, root=tmp_path / "art", build=False)


# --------------------------------------------------------------------------- figures


def test_plot_domain_scores_marks_missing_domains():
    from unerlib.plots import plot_domain_scores

    fig = plot_domain_scores(domain_breakdown(_scores()))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(DOMAINS)
    assert sum(t.get_text() == "no data" for t in ax.texts) == 5
    assert ax.get_title() and ax.get_ylabel() and ax.get_xlabel()
