"""Types asked in lower case (``lower_types`` of unerlib.evaluation.evaluate_sets): the
questions of a set with capitalized types are asked lower-cased and scored under the set's
own types; a set whose types are lower case already keeps the plain evaluation's key."""

from __future__ import annotations

import json
from pathlib import Path

from conftest_models import *  # noqa: F401,F403  (fixtures: tiny_dir)
from unerlib.evaluation import asks_cased_types, evaluate_sets, evaluation_params, read_predictions


def _uniner(path: Path, types: list[str]) -> str:
    items = [{"id": f"t_{i}", "conversations": [
        {"from": "human", "value": "Text: Luigi's on Main Street serves pizza."},
        {"from": "gpt", "value": "I've read this text."},
        {"from": "human", "value": f"What describes {typ} in the text?"},
        {"from": "gpt", "value": '["pizza"]' if typ.lower() == "dish" else "[]"}]} for i, typ in enumerate(types)]
    path.write_text(json.dumps(items))
    return str(path)


def test_the_flag_keys_an_evaluation_only_when_set():
    plain = evaluation_params("m", None, "d", 5, 64)
    assert "lower_types" not in plain
    assert evaluation_params("m", None, "d", 5, 64, lower_types=True) == {**plain, "lower_types": True}


def test_cased_types_are_asked_in_lower_case_and_scored_under_the_sets_own(tiny_dir, tmp_path, monkeypatch):
    import unerlib.inference as inference

    cased = _uniner(tmp_path / "cased.json", ["Dish", "Restaurant Name"])
    lower = _uniner(tmp_path / "lower.json", ["dish", "restaurant name"])
    assert asks_cased_types(cased) and not asks_cased_types(lower)
    asked: list[str] = []
    real = inference.predict

    def spy(student, questions, **kwargs):
        asked.extend(q.type for q in questions)
        return real(student, questions, **kwargs)

    monkeypatch.setattr(inference, "predict", spy)
    options = dict(limit=None, max_new_tokens=4, progress=False, root=tmp_path)
    row = evaluate_sets(str(tiny_dir), None, sets=[cased], lower_types=True, **options).iloc[0]
    assert asked == ["dish", "restaurant name"]
    lines = read_predictions(Path(row["predictions"]))
    assert [line["type"] for line in lines.values()] == ["Dish", "Restaurant Name"]
    metrics = json.loads((Path(row["predictions"]).parent / "metrics.json").read_text())
    assert set(metrics["by_type"]) == {"Dish", "Restaurant Name"}
    asked.clear()
    # the plain evaluation of the same set is another artifact, asked as the set spells its types
    plain = evaluate_sets(str(tiny_dir), None, sets=[cased], **options).iloc[0]
    assert plain["key"] != row["key"] and asked == ["Dish", "Restaurant Name"]
    # on lower-case types the flag changes no question, so the plain evaluation is read back
    first = evaluate_sets(str(tiny_dir), None, sets=[lower], **options).iloc[0]
    asked.clear()
    again = evaluate_sets(str(tiny_dir), None, sets=[lower], lower_types=True, **options).iloc[0]
    assert again["key"] == first["key"] and asked == []
