"""The widget explorer of notebook 07 (unerlib.explorer) with a stub predictor: the form is
built, text and types are typed in, the button is clicked, the outputs update in place."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

from unerlib.explorer import OTHER_ADAPTER, explorer, in_jupyter_server, table_html  # noqa: E402


class Stub:
    """Answers every type with the words of the passage that start with its first letter."""

    def __init__(self):
        self.calls = []

    def __call__(self, passage, types, model, adapter):
        self.calls.append((passage, types, model, adapter))
        rows = []
        for typ in [t.strip() for t in types.split(",")]:
            for word in passage.split():
                if word[0].lower() == typ[0]:
                    start = passage.index(word)
                    rows.append({"type": typ, "text": word, "start": start, "end": start + len(word),
                                 "verbatim": True})
        rows.append({"type": typ, "text": "Nowhere", "start": None, "end": None, "verbatim": False})
        return pd.DataFrame(rows, columns=["type", "text", "start", "end", "verbatim"])


def test_click_updates_highlight_and_table():
    stub = Stub()
    ui = explorer(stub, passage="old text", types="person", model="base", adapter="artifacts/students/abc")
    assert list(ui.choice.options) == ["tuned", "untuned", OTHER_ADAPTER]
    assert ui.highlight.value == "" and ui.table.value == ""
    ui.text.value = "Paris loves Lyon"
    ui.types.value = "place, language, place"
    ui.button.click()
    assert stub.calls == [("Paris loves Lyon", "place, language", "base", "artifacts/students/abc")]
    assert "<mark" in ui.highlight.value and ">Paris<sup" in ui.highlight.value
    assert ">Lyon<sup" in ui.highlight.value and "language (2)" in ui.highlight.value
    table = ui.table.value
    assert "<table" in table and "Paris" in table and "Nowhere" in table and "<td>0</td>" in table
    assert list(ui.entities["text"]) == ["Paris", "loves", "Lyon", "Nowhere"]
    assert "4 answers, 3 located" in ui.status.value and not ui.button.disabled
    # the untuned base model, then an adapter folder typed in
    ui.choice.value = "untuned"
    ui.text.value = "Rome"
    ui.button.click()
    assert stub.calls[-1] == ("Rome", "place, language", "base", None)
    assert "Rome" in ui.highlight.value and "<mark" not in ui.highlight.value  # nothing found: no mark
    assert "Paris" not in ui.table.value and "Nowhere" in ui.table.value
    ui.choice.value = OTHER_ADAPTER
    ui.adapter.value = " /tmp/my-adapter "
    ui.button.click()
    assert stub.calls[-1][3] == "/tmp/my-adapter"


def test_errors_show_in_the_form():
    def broken(passage, types, model, adapter):
        raise FileNotFoundError("adapter not found: /nope")

    ui = explorer(Stub(), passage="Paris", types="  ,  ")
    ui.button.click()
    assert "no entity type" in ui.status.value and ui.highlight.value == ""
    ui = explorer(broken, passage="Paris", types="place")
    ui.button.click()
    assert "FileNotFoundError" in ui.status.value and "/nope" in ui.status.value
    assert not ui.button.disabled


def test_table_html_empty_and_offsets():
    assert "No entity" in table_html(pd.DataFrame(columns=["type", "text", "start", "end", "verbatim"]))
    html = table_html(pd.DataFrame([{"type": "a", "text": "x", "start": 3.0, "end": float("nan"), "verbatim": True}]))
    assert "<td>3</td>" in html and "3.0" not in html


def test_default_predictor_reuses_a_loaded_student():
    from unerlib.explorer import StudentPredictor

    ui = explorer(passage="x", types="person", model="m", adapter="a", preloaded=object())
    assert isinstance(ui.predict, StudentPredictor) and ("m", "a") in ui.predict.students


def test_in_jupyter_server(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert not in_jupyter_server()
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/u/notebooks/07_explore.ipynb")
    assert in_jupyter_server()
