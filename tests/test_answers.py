"""How answers end (unerlib.decoder / unerlib.inference): loops set aside and decoded on to
their end (the same answers as without the stop), cap hits and parse failures counted, on
crafted answers and a crafted prediction file."""

from __future__ import annotations

import json

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: student_tokenizer, tiny_student, ...)
from unerlib.decoder import HFPredictor
from unerlib.inference import Question, answer_health, predict
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


def test_an_unclosed_loop_scores_empty():
    """The official parser reads nothing of an unclosed list, cut early or at the cap."""
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
             {"id": "7", "prediction": ' []', "stop": "end"},  # white space before the list: still empty
             {"id": "8", "prediction": '["Oslo", ' * 20, "stop": "loop", "cap_hit": True}]  # a loop run to the cap
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    read = [json.loads(x) for x in path.read_text().splitlines()]
    golds = ['["Paris"]', "[]", '["Paris"]', "[]", "[]", "[]", "[]", "[]"]
    raws, stops = [x["prediction"] for x in read], [x.get("stop", "end") for x in read]
    caps = [x.get("cap_hit", x.get("stop") == "cap") for x in read]
    health = answer_health(raws, stops, golds, caps)
    assert health == {"answers": 8, "parse_failures": 4, "cap_hits": 2, "loop_stops": 2, "loops_capped": 1,
                      "empty": 2, "gold_empty": 6}
    assert answer_health(raws, stops, golds)["cap_hits"] == 1  # without flags: stop reason "cap" only
    with pytest.raises(ValueError):
        answer_health(["[]"], [])
    with pytest.raises(ValueError):
        answer_health(["[]"], ["end"], None, [])


def test_finish_loops_continues_an_answer_exactly(tiny_student):
    """An answer cut after a few tokens and handed to finish_loops (with other, longer
    answers in its batch) ends as the answer decoded in one go without any stop."""
    engine = HFPredictor(tiny_student.model, tiny_student.tokenizer, max_new_tokens=24, stop_loops=False,
                         stop_unparseable=False)
    from unerlib.instructions import encode_prompts

    prompt = encode_prompts(engine.tokenizer, "Paris and Rome are cities.", ["city", "person", "country"])
    whole = engine.answer_many([prompt])[0]
    fulls = [prompt.prefix + q for q in prompt.questions]
    cuts = [ids[:k] for ids, k in zip(whole, (2, 5, 1))]
    assert engine.finish_loops(fulls, cuts, max_batch=2) == whole


def test_loops_set_aside_give_the_answers_of_no_stop(tiny_student, monkeypatch):
    """predict with the loop stop (every answer 'looping' at its third token, so all are set
    aside and finished later) answers exactly as predict without it; stops say loop."""
    questions = [Question(f"{i}-{t}", p, t) for i, p in enumerate(["Paris and Rome.", "Ada Lovelace wrote notes."])
                 for t in ("city", "person")]
    monkeypatch.setattr(HFPredictor, "_opens_list", lambda self, ids: True)  # random weights: no '['
    plain, _ = predict(tiny_student, questions, max_new_tokens=16, stop_loops=False, progress=False)
    monkeypatch.setattr(HFPredictor, "looping", lambda self, ids, **kw: len(ids) == 3)
    aside, _ = predict(tiny_student, questions, max_new_tokens=16, stop_loops=True, progress=False)
    assert [p.raw for p in aside] == [p.raw for p in plain]
    assert {p.stop for p in aside if len(p.raw) > 0} <= {"loop", "end", "cap"}
    assert any(p.stop == "loop" for p in aside)


def test_empty_bias_makes_answers_empty(tiny_student, monkeypatch):
    """A large bonus for ``[]`` at the first token turns every answer into ``[]``; a bias of
    0 leaves the answers as they were; the vllm backend refuses the option."""
    from unerlib.decoder import empty_answer_ids

    assert [tiny_student.tokenizer.decode([i]).strip() for i in empty_answer_ids(tiny_student.tokenizer)] \
        and all(tiny_student.tokenizer.decode([i]).strip() == "[]" for i in empty_answer_ids(tiny_student.tokenizer))
    questions = [Question(f"q{i}", p, t) for i, p in enumerate(["Paris and Rome.", "Ada wrote notes."])
                 for t in ("city", "person")]
    plain, _ = predict(tiny_student, questions, max_new_tokens=8, progress=False)
    zero, _ = predict(tiny_student, questions, max_new_tokens=8, progress=False, empty_bias=0.0)
    assert [p.raw for p in zero] == [p.raw for p in plain]
    biased, _ = predict(tiny_student, questions, max_new_tokens=8, progress=False, empty_bias=1e4)
    assert all(p.raw.strip() == "[]" and p.entities == [] for p in biased)
    with pytest.raises(ValueError, match="hf backend"):
        predict(tiny_student, questions, backend="vllm", empty_bias=1.0)
    with pytest.raises(ValueError, match="fast method"):
        predict(tiny_student, questions, method="naive", empty_bias=1.0)


def test_empty_bias_with_loops_set_aside(tiny_student, monkeypatch):
    """Loops set aside under an empty_bias are finished (the bias applies to first tokens
    only, and a loop has none left) and answer as decoding without the stop does."""
    questions = [Question(f"{i}-{t}", p, t) for i, p in enumerate(["Paris and Rome.", "Ada Lovelace wrote notes."])
                 for t in ("city", "person")]
    monkeypatch.setattr(HFPredictor, "_opens_list", lambda self, ids: True)  # random weights: no '['
    plain, _ = predict(tiny_student, questions, max_new_tokens=12, stop_loops=False, progress=False, empty_bias=0.5)
    monkeypatch.setattr(HFPredictor, "looping", lambda self, ids, **kw: len(ids) == 3)
    aside, _ = predict(tiny_student, questions, max_new_tokens=12, stop_loops=True, progress=False, empty_bias=0.5)
    assert [p.raw for p in aside] == [p.raw for p in plain]
    assert any(p.stop == "loop" for p in aside)
