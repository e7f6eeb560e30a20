"""One type per entity (unerlib.typechoice and predict(one_type_per_entity=True)): entity
scores located in the answer's tokens, the choice across the answers of a passage, and the
answer texts it leaves."""

from __future__ import annotations

import math

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: student_tokenizer, tiny_student, ...)
from unerlib.inference import Question, parse_entities, predict
from unerlib.typechoice import entity_scores, filtered_answer, keep_one_type


def test_an_entity_is_scored_up_to_its_first_token():
    pieces = [' ["', "Eli", " Lilly", '",', ' "', "Rome", '"]']
    lps = [-0.1, -1.0, -0.2, -0.1, -0.3, -2.0, -0.1]
    raw = "".join(pieces)
    scored = entity_scores(raw, pieces, lps)
    assert [e for e, _ in scored] == ["Eli Lilly", "Rome"]
    assert math.isclose(scored[0][1], -1.1)        # ' ["' and 'Eli'
    assert math.isclose(scored[1][1], -3.7)        # everything up to 'Rome'
    assert entity_scores(" []", [" []"], [-0.5]) == []
    assert entity_scores("no list", ["no", " list"], [-1.0, -1.0]) == []


def test_each_entity_stays_under_its_best_type_only():
    answers = [[("Eli Lilly", -3.0)],                   # company
               [("eli lilly", -1.0), ("Rome", -2.0)],   # the best for Eli Lilly (normalised match)
               [("Eli Lilly.", -1.0)],                  # a tie: the first best answer keeps it
               []]
    assert keep_one_type(answers) == [[], ["eli lilly", "Rome"], [], []]


def test_an_answer_is_rewritten_only_when_it_loses_an_entity():
    scored = [("Paris", -1.0), ("Rome", -2.0)]
    assert filtered_answer(' ["Paris", "Rome"]', scored, ["Paris", "Rome"]) == ' ["Paris", "Rome"]'
    assert filtered_answer(' ["Paris", "Rome"]', scored, ["Rome"]) == ' ["Rome"]'
    assert filtered_answer(' ["Paris"]', scored[:1], []) == " []"


def test_predict_keeps_an_entity_under_one_type(student_tokenizer):
    """A student that names Paris and Rome for every type (equal scores): with the option
    the first type asked keeps both and the others answer ``[]``; a second passage keeps
    its own copy (the choice is per passage)."""
    student = scripted_student(student_tokenizer, ' ["Paris", "Rome"]')
    passages = ["Paris and Rome are cities.", "Rome is older than Paris."]
    questions = [Question(f"{i}-{t}", p, t) for i, p in enumerate(passages) for t in ("city", "capital", "place")]
    plain, _ = predict(student, questions, max_new_tokens=12, progress=False)
    one, _ = predict(student, questions, max_new_tokens=12, progress=False, one_type_per_entity=True)
    assert all(p.entities == ["Paris", "Rome"] for p in plain)
    assert [p.entities for p in one] == [["Paris", "Rome"], [], []] * 2
    assert one[0].raw == plain[0].raw and one[1].raw.strip() == "[]"


def test_predict_on_random_answers(bracket_student):
    """On the bracket student (random answers), no normalised entity appears under two
    types of one passage, and every kept entity was in the answer without the option."""
    from unerlib.metrics import normalize_answer

    passages = ["Ada Lovelace wrote notes on the Analytical Engine in London.", "Paris and Rome are cities."]
    questions = [Question(f"{i}-{t}", p, t) for i, p in enumerate(passages) for t in ("person", "city", "date")]
    plain, _ = predict(bracket_student, questions, max_new_tokens=10, progress=False)
    one, _ = predict(bracket_student, questions, max_new_tokens=10, progress=False, one_type_per_entity=True)
    for passage in passages:
        seen = [normalize_answer(e) for q, p in zip(questions, one) if q.passage == passage for e in p.entities]
        assert len(seen) == len(set(seen))
    for a, b in zip(plain, one):
        assert set(b.entities) <= set(a.entities)
        if b.entities == a.entities:
            assert b.raw == a.raw


def test_the_option_is_refused_where_it_does_not_apply(tiny_student):
    questions = [Question("q", "Paris.", "city")]
    with pytest.raises(ValueError, match="fast method"):
        predict(tiny_student, questions, method="naive", one_type_per_entity=True)


def test_the_api_passes_the_option_on(student_tokenizer):
    """UniNER(one_type_per_entity=True): of the types asked about one text, only the first
    keeps the entities a student names for every type; without the option each type has them."""
    from unerlib.api import UniNER

    student = scripted_student(student_tokenizer, ' ["Paris", "Rome"]')
    text = "Paris and Rome are cities."

    def labelled(ner):
        return sorted((e["label"], e["text"]) for e in ner.predict_entities(text, ["city", "capital"]))

    plain = labelled(UniNER.from_student(student, max_new_tokens=12))
    one = labelled(UniNER.from_student(student, max_new_tokens=12, one_type_per_entity=True))
    assert plain == [("capital", "Paris"), ("capital", "Rome"), ("city", "Paris"), ("city", "Rome")]
    assert one == [("city", "Paris"), ("city", "Rome")]
