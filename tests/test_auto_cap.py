"""The "auto" answer cap (unerlib.evaluation.answer_cap): the longest gold answer of the
evaluated questions in student tokens plus a margin, so the cap can never cut a correct
answer; evaluations record the cap each set used."""

from __future__ import annotations

import json
from pathlib import Path

from conftest_models import *  # noqa: F401,F403  (fixtures: student_tokenizer, tiny_student, tiny_dir)
from unerlib.evaluation import CAP_MARGIN, answer_cap, evaluate_sets
from unerlib.instructions import encode_answer

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_cap_is_the_longest_gold_answer_plus_the_margin(student_tokenizer):
    golds = ['["Paris"]', "[]", None, '["Barack Obama", "Angela Merkel"]']
    longest = len(encode_answer(student_tokenizer, ["Barack Obama", "Angela Merkel"]))
    assert answer_cap(golds, student_tokenizer) == longest + CAP_MARGIN
    assert answer_cap(golds, student_tokenizer, margin=0) == longest
    assert answer_cap(["[]", None], student_tokenizer, margin=5) == 5 + len(encode_answer(student_tokenizer, []))
    assert answer_cap(["not json"], student_tokenizer, margin=0) > 0  # measured as text


def test_evaluations_record_the_cap_they_used(tiny_dir, tmp_path):
    data = str(FIXTURES / "uniner.json")
    golds = [turn["value"] for item in json.loads(Path(data).read_text())
             for turn in item["conversations"][3::2]]
    from unerlib.student import load_tokenizer

    expected = answer_cap(golds, load_tokenizer(str(tiny_dir)))
    auto = evaluate_sets(str(tiny_dir), None, sets=[data], limit=None, max_new_tokens="auto", progress=False,
                         root=tmp_path)
    fixed = evaluate_sets(str(tiny_dir), None, sets=[data], limit=None, max_new_tokens=7, progress=False,
                          root=tmp_path)
    assert int(auto["max_new_tokens"].iloc[0]) == expected and int(fixed["max_new_tokens"].iloc[0]) == 7
    assert auto["key"].iloc[0] != fixed["key"].iloc[0]
    # the cap is the whole split's at any limit, so the first sentence is cut from the full evaluation
    first = evaluate_sets(str(tiny_dir), None, sets=[data], limit=1, max_new_tokens="auto", progress=False,
                          root=tmp_path)
    assert int(first["max_new_tokens"].iloc[0]) == expected
    folder = tmp_path / "evaluations" / first["key"].iloc[0]
    assert json.loads((folder / "params.json").read_text())["answer_cap"] == "auto"
    assert (folder / "source.json").is_file()  # cut from the larger one, not answered again
    # the cap is measured once per set and read back after
    caps = [json.loads(f.read_text())["cap"] for f in (tmp_path / "answer_caps").glob("*/cap.json")]
    assert caps == [expected]


def test_the_answers_sentence_names_the_caps_used():
    import pandas as pd

    from unerlib.intervals import answers_sentence

    rows = pd.DataFrame({"questions": [10, 10], "cap_hits": [1, 0], "loop_stops": [1, 0], "loops_capped": [1, 0],
                         "parse_failures": [1, 0], "max_new_tokens": [45, 131]})
    assert "45 to 131" in answers_sentence(rows, "auto")
    assert "cap of 256 new tokens" in answers_sentence(rows.assign(max_new_tokens=256), "auto")
    assert "cap of 99 new tokens" in answers_sentence(rows.drop(columns="max_new_tokens"), 99)
