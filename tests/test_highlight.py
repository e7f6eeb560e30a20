"""The exploration helpers (notebook 07): type lists, highlighted HTML, entities found by a
(tiny, random) student with their offsets, and the counts figure."""

from __future__ import annotations

import html
import re

import matplotlib
import pandas as pd
import pytest
from conftest_models import *  # noqa: F401,F403  (tiny-model fixtures)

from unerlib.data import DataError
from unerlib.highlight import PALETTE, find_entities, highlight_html, parse_types, type_colors

matplotlib.use("Agg")

PASSAGE = "Ada Lovelace met Babbage in London <1843>."


def test_parse_types():
    assert parse_types(" person, location ,person,, ") == ["person", "location"]
    assert parse_types(["a", " b "]) == ["a", "b"]
    with pytest.raises(DataError, match="comma list"):
        parse_types(" , ")


def test_type_colors_cycle():
    colors = type_colors([f"t{i}" for i in range(12)])
    assert colors["t0"] == PALETTE[0] and colors["t10"] == PALETTE[0] and colors["t1"] == PALETTE[1]


def test_highlight_html_marks_escapes_and_resolves_overlaps():
    ents = [{"type": "person", "start": 0, "end": 12},
            {"type": "person", "start": 17, "end": 24},
            {"type": "name", "start": 4, "end": 12},          # inside "Ada Lovelace": not marked
            {"type": "location", "start": 28, "end": 34},
            {"type": "date", "start": 35, "end": 41},         # "<1843>" must be escaped
            {"type": "person", "start": None, "end": None}]   # not in the text: legend only counts found
    out = highlight_html(PASSAGE, ents, types=["person", "location", "date", "event"])
    assert out.count("<mark") == 4
    assert ">Ada Lovelace<sup" in out and ">Babbage<sup" in out and ">London<sup" in out
    assert "&lt;1843&gt;" in out and "<1843>" not in out
    assert f'background:{PALETTE[0]}' in out and f'background:{PALETTE[2]}' in out
    assert "person (2)" in out and "event (0)" in out and "name (1)" in out
    # the legend lists types in the given order, then the others
    assert out.index("person (2)") < out.index("event (0)") < out.index("name (1)")
    # the visible text is the passage, unchanged
    body = re.sub(r"<sup[^>]*>.*?</sup>", "", out.split("<b>Types:")[0])
    assert html.unescape(re.sub(r"<[^>]+>", "", body)) == PASSAGE


def test_highlight_html_takes_a_dataframe_with_missing_offsets():
    table = pd.DataFrame([{"type": "person", "text": "Ada", "start": 0, "end": 3},
                          {"type": "person", "text": "Zed", "start": None, "end": None}])
    out = highlight_html("Ada", table)
    assert out.count("<mark") == 1 and "person (1)" in out
    assert highlight_html("plain", []).count("<mark") == 0


def test_find_entities_with_a_tiny_student(bracket_student):
    table = find_entities(bracket_student, PASSAGE, "person, location", max_new_tokens=6)
    assert list(table.columns) == ["type", "text", "start", "end", "verbatim"]
    assert set(table["type"]) <= {"person", "location"}
    for _, row in table.dropna(subset=["start"]).iterrows():
        found = PASSAGE[int(row["start"]):int(row["end"])]
        assert found == row["text"] if row["verbatim"] else found.lower() == row["text"].lower()
    with pytest.raises(DataError, match="empty"):
        find_entities(bracket_student, "  ", "person")


def test_plot_entity_counts_shows_every_type():
    from unerlib.plots import plot_entity_counts

    table = pd.DataFrame([{"type": "person"}, {"type": "person"}, {"type": "location"}])
    fig = plot_entity_counts(table, ["person", "location", "date"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["date", "location", "person"]
    assert [p.get_width() for p in ax.patches] == [0, 1, 2]
    empty = plot_entity_counts(pd.DataFrame(columns=["type"]), ["x"])
    assert [p.get_width() for p in empty.axes[0].patches] == [0]
