"""Span-constrained decoding (unerlib.constrained, HFPredictor(constrain_spans=True)): the
answer is always a JSON list of passage strings, and an answer that already is one is
left as it was.

Besides the tiny random student, a *scripted* model is used (conftest_models.scripted_student):
it answers a chosen text exactly when decoded without the constraint, so the test knows
what the unconstrained answer is.
"""

from __future__ import annotations

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: student_tokenizer, tiny_student, ...)
from unerlib.constrained import DONE, ListState, SpanConstraint, satisfies
from unerlib.inference import Question, parse_entities, predict

PASSAGE = "Paris and Rome are cities in Europe."


@pytest.mark.parametrize("text, ok", [
    ('["Paris", "Rome"]', True),
    (' ["Paris","Rome"] trailing words', True),   # the parser reads nothing after the list
    ("[]", True),
    ('["cities in Europe"]', True),
    ('["Berlin"]', False),                        # not in the passage
    ('["paris"]', False),                         # the passage as written
    ('[""]', False),                              # an empty string
    ('["Paris"', False),                          # not closed
    ('["Paris",\n"Rome"]', False),                # the official regex reads one line
    ('Paris', False),
    ('["Paris" "Rome"]', False),
])
def test_the_list_language(text, ok):
    assert satisfies(text, PASSAGE) is ok


def test_states_follow_tokens_that_span_the_grammar():
    state = ListState().feed(' ["', PASSAGE)
    assert state is not None and state.content == ""
    state = state.feed("Par", PASSAGE).feed("is", PASSAGE)
    assert state.content == "Paris"
    assert state.feed('"]', PASSAGE).mode == DONE
    assert state.feed("isian", PASSAGE) is None
    assert ListState().feed("The", PASSAGE) is None


def test_choose_takes_the_best_allowed_token(student_tokenizer):
    import torch

    tok = student_tokenizer
    c = SpanConstraint(tok, top_k=4)
    state = ListState().feed(' ["', PASSAGE)
    scores = torch.zeros(len(tok))
    rome, berlin = tok("Rome", add_special_tokens=False)["input_ids"][0], tok("Berlin", add_special_tokens=False)["input_ids"][0]
    scores[rome] = 5.0
    assert c.choose(scores, state, PASSAGE)[0] == rome                  # the best is allowed: it is taken
    scores[berlin] = 9.0
    token, after = c.choose(scores, state, PASSAGE)
    assert token == rome and after.content == "Rome"                    # the best is not: the next allowed
    scores[:] = 0.0
    scores[berlin] = 9.0                                                # none of the top 4: all tokens in order
    token, after = c.choose(scores, state, PASSAGE)
    assert after is not None and after.content and after.content in PASSAGE


@pytest.mark.parametrize("answer", [' ["Paris", "Rome"]', " []", ' ["cities in Europe"]'])
def test_an_answer_that_satisfies_the_constraint_is_unchanged(student_tokenizer, answer):
    student = scripted_student(student_tokenizer, answer)
    questions = [Question("q", PASSAGE, "city")]
    plain, _ = predict(student, questions, max_new_tokens=24, progress=False)
    constrained, _ = predict(student, questions, max_new_tokens=24, progress=False, constrain_spans=True)
    assert plain[0].raw.strip() == answer.strip()
    assert constrained[0].raw == plain[0].raw


def test_an_answer_that_does_not_is_made_of_passage_strings(student_tokenizer):
    student = scripted_student(student_tokenizer, ' ["Paris", "Berlin"]')
    questions = [Question("q", PASSAGE, "city")]
    plain, _ = predict(student, questions, max_new_tokens=32, progress=False)
    constrained, _ = predict(student, questions, max_new_tokens=32, progress=False, constrain_spans=True)
    assert "Berlin" in plain[0].entities
    assert constrained[0].raw.startswith(' ["Paris", "')  # the allowed start of the script is kept
    assert all(e in PASSAGE for e in constrained[0].entities)
    if not constrained[0].cap_hit:
        assert satisfies(constrained[0].raw, PASSAGE)


def test_random_student_never_emits_a_string_absent_from_the_passage(tiny_student):
    """The tiny random model, unconstrained, writes no list at all; constrained, every
    answer's strings are pieces of its passage (whatever its windows and batches)."""
    passages = ["Ada Lovelace wrote notes on the Analytical Engine in London.",
                "Paris and Rome are cities.", "Marie Curie won two Nobel prizes."]
    questions = [Question(f"{i}-{t}", p, t) for i, p in enumerate(passages) for t in ("person", "city", "prize")]
    preds, _ = predict(tiny_student, questions, max_new_tokens=24, progress=False, constrain_spans=True)
    for q, p in zip(questions, preds):
        assert p.raw.lstrip().startswith("[")
        assert all(e in q.passage for e in parse_entities(p.raw))
        if not p.cap_hit:
            assert satisfies(p.raw, q.passage), p.raw


def test_the_constraint_is_refused_where_it_does_not_apply(tiny_student):
    questions = [Question("q", PASSAGE, "city")]
    with pytest.raises(ValueError, match="fast method"):
        predict(tiny_student, questions, method="official", constrain_spans=True)
    with pytest.raises(ValueError, match="hf backend"):
        predict(tiny_student, questions, backend="vllm", constrain_spans=True)


def test_the_api_passes_the_constraint_on(bracket_student):
    """UniNER(constrain_spans=True): every answer of the windows asked is a passage string."""
    from unerlib.api import UniNER

    ner = UniNER.from_student(bracket_student, max_new_tokens=12, window_tokens=24, overlap_tokens=4,
                              constrain_spans=True)
    questions = [Question(f"q{i}", p, t) for i, p in enumerate(["Ada Lovelace wrote notes in London.",
                                                                 "Paris and Rome are cities."])
                 for t in ("person", "city")]
    answers = ner.answer(questions)
    assert any(answers)
    assert all(e in q.passage for q, found in zip(questions, answers) for e in found)


def test_a_fully_tuned_student_folder_loads_as_the_model(tiny_dir):
    """load_student(name, adapter=<a whole model folder>) loads that folder (a student
    trained with lora=False), not the base model with an adapter."""
    from unerlib.student import load_student

    student = load_student("smollm2-135m", str(tiny_dir), device="cpu")
    assert student.model.config.hidden_size == 64
