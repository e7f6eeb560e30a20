"""The Python API (``from unerlib import UniNER``) and ``uner predict --input``.

The windowing and merging logic is tested with a stub answer function (a gazetteer that
names the entities of each type found in the window it is shown), since the tiny random
model's answers are random; smoke tests run the tiny model end to end.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest_models import *  # noqa: F401,F403

from unerlib.api import UniNER, make_windows, word_spans
from unerlib.files import finished_lines, predict_file, read_input
from unerlib.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Gazetteer:
    """A stub model: for each question, the strings of its type that occur in its window
    (in the order given), plus ``extra`` strings named whatever the window holds."""

    def __init__(self, entries: dict[str, list[str]], extra: dict[str, list[str]] | None = None,
                 edge: re.Pattern | None = None):
        self.entries, self.extra, self.edge = entries, extra or {}, edge
        self.questions = []

    def __call__(self, questions):
        self.questions.extend(questions)
        out = []
        for q in questions:
            names = [e for e in self.entries.get(q.type, []) if e in q.passage]
            names += self.extra.get(q.type, [])
            if self.edge is not None and q.type == "person":
                m = self.edge.search(q.passage)  # a name cut by the window's end
                if m:
                    names.append(m.group(0))
            out.append(names)
        return out


def _spans_ok(text: str, spans: list[dict]) -> None:
    for s in spans:
        assert set(s) == {"start", "end", "text", "label"}
        assert text[s["start"]:s["end"]] == s["text"], s


# --------------------------------------------------------------------------- offsets


def test_offsets_exact_on_a_crafted_text():
    text = ("  Ada Lovelace met Charles Babbage in London.\nLater, ada lovelace (née Byron) wrote "
            "notes on the Analytical Engine; London — and Zürich — heard of it. Ada Lovelace died in 1852.")
    stub = Gazetteer({"person": ["Ada Lovelace", "Charles Babbage", "née Byron"],
                      "location": ["London", "Zürich"]},
                     extra={"person": ["ADA LOVELACE", "Alan Turing"], "location": [""]})
    ner = UniNER(stub)
    spans = ner.predict_entities(text, ["person", "location"])
    _spans_ok(text, spans)
    got = [(s["text"], s["label"]) for s in spans]
    assert got == [
        ("Ada Lovelace", "person"), ("Charles Babbage", "person"), ("London", "location"),
        ("ada lovelace", "person"),  # "ADA LOVELACE" matched case-insensitively, text as in the passage
        ("née Byron", "person"), ("London", "location"), ("Zürich", "location"), ("Ada Lovelace", "person"),
    ]
    # "Alan Turing" is not in the text and "" is no entity: dropped; the exact and the
    # case-insensitive answer find the same first span once
    assert [s["start"] for s in spans] == sorted(s["start"] for s in spans)
    assert spans[0]["start"] == 2 and spans[0]["end"] == 14
    assert len({(s["start"], s["end"], s["label"]) for s in spans}) == len(spans)


def test_whitespace_and_empty_texts_ask_nothing():
    stub = Gazetteer({"person": ["Ada"]})
    ner = UniNER(stub)
    assert ner.batch_predict_entities(["", "   \n "], ["person"], progress=False) == [[], []]
    assert stub.questions == []


@pytest.mark.parametrize("labels", [[], [""], ["  "], [1], None, ["person", None]])
def test_bad_labels_raise(labels):
    ner = UniNER(Gazetteer({}))
    with pytest.raises(ValueError, match="label"):
        ner.predict_entities("Ada Lovelace", labels)


@pytest.mark.parametrize("text", [None, b"Ada Lovelace", 5, ["Ada"]])
def test_non_string_text_raises(text):
    ner = UniNER(Gazetteer({}))
    with pytest.raises(ValueError, match="string"):
        ner.predict_entities(text, ["person"])
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        ner.batch_predict_entities(["fine", text], ["person"])


def test_batch_of_one_string_raises():
    with pytest.raises(ValueError, match="list of strings"):
        UniNER(Gazetteer({})).batch_predict_entities("Ada Lovelace", ["person"])


def test_single_label_string_and_duplicates():
    stub = Gazetteer({"person": ["Ada"]})
    ner = UniNER(stub)
    assert ner.predict_entities("Ada here", "person") == ner.predict_entities("Ada here", ["person", " person"])
    assert len(stub.questions) == 2  # one question per call: the duplicate label is asked once


# --------------------------------------------------------------------------- windows


WINDOW, OVERLAP = 40, 8


def _long_text(n_windows: int = 20):
    """~n_windows windows of filler words, an entity in the middle of each window and a
    two-word name across each cut (words are the tokens of the stub)."""
    words = [f"w{i}" for i in range(WINDOW * n_windows)]
    base = " ".join(words)
    wins = make_windows(base, word_spans(base), WINDOW, OVERLAP)
    starts = [m.start() for m in re.finditer(r"\S+", base)]
    index = {s: k for k, s in enumerate(starts)}
    places, boundary = [], []
    for k, w in enumerate(wins):
        first = index[w.start]
        last = index[base.rfind(" ", 0, w.end) + 1]  # the window's last word
        mid = (first + last) // 2
        words[mid] = f"Town{k}z"
        places.append(f"Town{k}z")
        if w.cut_right:  # last word of the window and first word after it
            words[last], words[last + 1] = f"Grace{k}q", "Hopper"
            boundary.append(f"Grace{k}q Hopper")
    return " ".join(words), places, boundary


def test_windows_cover_everything_and_overlap():
    text, _, _ = _long_text()
    wins = make_windows(text, word_spans(text), WINDOW, OVERLAP)
    assert len(wins) >= 20
    assert wins[0].start == 0 and wins[-1].end == len(text) and not wins[0].cut_left and not wins[-1].cut_right
    for a, b in zip(wins, wins[1:]):
        assert b.start < a.end  # overlapping: no character falls between two windows
        assert len(text[b.start:a.end].split()) >= OVERLAP // 2
    for w in wins:
        assert len(text[w.start:w.end].split()) <= WINDOW
        assert not text[w.start].isspace() and not text[w.end - 1].isspace()


def test_long_text_finds_an_entity_in_each_window_and_on_each_cut():
    text, places, boundary = _long_text()
    assert len(text.split()) == 20 * WINDOW
    stub = Gazetteer({"location": places, "person": boundary}, edge=re.compile(r"Grace\d+q$"))
    ner = UniNER(stub, window_tokens=WINDOW, overlap_tokens=OVERLAP)
    wins = ner.windows(text)
    # each boundary name really is cut by a window's end
    for name in boundary:
        s = text.index(name)
        assert any(w.cut_right and s < w.end < s + len(name) for w in wins), name
    spans = ner.predict_entities(text, ["person", "location"])
    _spans_ok(text, spans)
    assert sorted(s["text"] for s in spans if s["label"] == "location") == sorted(places)
    # every cut name found whole, once; the half seen at a window's end ("Grace3") is dropped
    # because the next window saw those characters away from its edges and did not name them
    assert sorted(s["text"] for s in spans if s["label"] == "person") == sorted(boundary)
    for s in spans:
        assert s["start"] == text.index(s["text"])
    assert any(stub.edge.search(q.passage) for q in stub.questions)  # the cut halves were named
    # no question saw more than a window's worth of words
    assert max(len(q.passage.split()) for q in stub.questions) <= WINDOW
    assert len(stub.questions) == 2 * len(wins) >= 40


def test_long_single_word_is_cut_not_dropped():
    text = "start " + "x" * 500 + " Ada end"
    spans_fn = lambda t: [(k, k + 1) for k in range(len(t)) if not t[k].isspace()]  # one token per character
    ner = UniNER(Gazetteer({"person": ["Ada"]}), spans_fn, window_tokens=64, overlap_tokens=8)
    wins = ner.windows(text)
    assert len(wins) > 8 and wins[-1].end == len(text)
    covered = set()
    for w in wins:
        covered.update(range(w.start, w.end))
    assert covered >= {k for k, c in enumerate(text) if not c.isspace()}
    assert ner.predict_entities(text, ["person"]) == [{"start": 507, "end": 510, "text": "Ada", "label": "person"}]


def test_batch_equals_one_by_one_with_stub():
    text, places, boundary = _long_text(4)
    texts = [text, "Town0z and Grace0q Hopper.", "", "nothing here", text[:300]]
    stub = Gazetteer({"location": places, "person": boundary})
    ner = UniNER(stub, window_tokens=WINDOW, overlap_tokens=OVERLAP)
    batch = ner.batch_predict_entities(texts, ["person", "location"], progress=False)
    assert batch == [ner.predict_entities(t, ["person", "location"]) for t in texts]
    assert batch[1] == [{"start": 0, "end": 6, "text": "Town0z", "label": "location"},
                        {"start": 11, "end": 25, "text": "Grace0q Hopper", "label": "person"}]


# --------------------------------------------------------------------------- the tiny model


def test_tiny_model_end_to_end_long_text(bracket_student):
    ner = UniNER.from_student(bracket_student, max_new_tokens=8, window_tokens=24, overlap_tokens=4)
    sentence = "Ada Lovelace wrote notes on the Analytical Engine of Charles Babbage in London. "
    text = sentence * 40
    assert len(ner.windows(text)) >= 20
    spans = ner.predict_entities(text, ["person", "location"])
    _spans_ok(text, spans)
    texts = [text, sentence, "Paris is in France.", sentence * 3]
    batch = ner.batch_predict_entities(texts, ["person", "location"], progress=False)
    assert batch[0] == spans
    assert batch == [ner.predict_entities(t, ["person", "location"]) for t in texts]
    for t, found in zip(texts, batch):
        _spans_ok(t, found)


def test_lower_types_asks_the_student_in_lower_case_and_keeps_the_users_labels(student_tokenizer, monkeypatch):
    import unerlib.inference as inference

    asked: list[str] = []
    real = inference.predict

    def spy(student, questions, **kwargs):
        asked.extend(q.type for q in questions)
        return real(student, questions, **kwargs)

    monkeypatch.setattr(inference, "predict", spy)
    student = scripted_student(student_tokenizer, ' ["Paris"]')  # noqa: F405  (answers this to every type)
    text = "Ada Lovelace never lived in Paris."
    found = UniNER.from_student(student, max_new_tokens=8, lower_types=True).predict_entities(text, ["City Name"])
    assert asked == ["city name"]
    assert found == [{"start": 28, "end": 33, "text": "Paris", "label": "City Name"}]
    asked.clear()
    UniNER.from_student(student, max_new_tokens=8).predict_entities(text, ["City Name"])
    assert asked == ["City Name"]  # off by default: the type as the user spelled it


def test_load_default_model_and_adapter_arguments(tiny_dir, monkeypatch):
    import unerlib.api

    monkeypatch.setattr(unerlib.api, "DEFAULT_MODEL", str(tiny_dir))
    ner = UniNER.load(device="cpu", max_new_tokens=4)
    assert ner.student.name == str(tiny_dir) and ner.student.adapter is None
    assert "UniNER(" in repr(ner)
    assert isinstance(ner.predict_entities("Ada Lovelace lived in London.", ["person"]), list)


def test_import_unerlib_stays_light():
    import subprocess
    import sys

    code = ("import sys, unerlib; assert 'unerlib.api' not in sys.modules and 'torch' not in sys.modules; "
            "from unerlib import UniNER; print(UniNER.__module__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "unerlib.api"


# --------------------------------------------------------------------------- README


def readme_snippet() -> str:
    """The fenced Python block under the README's "Use the model" heading."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use the model", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_snippet_runs(tiny_dir, monkeypatch, capsys):
    import unerlib.api

    snippet = readme_snippet()
    assert "from unerlib import UniNER" in snippet and "UniNER.load()" in snippet
    # what the user types runs as is; only the default model is the tiny one here
    monkeypatch.setattr(unerlib.api, "DEFAULT_MODEL", str(tiny_dir))
    namespace: dict = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    spans = namespace["spans"]
    assert isinstance(spans, list)
    _spans_ok(namespace["text"], spans)


# --------------------------------------------------------------------------- files in, files out


def test_read_input_reports_bad_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"text": "Ada Lovelace", "id": "a"}\n'
                     b'{"text": "broken\n'
                     b'[1, 2]\n'
                     b'{"id": "d"}\n'
                     b'{"text": "  "}\n'
                     b'{"text": "caf\xe9"}\n'
                     b'\n'
                     b'{"text": 5}\n'
                     b'{"text": "London", "id": 7}\n')
    rows = list(read_input(path))
    assert [(n, i, t) for n, i, t, e in rows if e is None] == [(1, "a", "Ada Lovelace"), (9, 7, "London")]
    bad = {n: e for n, _, _, e in rows if e is not None}
    assert sorted(bad) == [2, 3, 4, 5, 6, 7, 8]
    assert "JSON" in bad[2] and "object" in bad[3] and "text" in bad[4] and "empty" in bad[5]
    assert "UTF-8" in bad[6] and "blank" in bad[7] and "int" in bad[8]
    txt = tmp_path / "in.txt"
    txt.write_text("one\n\n  \nthree\n", encoding="utf-8")
    assert [(n, t, e) for n, _, t, e in read_input(txt)] == [(1, "one", None), (4, "three", None)]


def test_predict_file_resumes_and_keeps_finished_lines(tmp_path):
    inp = tmp_path / "texts.txt"
    lines = [f"City{k} is where Grace{k} Hopper lived." for k in range(7)]
    inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stub = Gazetteer({"location": [f"City{k}" for k in range(7)], "person": [f"Grace{k} Hopper" for k in range(7)]})
    ner = UniNER(stub)
    full = tmp_path / "full.jsonl"
    counts = predict_file(ner, inp, full, ["person", "location"], batch_lines=3, progress=False)
    assert counts == {"lines": 7, "written": 7, "already_done": 0, "skipped": 0}
    records = [json.loads(ln) for ln in full.read_text().splitlines()]
    assert [r["line"] for r in records] == list(range(1, 8))
    assert records[2]["entities"][0] == {"start": 0, "end": 5, "text": "City2", "label": "location"}
    # an interrupted run: two finished lines (one with a sentinel answer) and half a third
    part = tmp_path / "part.jsonl"
    sentinel = {"line": 1, "entities": [{"start": 0, "end": 1, "text": "C", "label": "sentinel"}]}
    part.write_text(json.dumps(sentinel) + "\n" + full.read_text().splitlines()[1] + "\n"
                    + full.read_text().splitlines()[2][:20], encoding="utf-8")
    assert finished_lines(part) == {1: None, 2: None}
    assert part.read_text().count("\n") == 2  # the half line is cut off
    stub.questions.clear()
    counts = predict_file(ner, inp, part, ["person", "location"], batch_lines=3, progress=False)
    assert counts == {"lines": 7, "written": 5, "already_done": 2, "skipped": 0}
    assert len(stub.questions) == 5 * 2  # finished lines are not asked again
    got = [json.loads(ln) for ln in part.read_text().splitlines()]
    assert [r["line"] for r in got] == list(range(1, 8))
    assert got[0] == sentinel and got[1:] == records[1:]
    # a third run has nothing left to do
    assert predict_file(ner, inp, part, ["person"], progress=False)["written"] == 0


def test_predict_file_refuses_another_inputs_out(tmp_path):
    from unerlib.data import DataError

    inp = tmp_path / "in.jsonl"
    inp.write_text('{"text": "Ada", "id": "x"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text('{"line": 1, "id": "y", "entities": []}\n', encoding="utf-8")
    with pytest.raises(DataError, match="another input"):
        predict_file(UniNER(Gazetteer({})), inp, out, ["person"], progress=False)
    with pytest.raises(DataError, match="format"):
        predict_file(UniNER(Gazetteer({})), tmp_path / "in.csv", out, ["person"], progress=False)


def _cli(args, capsys):
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_predict_input_resume_and_bad_lines(tiny_dir, tmp_path, capsys):
    inp = tmp_path / "texts.jsonl"
    inp.write_bytes(b'{"text": "Ada Lovelace met Charles Babbage in London.", "id": "s1"}\n'
                    b'{"text": "not closed\n'
                    b'{"text": "Grace Hopper worked at Harvard in Cambridge.", "id": "s3"}\n'
                    b'{"id": "s4"}\n'
                    b'{"text": "Paris is the capital of France."}\n'
                    b'{"text": "\xff\xfe"}\n'
                    b'{"text": "' + b"Alan Turing was born in London. " * 30 + b'"}\n')
    out = tmp_path / "spans.jsonl"
    base = ["predict", "--input", str(inp), "--types", "person,location", "--model", str(tiny_dir),
            "--max-new-tokens", "6", "--batch-lines", "2"]
    rc, stdout, err = _cli(base + ["--out", str(out)], capsys)
    assert rc == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["written"] == 4 and summary["skipped"] == 3 and summary["lines"] == 7
    for n in (2, 4, 6):
        assert f"line {n}:" in err
    assert "3 bad input lines skipped" in err and "Traceback" not in err
    full = out.read_text(encoding="utf-8").splitlines()
    recs = [json.loads(ln) for ln in full]
    assert [(r["line"], r.get("id")) for r in recs] == [(1, "s1"), (3, "s3"), (5, None), (7, None)]
    texts = {n: t for n, _, t, e in read_input(inp) if e is None}
    for r in recs:
        _spans_ok(texts[r["line"]], r["entities"])

    # interrupted after two lines, the third half-written: the rerun writes each line once
    resumed = tmp_path / "resumed.jsonl"
    resumed.write_text(full[0] + "\n" + full[1] + "\n" + full[2][:10], encoding="utf-8")
    rc, stdout, err = _cli(base + ["--out", str(resumed)], capsys)
    assert rc == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["already_done"] == 2 and summary["written"] == 2 and summary["skipped"] == 3
    assert resumed.read_text(encoding="utf-8").splitlines() == full


def test_cli_predict_text_unchanged_and_usage_errors(tiny_dir, tmp_path, capsys):
    rc, stdout, err = _cli(["predict", "--text", "Ada Lovelace lived in London.", "--types", "person,location",
                            "--model", str(tiny_dir), "--max-new-tokens", "4"], capsys)
    assert rc == 0, err
    assert set(json.loads(stdout)) == {"person", "location"}
    rc, _, err = _cli(["predict", "--types", "person"], capsys)
    assert rc == 2 and "--input" in err
    rc, _, err = _cli(["predict", "--input", str(tmp_path / "x.txt"), "--types", "person"], capsys)
    assert rc == 2 and "--out" in err
    rc, _, err = _cli(["predict", "--input", str(tmp_path / "missing.txt"), "--types", "person",
                       "--out", str(tmp_path / "o.jsonl"), "--model", str(tiny_dir)], capsys)
    assert rc == 2 and "missing.txt" in err and "Traceback" not in err


def test_readme_cli_lines_run(tiny_dir, tmp_path, monkeypatch):
    """The shell block under "Use the model": each `uner` line runs as written (the
    optional [...] parts left out, file names pointing at this test's files, the tiny
    model as --model)."""
    import shlex

    from test_export import make_adapter
    from unerlib.cli import main

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use the model", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    lines = [re.sub(r"\s*\[[^\]]*\]", "", line).strip() for line in block.splitlines() if line.startswith("uner ")]
    assert [line.split()[1] for line in lines] == ["predict", "export"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts.jsonl").write_text(json.dumps({"text": "Ada Lovelace met Charles Babbage in London."}) + "\n")
    adapter = make_adapter(tiny_dir, tmp_path / "ADAPTER_DIR")
    for line in lines:
        argv = shlex.split(line)[1:] + ["--model", str(tiny_dir)]
        assert main(argv) in (0, None), line
    assert json.loads((tmp_path / "spans.jsonl").read_text().splitlines()[0])["line"] == 1
    assert (tmp_path / "MODEL_DIR" / "config.json").is_file() and adapter.is_dir()
