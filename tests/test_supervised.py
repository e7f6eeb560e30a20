"""Supervised multi-task data (notebook 06): which datasets, the conversion of gold train
splits into Pile-NER-type records, the cached artifact, and the paper's table beside ours."""

from __future__ import annotations

import json
import math
import random

import pandas as pd
import pytest

from unerlib import experiments
from unerlib.construct import load_pile_ner
from unerlib.data import DataError, Mention, Record
from unerlib.supervised import (PAPER_SUPERVISED, PAPER_SUPERVISED_SYSTEMS, PAPER_TO_REGISTRY,
                                build_supervised_data, comparison_long, sample_supervised,
                                supervised_comparison, supervised_record, supervised_sets)
from unerlib.instructions import build_conversations, positive_turns
from unerlib.registry import REGISTRY, dataset_role

TRAIN = ("Carter\tB-Person\nthanked\tO\nAbadi\tB-Person\n.\tO\n\n"
         "Nothing\tO\nhere\tO\n.\tO\n\n"
         "Troops\tO\nleft\tO\nMosul\tB-Location\n.\tO\n\n"
         "Carter\tB-Person\nleft\tO\nIraq\tB-Location\n.\tO\n\n")
TEST = "Carter\tB-Person\nleft\tO\nIraq\tB-Location\n.\tO\n\n"


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    (root / "raw/re3d").mkdir(parents=True)
    (root / "raw/re3d/re3d-train.conll").write_text(TRAIN)
    (root / "raw/re3d/re3d-test.conll").write_text(TEST)
    return root


def test_supervised_sets_have_train_and_test_and_no_duplicates():
    names = supervised_sets("all")
    assert names and all({"train", "test"} <= set(REGISTRY[n].splits) for n in names)
    assert not any(dataset_role(n) == "duplicate" for n in names)
    assert {"conll2003", "mit_restaurant", "re3d", "wnut17"} <= set(names)
    assert "genia" not in names and "wikigold" not in names  # test only / no split
    assert supervised_sets("re3d, conll2003") == ["re3d", "conll2003"]
    with pytest.raises(DataError, match="valid"):
        supervised_sets("genia")
    with pytest.raises(DataError, match="unknown dataset 'conll'"):
        supervised_sets("conll")


def test_supervised_record_asks_every_type():
    rec = Record("x/0", "Carter left Iraq .", [Mention("Carter", "person", 0, 6), Mention("Iraq", "location", 12, 16)])
    item = supervised_record(rec, ["person", "location", "weapon"], "re3d", random.Random(0))
    assert item["source"] == "re3d" and item["conversations"][0]["value"] == "Text: Carter left Iraq ."
    turns = dict(positive_turns(item))
    assert turns == {"person": ["Carter"], "location": ["Iraq"], "weapon": []}
    # the instruction builder keeps the positives (explicit [] answers are dropped there)
    conv = build_conversations([item], "none", 0, 0)[0]
    assert sorted(conv.turns) == [("location", ["Iraq"]), ("person", ["Carter"])]


def test_sample_supervised_is_seeded_with_mentions_and_exclusions(data_root):
    items = sample_supervised("re3d", 10, seed=1, root=data_root)
    passages = [i["conversations"][0]["value"][6:] for i in items]
    assert sorted(passages) == ["Carter left Iraq .", "Carter thanked Abadi .", "Troops left Mosul ."]
    assert sample_supervised("re3d", 10, seed=1, root=data_root) == items
    kept = sample_supervised("re3d", 10, seed=1, exclude_texts={"carter left iraq ."}, root=data_root)
    assert len(kept) == 2
    assert len(sample_supervised("re3d", 1, seed=1, root=data_root)) == 1
    # chunking: two words per window keeps mentions with their window
    chunks = sample_supervised("re3d", 10, seed=0, max_tokens=2, count_tokens=lambda t: len(t.split()),
                               root=data_root)
    assert all(len(i["conversations"][0]["value"][6:].split()) <= 2 for i in chunks)


def test_build_supervised_data_is_cached_and_leaves_test_sentences_out(data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "token_counter", lambda model: (lambda text: len(text.split())))
    path, summary = build_supervised_data("re3d", 5, seed=0, root=tmp_path / "art", data_root=data_root,
                                          progress=False)
    data = load_pile_ner(path)
    assert path.parent.parent.name == "supervised_data"
    assert summary["passages"] == len(data) == 2  # "Carter left Iraq ." is a test sentence
    assert summary["by_dataset"]["re3d"] == {"passages": 2, "entities": 3, "questions": 4, "types": 2}
    assert json.loads((path.parent / "params.json").read_text())["datasets"] == ["re3d"]
    (path.parent / "data.json").write_text("[]")  # a second call reuses the artifact
    again, _ = build_supervised_data(["re3d"], 5, seed=0, root=tmp_path / "art", data_root=data_root)
    assert again == path and load_pile_ner(again) == []
    with pytest.raises(ValueError, match="at least 1"):
        build_supervised_data("re3d", 0, root=tmp_path / "art", data_root=data_root)


def test_paper_table_is_complete_and_averages_as_printed():
    assert len(PAPER_SUPERVISED) == 20
    averages = [sum(v[k] for v in PAPER_SUPERVISED.values()) / 20 for k in range(3)]
    assert [round(a, 2) for a in averages] == [80.09, 81.16, 84.78]
    assert set(PAPER_TO_REGISTRY) <= set(PAPER_SUPERVISED)
    assert set(PAPER_TO_REGISTRY.values()) <= set(REGISTRY)


def test_supervised_comparison_places_ours_beside_the_paper():
    ours = pd.DataFrame([{"dataset": "conll2003", "f1": 50.0, "span_f1": 40.0},
                         {"dataset": "re3d", "f1": 20.0, "span_f1": 10.0}])
    table = supervised_comparison(ours).set_index("dataset")
    assert list(table.columns) == ["registry", *PAPER_SUPERVISED_SYSTEMS, "ours F1", "ours span F1"]
    assert len(table) == 21  # the paper's 20, then re3d
    assert table.loc["CoNLL03", "ours F1"] == 50.0 and table.loc["CoNLL03", "UniNER-7B"] == 93.30
    assert math.isnan(table.loc["ACE05", "ours F1"])
    assert math.isnan(table.loc["re3d", "BERT-base"]) and table.loc["re3d", "ours span F1"] == 10.0
    comparison = supervised_comparison(ours)
    shared = comparison_long(comparison, rows="shared")
    assert set(shared["dataset"]) == {"CoNLL03"} and len(shared) == 4
    assert set(shared["system"]) == {*PAPER_SUPERVISED_SYSTEMS, "ours"}
    mine = comparison_long(comparison)
    assert list(mine["dataset"].drop_duplicates()) == ["CoNLL03", "re3d"]
    assert mine[(mine["dataset"] == "re3d")]["f1"].isna().sum() == 3
    assert len(comparison_long(comparison, rows="all")) == 4 * 21
    with pytest.raises(ValueError, match="rows"):
        comparison_long(comparison, rows="mine")
