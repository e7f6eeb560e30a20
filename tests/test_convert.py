"""Conversion to the UniNER evaluation format; acceptance against the official eval files."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from unerlib.convert import ACK, conversation, gold_answer, question, to_uniner, write_json
from unerlib.data import Mention, Record
from unerlib.readers_conversation import iter_uniner_conversations
from unerlib.registry import dataset_types, get_spec, load_dataset


def _records() -> list[Record]:
    return [
        Record("a", "Obama met Merkel in Berlin and Obama left", [
            Mention("Berlin", "location", 20, 26), Mention("Obama", "person", 0, 5),
            Mention("Merkel", "person", 10, 16), Mention("Obama", "person", 31, 36),
            Mention("left", "verb", 37, 41),
        ]),
        Record("b", "Nothing here", []),
    ]


# --------------------------------------------------------------------------- unit


def test_question_and_conversation_format():
    assert question("program language") == "What describes program language in the text?"
    item = conversation("ds_3", "Some text.", "person", ["A", "Ä"])
    assert item == {
        "id": "ds_3",
        "conversations": [
            {"from": "human", "value": "Text: Some text."},
            {"from": "gpt", "value": "I've read this text."},
            {"from": "human", "value": "What describes person in the text?"},
            {"from": "gpt", "value": '["A", "Ä"]'},  # ensure_ascii=False, as in the official files
        ],
    }
    assert ACK == "I've read this text."


def test_gold_answer_order_and_repeats():
    rec = _records()[0]
    assert gold_answer(rec, "person") == ["Obama", "Merkel", "Obama"]  # order of appearance, repeats kept
    assert gold_answer(rec, "location") == ["Berlin"]
    assert gold_answer(rec, "event") == []


def test_to_uniner_one_record_per_sentence_and_type():
    types = ["person", "location", "event"]
    items = to_uniner(_records(), types, "demo")
    assert len(items) == 2 * 3
    assert [it["id"] for it in items] == [f"demo_{i}" for i in range(6)]
    rows = list(_rows(items))
    # each sentence is asked about every type exactly once, its own records together
    assert Counter((p, t) for p, t, _g in rows) == Counter(
        {(r.text, t): 1 for r in _records() for t in types})
    assert [p for p, _t, _g in rows] == ["Obama met Merkel in Berlin and Obama left"] * 3 + ["Nothing here"] * 3
    gold = {(p, t): g for p, t, g in rows}
    assert gold[("Obama met Merkel in Berlin and Obama left", "person")] == ["Obama", "Merkel", "Obama"]
    assert gold[("Obama met Merkel in Berlin and Obama left", "event")] == []
    assert gold[("Nothing here", "location")] == []
    # a mention whose type is not asked about is not in any answer
    assert all("left" not in g for g in gold.values())


def test_to_uniner_seeded_shuffle():
    types = [f"t{i}" for i in range(8)]
    recs = [Record(str(i), f"sentence {i}", []) for i in range(5)]
    a, b = to_uniner(recs, types, "x", seed=1), to_uniner(recs, types, "x", seed=1)
    assert a == b
    c = to_uniner(recs, types, "x", seed=2)
    assert a != c
    assert Counter(map(json.dumps, map(_row, a))) == Counter(map(json.dumps, map(_row, c)))
    orders = [[_row(it)[1] for it in a[i * 8:(i + 1) * 8]] for i in range(5)]
    assert all(sorted(o) == sorted(types) for o in orders)
    assert len({tuple(o) for o in orders}) > 1  # shuffled per sentence


def test_drop_sentence_final():
    rec = Record("a", "Visit Paris or Rome", [Mention("Paris", "location", 6, 11), Mention("Rome", "location", 15, 19)])
    (keep,) = to_uniner([rec], ["location"], "x")
    (drop,) = to_uniner([rec], ["location"], "x", drop_sentence_final=True)
    assert json.loads(keep["conversations"][3]["value"]) == ["Paris", "Rome"]
    assert json.loads(drop["conversations"][3]["value"]) == ["Paris"]
    assert len(rec.mentions) == 2  # the input is not modified


def test_write_json_roundtrip(tmp_path):
    items = to_uniner(_records(), ["person"], "demo")
    path = write_json(items, tmp_path / "sub" / "out.json")
    assert path.is_file()
    assert json.loads(path.read_text(encoding="utf-8")) == items
    got = list(iter_uniner_conversations(path))
    assert got[0] == ("demo_0", "Obama met Merkel in Berlin and Obama left", "person", '["Obama", "Merkel", "Obama"]')


def _row(item: dict) -> tuple[str, str, list]:
    conv = item["conversations"]
    assert conv[0]["value"].startswith("Text: ") and conv[1]["value"] == ACK
    typ = conv[2]["value"][len("What describes "):-len(" in the text?")]
    return conv[0]["value"][len("Text: "):], typ, json.loads(conv[3]["value"])


def _rows(items):
    return (_row(it) for it in items)


# --------------------------------------------------------------------------- acceptance (integration)


def _key(passage: str, typ: str, gold: list) -> tuple[str, str, str]:
    return passage, typ, json.dumps(gold, ensure_ascii=False)


def _official(data_root, name) -> Counter:
    path = data_root / get_spec(name).official["test"]
    return Counter(_key(p, t, json.loads(a)) for _i, p, t, a in iter_uniner_conversations(path))


def _ours(name, data_root, **kw) -> tuple[Counter, list[Record]]:
    records = load_dataset(name, "test", data_root)
    items = to_uniner(records, dataset_types(name), name, **kw)
    return Counter(_key(*_row(it)) for it in items), records


CROSSNER_FULL = ["crossner_ai", "crossner_literature", "crossner_music", "crossner_science"]


@pytest.mark.data
@pytest.mark.parametrize("name", CROSSNER_FULL)
def test_crossner_matches_official(data_root, name):
    official = _official(data_root, name)
    ours, records = _ours(name, data_root)
    assert sum(ours.values()) == sum(official.values())
    common = sum((official & ours).values())
    assert common / sum(official.values()) >= 0.998

    # Why the rest differ: the official files drop an entity that closes its sentence.
    by_text: dict[str, list[Record]] = {}
    for rec in records:
        by_text.setdefault(rec.text, []).append(rec)
    only_official = official - ours
    only_ours = ours - official
    assert sum(only_official.values()) == sum(only_ours.values()) > 0
    explained = Counter()
    for (passage, typ, gold_json), n in only_official.items():
        gold = json.loads(gold_json)
        recs = by_text[passage]
        finals = [m for r in recs for m in r.mentions if m.type == typ and m.end == len(passage)]
        assert finals, f"official record without a sentence-final {typ!r}: {passage!r}"
        ours_gold = gold_answer(recs[0], typ)
        assert ours_gold[-1] == finals[0].text
        assert ours_gold[:-1] == gold  # ours minus the sentence-final entity
        explained[_key(passage, typ, ours_gold)] += n
    assert explained == only_ours


@pytest.mark.data
@pytest.mark.parametrize("name", CROSSNER_FULL)
def test_crossner_matches_official_exactly_with_drop(data_root, name):
    official = _official(data_root, name)
    ours, _ = _ours(name, data_root, drop_sentence_final=True)
    assert ours == official


@pytest.mark.data
def test_crossner_politics_official_is_a_subset(data_root):
    # The official politics file lacks one of the 651 raw test sentences (MANIFEST.md).
    official = _official(data_root, "crossner_politics")
    ours, _ = _ours("crossner_politics", data_root, drop_sentence_final=True)
    assert official - ours == Counter()
    missing = ours - official
    assert sum(missing.values()) == len(dataset_types("crossner_politics")) == 8
    assert {p for p, _t, _g in missing}.pop().startswith(
        "The Mueller Report showed that despite assertions by Hope Hicks and Jason Miller")


@pytest.mark.data
def test_mit_restaurant_matches_official(data_root):
    official = _official(data_root, "mit_restaurant")
    ours, _ = _ours("mit_restaurant", data_root)
    assert sum(official.values()) == 1520 * 8
    assert ours == official
