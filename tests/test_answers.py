"""How answers end (unerlib.decoder / unerlib.inference): loops stopped, cap hits and parse
failures counted, on crafted answers and a crafted prediction file; a loop stopped early
scores as the same answer run on to the cap does."""

from __future__ import annotations

import json

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: student_tokenizer, tiny_student, ...)
from unerlib.decoder import HFPredictor
from unerlib.inference import answer_health
from unerlib.metrics import opens_with_list, score


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


@pytest.fixture(scope="module")
def engine(tiny_student):
    return HFPredictor(tiny_student.model, tiny_student.tokenizer, max_new_tokens=64)


def test_a_repeated_item_is_a_loop(engine):
    tok = engine.tokenizer
    # the first item opens with '["', the others with ' "': three equal blocks need four items
    assert engine.looping(_ids(tok, '["Luxembourg", "Luxembourg", "Luxembourg", "Luxembourg",'))
    assert not engine.looping(_ids(tok, '["Luxembourg", "Luxembourg", "Luxembourg",'))
    assert engine.looping(_ids(tok, '["a b", "c", "a b", "c", "a b", "c", "a b", "c",'))  # a block of two items


@pytest.mark.parametrize("text", ['["Luxembourg", "Paris", "Rome", ', '["2000000000000', '["Luxembourg", "Luxembourg", ',
                                  '["... ... ... ... ...', '[]'])
def test_lists_that_are_not_loops(engine, text):
    assert not engine.looping(_ids(engine.tokenizer, text))


def test_stop_reasons(engine):
    tok = engine.tokenizer
    assert engine.stop_reason(_ids(tok, '["Paris"]')) == "end"
    assert engine.stop_reason(_ids(tok, "The answer is")) == "unparseable"
    assert engine.stop_reason(_ids(tok, '["x", "x", "x", "x",')) == "loop"
    capped = HFPredictor(engine.model, tok, max_new_tokens=3)
    assert capped.stop_reason(_ids(tok, '["Paris, Rome')[:3]) == "cap"
    off = HFPredictor(engine.model, tok, max_new_tokens=64, stop_loops=False)
    assert off.stop_reason(_ids(tok, '["x", "x", "x", "x",')) == "end"


def test_a_loop_scores_as_the_capped_answer():
    """The official parser reads nothing of an unclosed list: stopping a loop early and
    running it on to the cap give the same (empty) answer."""
    gold = ['["Luxembourg"]']
    stopped = '["Luxembourg", "Luxembourg", "Luxembourg", '
    capped = '["Luxembourg", ' * 60
    assert score([stopped], gold) == score([capped], gold)
    assert score([stopped], gold)["n_pred"] == 0


@pytest.mark.parametrize("raw, readable", [('["Paris"]', True), ("[]", True), (' ["a", "b"] trailing', True),
                                           ("Paris", False), ('["Paris", "Ro', False), ("[1, 2]", False),
                                           ('["a",\n "b"]', False), ("", False)])
def test_opens_with_list(raw, readable):
    assert opens_with_list(raw) is readable


def test_cap_hits_and_parse_failures_of_a_crafted_prediction_file(tmp_path):
    lines = [{"id": "1", "prediction": '["Paris"]', "stop": "end"},
             {"id": "2", "prediction": "[]", "stop": "end"},
             {"id": "3", "prediction": "I think Paris", "stop": "unparseable"},
             {"id": "4", "prediction": '["Rome", "Rome", "Rome", ', "stop": "loop"},
             {"id": "5", "prediction": '["a long list cut', "stop": "cap"},
             {"id": "6", "prediction": '["Oslo"]'},  # an older file: no stop recorded
             {"id": "7", "prediction": ' []', "stop": "end"}]  # white space before the list: still empty
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    read = [json.loads(x) for x in path.read_text().splitlines()]
    golds = ['["Paris"]', "[]", '["Paris"]', "[]", "[]", "[]", "[]"]
    health = answer_health([x["prediction"] for x in read], [x.get("stop", "end") for x in read], golds)
    assert health == {"answers": 7, "parse_failures": 3, "cap_hits": 1, "loop_stops": 1, "empty": 2,
                      "gold_empty": 5}
    with pytest.raises(ValueError):
        answer_health(["[]"], [])
