"""The ``uner`` command line: score, datasets, convert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from unerlib.cli import main

# The fixture gold (tests/fixtures/score_gold.json) and predictions (score_pred.jsonl), by hand:
#   q0 person   gold ["Barack Obama"]  pred ["Barack Obama", "Obama"]      -> c1 p2 g1
#   q1 location gold ["U.S."]          pred "... ASSISTANT:  ["US", "2009"]" -> c1 p2 g1 (u.s. == us)
#   q2 band     gold ["The Beatles"]   pred ["Beatles"]                     -> c1 p1 g1 (article dropped)
#   q3 album    gold ["Abbey Road"]    pred 'Answer: ["Abbey Road"]'        -> c0 p0 g1 (text before the list)
N_CORRECT, N_PRED, N_GOLD = 3, 5, 4
PREC = N_CORRECT / (N_PRED + 1e-10)    # 0.6
REC = N_CORRECT / (N_GOLD + 1e-10)     # 0.75
F1 = 2 * PREC * REC / (PREC + REC + 1e-10)  # 0.9 / 1.35 = 2/3


def _check_result(result: dict) -> None:
    assert result["n"] == 4
    assert (result["n_correct"], result["n_pred"], result["n_gold"]) == (N_CORRECT, N_PRED, N_GOLD)
    assert result["precision"] == pytest.approx(0.6)
    assert result["recall"] == pytest.approx(0.75)
    assert result["f1"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(F1, abs=1e-12)


def _last_json(stdout: str) -> dict:
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    return json.loads(lines[-1])


def _write_preds(path: Path, fixtures: Path, drop: str | None = None, add: dict | None = None) -> Path:
    lines = [ln for ln in (fixtures / "score_pred.jsonl").read_text().splitlines() if ln.strip()]
    if drop:
        lines = [ln for ln in lines if json.loads(ln)["id"] != drop]
    if add:
        lines.append(json.dumps(add))
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- uner score


def test_score(fixtures, capsys):
    rc = main(["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(fixtures / "score_pred.jsonl")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    _check_result(_last_json(out))


def test_score_by_type(fixtures, capsys):
    rc = main(["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(fixtures / "score_pred.jsonl"),
               "--by-type"])
    out, _err = capsys.readouterr()
    assert rc == 0
    _check_result(_last_json(out))
    lines = out.splitlines()[:-1]
    assert [ln.split("\t")[0] for ln in lines] == ["album", "band", "location", "person"]
    assert "F1=0.0000" in lines[0] and "F1=1.0000" in lines[1]
    assert "P=0.5000" in lines[3] and "R=1.0000" in lines[3]


def test_score_lenient_parser(fixtures, capsys):
    rc = main(["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(fixtures / "score_pred.jsonl"),
               "--parser", "lenient"])
    out, _err = capsys.readouterr()
    assert rc == 0
    # the lenient parser also finds q3's list: c4 p6 g4
    result = _last_json(out)
    assert (result["n_correct"], result["n_pred"], result["n_gold"]) == (4, 6, 4)


def test_score_unknown_prediction_id(fixtures, tmp_path, capsys):
    pred = _write_preds(tmp_path / "p.jsonl", fixtures, add={"id": "q99", "prediction": "[]"})
    rc = main(["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(pred)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "q99" in err and "not in" in err
    assert "Traceback" not in err and out == ""


def test_score_gold_id_without_prediction(fixtures, tmp_path, capsys):
    pred = _write_preds(tmp_path / "p.jsonl", fixtures, drop="q2")
    rc = main(["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(pred)])
    _out, err = capsys.readouterr()
    assert rc == 2
    assert "q2" in err and "no prediction" in err
    assert "Traceback" not in err


def test_score_missing_files(fixtures, tmp_path, capsys):
    rc = main(["score", "--gold", str(tmp_path / "gold.json"), "--pred", str(fixtures / "score_pred.jsonl")])
    _out, err = capsys.readouterr()
    assert rc == 2 and "gold.json" in err and "Traceback" not in err
    rc = main(["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(tmp_path / "preds.jsonl")])
    _out, err = capsys.readouterr()
    assert rc == 2 and "preds.jsonl" in err


def _uner_commands() -> list[list[str]]:
    cmds = [[sys.executable, "-m", "unerlib"]]
    script = Path(sys.executable).parent / "uner"
    if script.exists():
        cmds.append([str(script)])
    return cmds


@pytest.mark.parametrize("cmd", _uner_commands(), ids=lambda c: Path(c[-1]).name)
def test_score_subprocess(fixtures, tmp_path, cmd):
    args = ["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(fixtures / "score_pred.jsonl")]
    proc = subprocess.run(cmd + args, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    _check_result(_last_json(proc.stdout))

    bad = _write_preds(tmp_path / "p.jsonl", fixtures, drop="q0")
    args = ["score", "--gold", str(fixtures / "score_gold.json"), "--pred", str(bad)]
    proc = subprocess.run(cmd + args, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "q0" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0  # one line


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


# --------------------------------------------------------------------------- uner datasets / convert


@pytest.mark.data
def test_datasets_crossner_ai(data_root, monkeypatch, capsys):
    monkeypatch.setenv("UNER_DATA_DIR", str(data_root))
    assert main(["datasets", "crossner_ai"]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("crossner_ai")]
    assert "STEM" in line and "zero-shot" in line
    assert "train=100" in line and "dev=350" in line and "test=431" in line
    assert "13 types" in line
    for typ in ("organization", "university", "researcher", "program language", "algorithm", "metrics", "field"):
        assert typ in line
    assert "misc" not in line


def test_datasets_unknown_name(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("UNER_DATA_DIR", str(tmp_path))
    assert main(["datasets", "crossner_a1"]) == 2
    err = capsys.readouterr().err
    assert "crossner_a1" in err and "crossner_ai" in err and "Traceback" not in err


def test_datasets_without_data_dir(monkeypatch, capsys):
    monkeypatch.delenv("UNER_DATA_DIR", raising=False)
    assert main(["datasets", "crossner_ai"]) == 2
    assert "UNER_DATA_DIR" in capsys.readouterr().err


@pytest.mark.data
def test_convert_mit_movie(data_root, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("UNER_DATA_DIR", str(data_root))
    out_path = tmp_path / "out" / "mit_movie.json"
    assert main(["convert", "mit_movie", "--split", "test", "--out", str(out_path)]) == 0
    assert "29304" in capsys.readouterr().out
    items = json.loads(out_path.read_text(encoding="utf-8"))
    assert len(items) == 2442 * 12
    assert items[0]["id"] == "mit_movie_0" and items[-1]["id"] == f"mit_movie_{2442 * 12 - 1}"
    assert items[0]["conversations"][0]["value"] == "Text: are there any good romantic comedies out right now"
    first = {it["conversations"][2]["value"] for it in items[:12]}
    assert len(first) == 12 and "What describes average ratings in the text?" in first


@pytest.mark.data
def test_convert_match_official_flag(data_root, monkeypatch, tmp_path):
    monkeypatch.setenv("UNER_DATA_DIR", str(data_root))
    keep, drop = tmp_path / "keep.json", tmp_path / "drop.json"
    assert main(["convert", "crossner_ai", "--out", str(keep), "--prefix", "ai"]) == 0
    assert main(["convert", "crossner_ai", "--out", str(drop), "--prefix", "ai", "--match-official"]) == 0
    a, b = json.loads(keep.read_text()), json.loads(drop.read_text())
    assert len(a) == len(b) == 431 * 13 and a[0]["id"] == "ai_0"
    n_a = sum(len(json.loads(it["conversations"][3]["value"])) for it in a)
    n_b = sum(len(json.loads(it["conversations"][3]["value"])) for it in b)
    assert n_a == 1628 and n_b < n_a


def test_convert_unknown_split(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("UNER_DATA_DIR", str(tmp_path))
    assert main(["convert", "genia", "--split", "train", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "train" in err and "test" in err
    assert not (tmp_path / "x.json").exists()


# --------------------------------------------------------------------------- every failure one line (issue 12, item 5)


def test_every_unerlib_error_class_is_caught():
    import importlib
    import inspect
    import pkgutil

    import unerlib
    from unerlib.cli import error_classes

    caught = error_classes()
    found = []
    for info in pkgutil.iter_modules(unerlib.__path__):
        if info.name in ("__main__",):
            continue
        try:
            module = importlib.import_module(f"unerlib.{info.name}")
        except ImportError:  # an optional dependency
            continue
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, Exception):
                found.append(cls)
                assert issubclass(cls, caught), f"{cls.__module__}.{cls.__name__} is not caught by the CLI"
    assert len(found) >= 5


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("uner: error: ") and "Traceback" not in err
    return lines[0]


def test_corrupted_gold_file_is_one_line_naming_the_record(fixtures, tmp_path, capsys):
    gold = json.loads((fixtures / "score_gold.json").read_text())
    gold[1]["conversations"][0]["value"] = "no text prefix"
    bad = tmp_path / "gold.json"
    bad.write_text(json.dumps(gold))
    rc = main(["score", "--gold", str(bad), "--pred", str(fixtures / "score_pred.jsonl")])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 2 and str(bad) in line and "record 1" in line


def test_multi_line_messages_are_joined():
    from unerlib.cli import one_line
    from unerlib.data import DataError

    assert one_line(DataError("a.json: bad\n  more detail\n")) == "a.json: bad | more detail"


def _no_corpora(monkeypatch, tmp_path):
    import unerlib.experiments

    monkeypatch.setattr(unerlib.experiments, "evaluation_texts", lambda root=None: set())
    monkeypatch.setattr(unerlib.experiments, "token_counter", lambda model=None: lambda text: len(text.split()))
    src = tmp_path / "p.jsonl"
    src.write_text('{"text": "Alice met Bob in Paris."}\n')
    return src


def test_bad_teacher_setting_is_one_line_naming_it(monkeypatch, tmp_path, capsys):
    src = _no_corpora(monkeypatch, tmp_path)
    monkeypatch.setenv("UNER_TEACHER_CONCURRENCY", "many")
    rc = main(["construct", "--teacher", "openai", "--sources", f"file:{src}", "--passages", "1",
               "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o.json"), "--dry-run"])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 2 and "UNER_TEACHER_CONCURRENCY" in line


def test_corrupted_passage_file_is_one_line(monkeypatch, tmp_path, capsys):
    src = _no_corpora(monkeypatch, tmp_path)
    src.write_text('{"text": "fine"}\n{"txt": "no text field"}\n')
    rc = main(["construct", "--sources", f"file:{src}", "--passages", "1", "--out", str(tmp_path / "o.json")])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 2 and f"{src}:2" in line


@pytest.mark.parametrize("option, value", [("--price-in", "-1"), ("--price-out", "x"), ("--max-failure-share", "2")])
def test_bad_construct_options_are_usage_errors(option, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["construct", "--out", str(tmp_path / "o.json"), option, value])
    assert exc.value.code == 2 and option in capsys.readouterr().err


def test_train_with_missing_data_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("UNER_ARTIFACTS", str(tmp_path / "art"))
    rc = main(["train", "--profile", "smoke", "--data", str(tmp_path / "missing.json")])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 2 and "missing.json" in line
