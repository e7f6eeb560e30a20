"""The run manifest (unerlib.runs), cutting an evaluation from a larger one, and the
scaling helpers: on small fake artifacts, no model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from unerlib.artifacts import artifact_dir, mark_done
from unerlib.runs import STUDENT_PARAMS, Headline, headline, read_manifest, record, record_headline, recorded
from unerlib.scaling import parse_sizes
from test_breakdown import re3d_root  # noqa: F401  (fixture: a two-sentence re3d data folder)


def test_record_outside_a_run_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("UNER_RUN", raising=False)
    record("x", a=1)
    assert recorded("x") == {} and read_manifest() == {}


def test_record_and_read_back(monkeypatch, tmp_path):
    monkeypatch.setenv("UNER_RUN", str(tmp_path / "run" / "manifest.json"))
    record("evaluations", k1={"data": "a"})
    record("evaluations", k2={"data": "b"})
    assert set(recorded("evaluations")) == {"k1", "k2"}
    values = {k: i for i, k in enumerate(STUDENT_PARAMS)}
    head = record_headline(tmp_path / "d" / "data.json", tmp_path / "s" / "key", {**values, "other": 1})
    again = headline()  # read back from the manifest: nothing built or looked up
    assert again == head and isinstance(again, Headline)
    assert again.params == values and again.adapter.name == "key"
    assert again.train_options()["model"] == values["student"]
    assert again.inference_options() == {k: values[k] for k in ("max_new_tokens", "quantize", "empty_bias",
                                                                 "constrain_spans", "one_type_per_entity",
                                                                 "lower_types")}


def test_inference_options_of_a_run_recorded_before_the_decoding_options(tmp_path):
    """A manifest written before empty_bias, constrain_spans, one_type_per_entity, lower_types
    and lora_layers existed reads as the model's own answers, unconstrained, and a recipe
    with LoRA on every layer."""
    old = Headline(tmp_path / "data.json", tmp_path / "key", {"max_new_tokens": 256, "quantize": "int8"})
    assert old.inference_options() == {"max_new_tokens": 256, "quantize": "int8", "empty_bias": 0.0,
                                       "constrain_spans": False, "one_type_per_entity": False,
                                       "lower_types": False}
    recipe = {"student": "m", "learning_rate": 1e-3, "epochs": 1.0, "max_steps": -1, "batch_size": 8, "lora": True,
              "lora_r": 16, "lora_alpha": 32, "max_length": 384, "bf16": True}
    assert Headline(tmp_path / "data.json", tmp_path / "key", recipe).train_options()["lora_layers"] == 0
    new = Headline(tmp_path / "data.json", tmp_path / "key", {**recipe, "lora_layers": 15, "max_new_tokens": 9,
                                                              "one_type_per_entity": True})
    assert new.train_options()["lora_layers"] == 15 and new.inference_options()["one_type_per_entity"] is True
    with pytest.raises(KeyError):
        Headline(tmp_path / "data.json", tmp_path / "key", {"student": "m"}).train_options()


def test_teacher_data_at_another_size_is_notebook_03s_teacher_with_that_count(monkeypatch, tmp_path):
    """The ablation's and the scaling curve's teacher data: notebook 03's own data at its own
    count (nothing built), else the same teacher, seed, passage length and sources with the
    count changed; a count below 1 is refused."""
    import unerlib.experiments as experiments

    params = {"teacher": "corpus", "teacher_model": "", "base_url": "", "n_passages": 2000, "max_passage_tokens": 128,
              "seed": 3, "student": "smollm2-135m", "sources": "default"}
    run = Headline(tmp_path / "own" / "data.json", tmp_path / "key", params)
    calls = []

    def fake_build(**kwargs):
        calls.append(kwargs)
        return tmp_path / str(kwargs["n_passages"]) / "data.json", {}

    monkeypatch.setattr(experiments, "build_teacher_data", fake_build)
    assert run.teacher_data() == run.teacher_data(2000) == run.data_path and calls == []
    assert run.teacher_data(200, progress=False) == tmp_path / "200" / "data.json"
    (call,) = calls
    assert call["n_passages"] == 200 and call["seed"] == 3 and call["max_tokens"] == 128
    assert call["teacher"] == "corpus" and call["teacher_model"] is None and call["student"] == "smollm2-135m"
    from unerlib.registry import teacher_sources

    assert call["sources"] == teacher_sources("default")
    with pytest.raises(ValueError, match="at least 1"):
        run.teacher_data(0)


def test_headline_outside_a_run_needs_notebook_03s_student(monkeypatch, tmp_path):
    from unerlib.data import DataError

    monkeypatch.delenv("UNER_RUN", raising=False)
    monkeypatch.setenv("UNER_ARTIFACTS", str(tmp_path / "art"))
    with pytest.raises(DataError, match="03_training"):
        headline()


@pytest.mark.parametrize("spec, sizes", [("250,500,1000", [250, 500, 1000]), ("1000, 250,250", [250, 1000])])
def test_parse_sizes(spec, sizes):
    assert parse_sizes(spec) == sizes


@pytest.mark.parametrize("spec", ["", "a,b", "0,10"])
def test_parse_sizes_rejects(spec):
    with pytest.raises(ValueError):
        parse_sizes(spec)


class _Loaded(Exception):
    pass


def test_an_evaluation_in_another_artifacts_folder_is_found(tmp_path, re3d_root, monkeypatch):
    """An evaluation cached under another artifacts folder (``root``, e.g. a fresh clone's)
    keys its adapter relative to that folder, as the run that made it did: it is found
    there, not answered again by a student loaded from the adapter."""
    from unerlib.evaluation import evaluate_sets, evaluation_params
    from unerlib.inference import load_questions

    art = tmp_path / "elsewhere" / "artifacts"
    adapter = art / "students" / "abc123"
    adapter.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # the default artifacts folder (./artifacts) is not that one
    monkeypatch.delenv("UNER_ARTIFACTS", raising=False)
    params = evaluation_params("m", adapter, "re3d", 1, 8, root=art)
    assert params["adapter"] == "students/abc123" == evaluation_params("m", "students/abc123", "re3d", 1, 8)["adapter"]
    folder = artifact_dir("evaluations", params, art)
    with open(folder / "predictions.jsonl", "w") as fh:
        for q in load_questions("re3d", 1, re3d_root):
            fh.write(json.dumps({"id": q.id, "type": q.type, "prediction": "[]", "stop": "end"}) + "\n")
    from unerlib.evaluation import score_predictions

    (folder / "metrics.json").write_text(json.dumps(score_predictions("re3d", folder / "predictions.jsonl", 1,
                                                                      re3d_root)))
    mark_done(folder)

    def load(*args, **kwargs):
        raise _Loaded()

    monkeypatch.setattr("unerlib.student.load_student", load)
    table = evaluate_sets("m", adapter, sets=["re3d"], limit=1, max_new_tokens=8, progress=False, root=art,
                          data_root=re3d_root)
    assert table.iloc[0]["key"] == folder.name


def test_an_evaluation_is_cut_from_a_larger_one(tmp_path, re3d_root, monkeypatch):
    """The first sentence of re3d is cut from the finished evaluation of all of it: no
    model is loaded ("m" is none) and its answers are the larger evaluation's."""
    from unerlib.evaluation import evaluate_sets, evaluation_params
    from unerlib.inference import load_questions

    art = tmp_path / "art"
    big = artifact_dir("evaluations", evaluation_params("m", None, "re3d", None, 8), art)
    questions = load_questions("re3d", None, re3d_root)
    with open(big / "predictions.jsonl", "w") as fh:
        for q in questions:
            fh.write(json.dumps({"id": q.id, "type": q.type, "prediction": '["Carter"]', "stop": "end"}) + "\n")
    mark_done(big)
    table = evaluate_sets("m", None, sets=["re3d"], limit=1, max_new_tokens=8, progress=False, root=art,
                          data_root=re3d_root)
    row = table.iloc[0]
    first = load_questions("re3d", 1, re3d_root)
    assert row["questions"] == len(first) < len(questions) and row["sentences"] == 1
    folder = art / "evaluations" / row["key"]
    assert json.loads((folder / "source.json").read_text())["cut_from"] == f"evaluations/{big.name}"
    lines = [json.loads(x) for x in (folder / "predictions.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [q.id for q in first]
    assert np.array(json.loads((folder / "metrics.json").read_text())["sentence_counts"]).shape == (1, 3)
    # another cap is another evaluation: not cut from this one (the student would be loaded)
    def load(*args, **kwargs):
        raise _Loaded()

    monkeypatch.setattr("unerlib.student.load_student", load)
    with pytest.raises(_Loaded):
        evaluate_sets("m", None, sets=["re3d"], limit=1, max_new_tokens=9, progress=False, root=art,
                      data_root=re3d_root)
    # an evaluation with a decoding option set is not a plain one, and the other way round
    with pytest.raises(_Loaded):
        evaluate_sets("m", None, sets=["re3d"], limit=1, max_new_tokens=8, progress=False, root=art,
                      data_root=re3d_root, empty_bias=2.0)
    option = artifact_dir("evaluations", evaluation_params("m", None, "re3d", None, 8, constrain_spans=True), art)
    (option / "predictions.jsonl").write_text((big / "predictions.jsonl").read_text())
    mark_done(option)
    shutil.rmtree(big)
    shutil.rmtree(folder)
    with pytest.raises(_Loaded):
        evaluate_sets("m", None, sets=["re3d"], limit=1, max_new_tokens=8, progress=False, root=art,
                      data_root=re3d_root)


def test_a_half_written_line_is_dropped_before_resuming(tmp_path, re3d_root, monkeypatch):
    """A run died while writing a line: the next one drops that line, asks only the
    questions left (here through a stand-in predictor) and scores every question."""
    import unerlib.inference as inference
    from unerlib.evaluation import evaluate_sets, evaluation_params
    from unerlib.inference import Prediction, load_questions

    art = tmp_path / "art"
    folder = artifact_dir("evaluations", evaluation_params("m", None, "re3d", None, 8), art)
    questions = load_questions("re3d", None, re3d_root)
    first = questions[0]
    (folder / "predictions.partial.jsonl").write_text(
        json.dumps({"id": first.id, "type": first.type, "prediction": "[]", "stop": "end"}) + "\n" + '{"id": "x", "pre')
    asked = []

    def fake_predict(student, chunk, **kwargs):
        asked.extend(q.id for q in chunk)
        return [Prediction(q.id, q.type, '["Carter"]', ["Carter"]) for q in chunk], None

    monkeypatch.setattr(inference, "predict", fake_predict)
    monkeypatch.setattr("unerlib.student.load_student", lambda *a, **k: object())
    table = evaluate_sets("m", None, sets=["re3d"], limit=None, max_new_tokens=8, progress=False, root=art,
                          data_root=re3d_root)
    assert asked == [q.id for q in questions[1:]]
    assert table.iloc[0]["questions"] == len(questions)
    lines = (folder / "predictions.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [q.id for q in questions]


def test_parsed_answers_are_compared_as_the_metric_reads_them():
    """A raw answer opens with white space; the comparisons of the loop-stop and int8
    checks read it after the official strip (a leading space would make every answer empty)."""
    from unerlib.checks import parsed_answer

    assert parsed_answer({"prediction": ' ["Paris", "Rome"]'}) == ["paris", "rome"]
    assert parsed_answer({"prediction": ' ["Paris"]'}) != parsed_answer({"prediction": ' ["Rome"]'})


@pytest.mark.parametrize("eval_limit, untuned_limit, n", [(100, 30, 30), (100, 0, 100), (20, 30, 20), (0, 30, 30),
                                                          (0, 0, 0), (None, None, None)])
def test_the_untuned_baseline_answers_the_first_of_the_tuned_sentences(eval_limit, untuned_limit, n):
    from unerlib.intervals import untuned_sentences

    assert untuned_sentences(eval_limit, untuned_limit) == n


def test_a_negative_untuned_limit_is_refused():
    from unerlib.intervals import untuned_sentences

    with pytest.raises(ValueError, match="0 \\(all\\) or positive"):
        untuned_sentences(100, -1)
