"""Results tables beside the paper's, the summary read back from metrics files, and the
provenance helpers (on small fake artifacts)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from unerlib.artifacts import artifact_dir, mark_done
from unerlib.data import DataError
from unerlib.registry import ZERO_SHOT
from unerlib.results import (beside_published, data_hashes,
                             evaluations_on_record, file_digest, paper_ablation, published_systems, run_times,
                             seven_set_row, zero_shot_summary)


def _scores(f1s: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"dataset": list(ZERO_SHOT), "f1": f1s, "precision": f1s, "recall": f1s})


def test_paper_ablation_averages_match_the_paper():
    table = paper_ablation()
    assert table.loc["none", "Avg"] == 31.5
    assert table.loc["uniform", "Avg"] == 47.7
    assert table.loc["frequency", "Avg"] == 53.4
    assert list(table.columns) == ["Movie", "Restaurant", "AI", "Literature", "Music", "Politics", "Science", "Avg"]


def test_seven_set_row_and_missing_sets():
    row = seven_set_row(_scores([10, 20, 30, 40, 50, 60, 70]))
    assert row["Movie"] == 10 and row["Science"] == 70 and row["Avg"] == 40
    with pytest.raises(DataError, match="crossner_science"):
        seven_set_row(_scores([1] * 7).iloc[:6])


def _reference(tmp_path):
    ref = tmp_path / "reference"
    ref.mkdir()
    (ref / "published_zero_shot.csv").write_text(
        "model,params,movie,restaurant,ai,literature,music,politics,science,avg,source\n"
        "Vicuna-7B,7B,6.0,5.3,12.8,16.1,17.0,20.5,13.0,13.0,paper\n")
    return tmp_path


def test_published_systems_and_our_row(tmp_path):
    root = _reference(tmp_path)
    table = beside_published(seven_set_row(_scores([20.0] * 7)), "ours", "135M", root=root)
    assert list(table.model) == ["ours", "Vicuna-7B"]
    assert table.loc[0, "Avg"] == 20.0
    with pytest.raises(DataError, match="published_zero_shot.csv"):
        published_systems(tmp_path / "reference")


def _evaluation(root, adapter, dataset, f1, limit=2, cap=16, rule=None):
    params = {"model": "m", "adapter": adapter, "data": dataset, "limit": limit, "max_new_tokens": cap}
    folder = artifact_dir("evaluations", {**params, **({"answer_cap": rule} if rule else {})}, root)
    (folder / "metrics.json").write_text(json.dumps({"precision": f1, "recall": f1, "f1": f1, "n": 3}))
    mark_done(folder)


def test_summary_reads_every_completed_metrics_file(tmp_path):
    for k, name in enumerate(ZERO_SHOT):
        _evaluation(tmp_path, "/a/students/abc", name, 0.1 * (k + 1))
        _evaluation(tmp_path, None, name, 0.0)
    _evaluation(tmp_path, "/a/students/xyz", "mit_movie", 0.9)  # not all seven sets: no summary row
    artifact_dir("evaluations", {"unfinished": True}, tmp_path)  # no done marker: ignored
    records = evaluations_on_record(tmp_path)
    assert len(records) == 15
    summary = zero_shot_summary(records, limit=2)
    assert list(summary.student) == ["abc", "untuned"]
    assert summary.iloc[0]["Avg"] == pytest.approx(40.0)
    assert zero_shot_summary(records, limit=99).empty


def test_a_student_with_auto_caps_has_one_seven_set_row(tmp_path):
    """Under the "auto" cap every set has its own cap; the sets are grouped by the rule."""
    for k, name in enumerate(ZERO_SHOT):
        _evaluation(tmp_path, "/a/students/abc", name, 0.5, cap=40 + 10 * k, rule="auto")
    summary = zero_shot_summary(evaluations_on_record(tmp_path), limit=2)
    assert list(summary.student) == ["abc"] and summary.iloc[0]["max_new_tokens"] == "auto"


def test_run_times_and_hashes(tmp_path, monkeypatch):
    monkeypatch.setenv("UNER_BUILD", str(tmp_path / "b"))
    monkeypatch.delenv("UNER_RUN", raising=False)
    assert run_times("smoke").empty
    runs = tmp_path / "b" / "smoke"
    runs.mkdir(parents=True)
    (runs / "run.json").write_text(json.dumps({"profile": "smoke", "seconds": {"notebooks/00_x.ipynb": 3.5}}))
    assert run_times("smoke").to_dict("records") == [{"notebook": "00_x", "seconds": 3.5}]
    monkeypatch.setenv("UNER_RUN", str(runs / "manifest.json"))  # inside a run: that run's log
    assert run_times("other").to_dict("records") == [{"notebook": "00_x", "seconds": 3.5}]
    f = tmp_path / "f.txt"
    f.write_text("abc")
    assert file_digest(f) == "ba7816bf8f01cfea"  # sha256("abc")


@pytest.mark.data
def test_data_hashes_cover_every_split(data_root):
    table = data_hashes(["crossner_ai"], data_root)
    assert set(table.split) >= {"train", "test"}
    assert table.sha256.str.len().eq(16).all()
