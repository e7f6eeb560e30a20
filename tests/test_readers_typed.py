"""Readers of the fine- and free-type corpora (MANIFEST section 6): FIGER-style JSON lines,
GLiNER JSON, MultiCoNER's commented columns; corrupted copies name the file and record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unerlib.data import DataError, read_columns
from unerlib.readers_typed import figer_type, read_gliner_json, read_token_spans_json
from unerlib.registry import VALIDATION, dataset_role, natural_type

FIXTURES = Path(__file__).parent / "fixtures"


def _triples(rec):
    return [(m.text, m.type, m.start, m.end) for m in rec.mentions]


def test_figer_every_label_of_a_path_is_a_mention():
    recs = read_token_spans_json(FIXTURES / "figer.json")
    assert len(recs) == 2  # the blank line is skipped
    assert recs[0].text == "The UW Department of Chemistry hired Ada ."
    assert ("UW", "/organization/educational_institution", 4, 6) in _triples(recs[0])
    assert ("UW", "/organization", 4, 6) in _triples(recs[0])
    assert ("Department of Chemistry", "/education/department", 7, 30) in _triples(recs[0])
    assert recs[1].mentions == []


def test_figer_coarse_view_keeps_top_level_labels():
    """max_depth=1 keeps /organization and drops /organization/educational_institution."""
    recs = read_token_spans_json(FIXTURES / "figer.json", max_depth=1)
    assert all(m.type.count("/") == 1 for m in recs[0].mentions)
    assert ("UW", "/organization", 4, 6) in _triples(recs[0])
    assert ("UW", "/organization/educational_institution", 4, 6) not in _triples(recs[0])


def test_multiconer_coarse_groups():
    """Each of the task's 36 fine labels (the English data uses 33) has one of the six coarse
    groups, and the coarse view names the fixture's mentions by them."""
    from unerlib.registry import MULTICONER_COARSE, get_spec

    assert len(MULTICONER_COARSE) == 36
    assert set(MULTICONER_COARSE.values()) == set(get_spec("multiconer2_coarse").types)
    recs = read_columns(FIXTURES / "multiconer.conll", token_col=0, tag_col=3, sep=None, ncols=4, comment="# id")
    assert [natural_type(m.type, MULTICONER_COARSE) for m in recs[0].mentions] == ["person", "group"]


def test_gliner_end_is_inclusive():
    recs = read_gliner_json(FIXTURES / "gliner.json")
    assert _triples(recs[0]) == [("Ada", "Person", 0, 3), ("cello", "musical instrument", 14, 19),
                                 ("Paris", "City", 23, 28)]


def test_multiconer_headers_are_skipped():
    recs = read_columns(FIXTURES / "multiconer.conll", token_col=0, tag_col=3, sep=None, ncols=4, comment="# id")
    assert [r.text for r in recs] == ["eli lilly founded eli lilly", "the flu"]
    assert [(m.text, m.type) for m in recs[0].mentions] == [("eli lilly", "OtherPER"), ("eli lilly", "PublicCorp")]


def test_natural_names_of_fine_labels():
    assert figer_type("/organization/sports_team") == "sports team"
    assert natural_type("/person") == "person"
    assert natural_type("/location/body_of_water") == "body of water"
    assert natural_type("B-OtherPER") == "other person"
    assert natural_type("B-HumanSettlement") == "human settlement"
    assert natural_type("B-Medication/Vaccine") == "medication or vaccine"


def test_validation_corpora_are_neither_sources_nor_test_sets():
    assert {dataset_role(n) for n in VALIDATION} == {"validation"}


def _figer_line(**change) -> str:
    item = {"tokens": ["Ada", "ran"], "mentions": [{"start": 0, "end": 1, "labels": ["/person"]}]}
    item.update(change)
    return json.dumps(item)


@pytest.mark.parametrize("line, words", [
    ("{not json", "line 2: not JSON"),
    (json.dumps({"mentions": []}), "no 'tokens'"),
    (_figer_line(tokens="Ada ran"), "'tokens' must be a list"),
    (_figer_line(mentions=[{"start": 0, "labels": ["/person"]}]), "needs 'start', 'end' and 'labels'"),
    (_figer_line(mentions=[{"start": 0, "end": 5, "labels": ["/person"]}]), "outside the sentence"),
    (_figer_line(mentions=[{"start": "0", "end": 1, "labels": ["/person"]}]), "must be integers"),
    (_figer_line(mentions=[{"start": 0, "end": 1, "labels": []}]), "non-empty list"),
])
def test_corrupted_figer_lines(tmp_path, line, words):
    path = tmp_path / "bad.json"
    path.write_text(_figer_line() + "\n" + line + "\n")
    with pytest.raises(DataError) as err:
        read_token_spans_json(path)
    assert str(path) in str(err.value) and words in str(err.value)
    if "not JSON" not in words:
        assert "line 2" in str(err.value)


@pytest.mark.parametrize("record, words", [
    ({"ner": []}, "no 'tokenized_text'"),
    ({"tokenized_text": ["a"], "ner": [[0, 0]]}, "[start, end, label]"),
    ({"tokenized_text": ["a"], "ner": [[0, 3, "x"]]}, "outside the sentence"),
    ({"tokenized_text": ["a"], "ner": [[0, 0, ""]]}, "label must be a string"),
])
def test_corrupted_gliner_records(tmp_path, record, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"tokenized_text": ["ok"], "ner": []}, record]))
    with pytest.raises(DataError) as err:
        read_gliner_json(path)
    assert str(path) in str(err.value) and "record 1" in str(err.value) and words in str(err.value)


def test_missing_files(tmp_path):
    for reader in (read_token_spans_json, read_gliner_json):
        with pytest.raises(DataError, match="nothing.json"):
            reader(tmp_path / "nothing.json")


def test_validation_splits_of_the_shared_data(data_root):
    """The registered section-6 corpora read from the shared data; ``name:split`` picks a
    split for evaluation (the validation suite uses dev splits, not test)."""
    from unerlib.inference import load_questions
    from unerlib.registry import dataset_types, load_dataset

    dev = load_dataset("multiconer2", "dev", data_root)
    assert len(dev) == 871 and len(dataset_types("multiconer2", dev)) == 33
    assert "human settlement" in dataset_types("multiconer2", dev)
    figer = load_dataset("figer_gold", "test", data_root)
    assert len(figer) == 434 and "sports team" in dataset_types("figer_gold", figer)
    coarse = load_dataset("multiconer2_coarse", "dev", data_root)
    assert [r.text for r in coarse] == [r.text for r in dev]
    assert sum(len(r.mentions) for r in coarse) == sum(len(r.mentions) for r in dev)
    assert {m.type for r in coarse for m in r.mentions} == set(dataset_types("multiconer2_coarse"))
    figer_coarse = load_dataset("figer_gold_coarse", "test", data_root)
    assert len(dataset_types("figer_gold_coarse", figer_coarse)) == 15 and "sports team" not in dataset_types(
        "figer_gold_coarse", figer_coarse)
    q_dev = load_questions("wfb_1k:dev", limit=2, root=data_root)
    q_test = load_questions("wfb_1k", limit=2, root=data_root)
    assert {q.passage for q in q_dev}.isdisjoint({q.passage for q in q_test})
    assert len({q.passage for q in q_dev}) == 2 and all(q.id.startswith("wfb_1k:dev") for q in q_dev)


def test_sampled_views_read_the_same_sentences_in_a_seeded_order(data_root):
    """The MultiCoNER II dev file opens with a run of person names; the ``_sample`` views read
    the same sentences in a seeded random order, so the campaign's first N sentences are a
    sample of the split: same sentences and mentions, another order, the same order every time,
    ids numbered in it; no single type holds most gold mentions of its first 100 sentences, as one
    does of the file's first 40."""
    from collections import Counter

    from unerlib.registry import dataset_types, get_spec, load_dataset

    dev = load_dataset("multiconer2", "dev", data_root)
    for name, plain in (("multiconer2_sample", dev), ("multiconer2_coarse_sample",
                                                      load_dataset("multiconer2_coarse", "dev", data_root))):
        sample = load_dataset(name, "dev", data_root)
        assert get_spec(name).shuffle_seed is not None
        assert sorted(r.text for r in sample) == sorted(r.text for r in plain)
        assert [r.text for r in sample] != [r.text for r in plain]
        assert [r.text for r in sample] == [r.text for r in load_dataset(name, "dev", data_root)]
        assert [r.id for r in sample] == [f"{name}/dev/{i}" for i in range(len(sample))]
        assert sorted((m.text, m.type) for r in sample for m in r.mentions) == sorted(
            (m.text, m.type) for r in plain for m in r.mentions)
        assert dataset_types(name, sample) == dataset_types(name.removesuffix("_sample"), plain)
    # the title-cased view: the coarse sample's sentences, order and mentions, its type names capitalized
    coarse, titled = (load_dataset(n, "dev", data_root) for n in ("multiconer2_coarse_sample", "multiconer2_coarse_titled"))
    assert [r.text for r in titled] == [r.text for r in coarse]
    assert [[(m.text, m.type.lower()) for m in r.mentions] for r in titled] == [
        [(m.text, m.type) for m in r.mentions] for r in coarse]
    assert tuple(dataset_types("multiconer2_coarse_titled")) == ("Person", "Location", "Group", "Creative Work", "Product",
                                                          "Medical Entity")
    first = Counter(m.type for r in dev[:40] for m in r.mentions)  # the first suite read these 40
    sampled = Counter(m.type for r in load_dataset("multiconer2_sample", "dev", data_root)[:100] for m in r.mentions)
    assert first.most_common(1)[0][1] > 0.5 * sum(first.values())  # the file's opening: mostly one type
    assert sampled.most_common(1)[0][1] < 0.3 * sum(sampled.values())
