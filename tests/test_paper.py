"""The paper's numbers live in unerlib.paper only, agree with each other, and stay
importable from their old modules."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import unerlib
from unerlib import paper
from unerlib.data import data_dir
from unerlib.paper import (PAPER_BAND_TYPES, PAPER_BANDS, PAPER_NEGATIVE_SAMPLING, PAPER_SEVEN_SET_AVERAGES,
                           PAPER_SUPERVISED, PAPER_SUPERVISED_AVERAGES, PAPER_SUPERVISED_SYSTEMS, PAPER_TOTALS,
                           seven_set_average)

PACKAGE = Path(unerlib.__file__).parent
PAPER_SOURCE = (PACKAGE / "paper.py").read_text()


def _literals(source: str) -> set[str]:
    """Every number written in ``source`` with a decimal point or thousands separators,
    in each way it could be spelled elsewhere (``13_020``, ``13,020``, ``13020``; ``74.0``, ``74%``)."""
    found = re.findall(r"(?<![\w.])\d[\d_]*\.\d+|(?<![\w.])\d{1,3}(?:_\d{3})+", source)
    forms = set()
    for n in found:
        forms |= {n, n.replace("_", ","), n.replace("_", "")}
        if n.endswith(".0"):
            forms.add(n[:-2] + "%")
    return forms


def _hits(text: str, forms: set[str]) -> list[str]:
    """The paper numbers ``text`` spells out (not as part of a longer number)."""
    return sorted(f for f in forms if re.search(r"(?<![\w.,])" + re.escape(f) + r"(?![\w]|[.,]\d)", text))


def test_ablation_rows_average_to_the_stated_averages():
    for strategy, values in PAPER_NEGATIVE_SAMPLING.items():
        assert len(values) == 7
        assert seven_set_average(values) == PAPER_SEVEN_SET_AVERAGES[strategy]
    assert PAPER_SEVEN_SET_AVERAGES["none"] == 31.5
    assert PAPER_SEVEN_SET_AVERAGES["uniform"] == 47.7
    assert PAPER_SEVEN_SET_AVERAGES["frequency"] == PAPER_SEVEN_SET_AVERAGES["UniNER-7B"] == 53.4
    assert PAPER_SEVEN_SET_AVERAGES["Vicuna-7B"] == 13.0 and PAPER_SEVEN_SET_AVERAGES["ChatGPT"] == 47.5


def test_supervised_columns_average_as_printed():
    assert len(PAPER_SUPERVISED) == 20
    assert all(len(v) == len(PAPER_SUPERVISED_SYSTEMS) for v in PAPER_SUPERVISED.values())
    averages = tuple(round(sum(v[k] for v in PAPER_SUPERVISED.values()) / 20, 2) for k in range(3))
    assert averages == PAPER_SUPERVISED_AVERAGES
    assert "Table 2" in paper.PAPER_SUPERVISED_SOURCE


def test_type_frequency_figures_agree():
    assert sum(PAPER_BANDS.values()) == 100
    assert sum(PAPER_BAND_TYPES.values()) == PAPER_TOTALS["types"]
    assert list(PAPER_BAND_TYPES) == list(PAPER_BANDS)


def test_published_table_agrees_with_the_headline_averages():
    path = data_dir() / "reference" / "published_zero_shot.csv"
    if not path.is_file():
        pytest.skip(f"{path} not present (set UNER_DATA_DIR)")
    rows = {r["model"]: r for r in csv.DictReader(path.open())}
    assert float(rows["Vicuna-7B"]["avg"]) == PAPER_SEVEN_SET_AVERAGES["Vicuna-7B"]
    assert float(rows["ChatGPT"]["avg"]) == PAPER_SEVEN_SET_AVERAGES["ChatGPT"]
    uniner = rows["UniNER-7B-type"]
    assert float(uniner["avg"]) == PAPER_SEVEN_SET_AVERAGES["UniNER-7B"]
    sets = ("movie", "restaurant", "ai", "literature", "music", "politics", "science")
    assert tuple(float(uniner[s]) for s in sets) == PAPER_NEGATIVE_SAMPLING["frequency"]


def test_old_import_paths_still_work():
    from unerlib.experiments import PAPER_SUPERVISED as from_experiments
    from unerlib.experiments import PAPER_SUPERVISED_SOURCE, PAPER_TO_REGISTRY
    from unerlib.results import PAPER_NEGATIVE_SAMPLING as from_results
    from unerlib.typefreq import PAPER_BANDS as bands, PAPER_TOTALS as totals

    assert from_experiments is PAPER_SUPERVISED and from_results is PAPER_NEGATIVE_SAMPLING
    assert bands is PAPER_BANDS and totals is PAPER_TOTALS
    assert PAPER_SUPERVISED_SOURCE is paper.PAPER_SUPERVISED_SOURCE and PAPER_TO_REGISTRY is paper.PAPER_TO_REGISTRY


def test_the_grep_finds_a_planted_number():
    forms = _literals(PAPER_SOURCE)
    assert {"53.4", "31.5", "47.7", "13,020", "45,889", "13_020", "45889", "74%"} <= forms
    assert _hits('f"(the paper: 53.4 against 31.5)"', forms) == ["31.5", "53.4"]
    assert _hits("45,889 passages", forms) == ["45,889"]
    assert _hits("version 153.41 and 0.5", forms) == []


def test_no_other_module_spells_out_a_paper_number():
    forms = _literals(PAPER_SOURCE)
    offenders = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name != "paper.py":
            hits = _hits(path.read_text(), forms)
            if hits:
                offenders[path.name] = hits
    assert offenders == {}, f"paper numbers outside unerlib/paper.py: {offenders}"
