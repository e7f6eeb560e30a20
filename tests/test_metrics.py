"""The metric: unerlib.metrics must behave exactly as the official UniversalNER evaluate.py.

Expected counts below are worked out by hand, item by item, in the comments.
"""

from __future__ import annotations

import inspect
import json
import re
import string

import pytest

from unerlib.data import DataError
from unerlib.metrics import (
    PARSERS,
    align,
    load_gold,
    load_predictions,
    normalize_answer,
    official_response,
    parse_lenient,
    parse_official,
    prf,
    score,
    score_by_type,
    score_files,
)

# --------------------------------------------------------------------------- the reference
# The parser of universal-ner/universal-ner src/eval/evaluate.py, written out again here
# (normalize_answer, parser, NEREvaluator.evaluate), plus src/utils.py get_response.


def _official_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def _official_parser(text):
    try:
        match = re.match(r'\[(.*?)\]', text)
        if match:
            text = match.group()
        else:
            text = '[]'
        items = json.loads(text)
        formatted_items = []
        for item in items:
            if isinstance(item, list) or isinstance(item, tuple):
                item = tuple([_official_normalize_answer(element) for element in item])
            else:
                item = _official_normalize_answer(item)
            if item not in formatted_items:
                formatted_items.append(item)
        return formatted_items
    except Exception:
        return []


def _official_evaluate(outputs, golds):
    preds = [r.split('ASSISTANT:')[-1].strip() for r in outputs]  # get_response
    n_correct, n_pos_gold, n_pos_pred = 0, 0, 0
    for pred, gold in zip(preds, golds):
        gold_tuples = _official_parser(gold)
        pred_tuples = _official_parser(pred)
        for t in pred_tuples:
            if t in gold_tuples:
                n_correct += 1
            n_pos_pred += 1
        n_pos_gold += len(gold_tuples)
    prec = n_correct / (n_pos_pred + 1e-10)
    recall = n_correct / (n_pos_gold + 1e-10)
    f1 = 2 * prec * recall / (prec + recall + 1e-10)
    return {'precision': prec, 'recall': recall, 'f1': f1}


REFERENCE_STRINGS = [
    '["Barack Obama", "U.S."]',
    '["The Beatles", "the beatles", "Beatles"]',
    '[]',
    '',
    '   ',
    '["a"]',
    '["An apple a day"]',
    '["Theatre", "Anthem"]',
    '["A.I."]',
    '["U.S.-based"]',
    '["  multiple   spaces\tand tabs "]',
    '[["a", "b"]]',
    '[["New York", "city"], ["Paris", "city"]]',
    'Answer: ["x"]',
    ' ["x"]',
    '["x"] trailing text',
    '["x"], ["y"]',
    '["x", "y"',
    '["x", y]',
    "['x', 'y']",
    '["x",\n"y"]',
    '[\n"x"]',
    '["x"]\nmore',
    '["x", 1]',
    '[1, 2]',
    '["x", null]',
    '["x", true]',
    '[{"name": "x"}]',
    '["x", ["y", 2]]',
    '["x]y"]',
    '["a [b] c"]',
    '["Ünïcode", "ÜNÏCODE"]',
    '["\\u00e9cole"]',
    '["x", "x", "X", "x."]',
    '["O\'Neil", "ONeil"]',
    '["—dash—"]',
    '["the", "a", "an"]',
    '["The", "The End"]',
    '{"x": 1}',
    '"x"',
    'null',
    '[] ["x"]',
    '["", "x"]',
]


@pytest.mark.parametrize("text", REFERENCE_STRINGS)
def test_parse_official_agrees_with_reference(text):
    assert parse_official(text) == _official_parser(text)


def test_reference_batch_scores_agree():
    outputs = REFERENCE_STRINGS + ["USER: q ASSISTANT: x ASSISTANT:  " + s for s in REFERENCE_STRINGS[:10]]
    golds = (REFERENCE_STRINGS[3:] + REFERENCE_STRINGS[:3]) + REFERENCE_STRINGS[:10]
    ours = score(outputs, golds)
    ref = _official_evaluate(outputs, golds)
    for key in ("precision", "recall", "f1"):
        assert ours[key] == ref[key]  # the same arithmetic, so the same float
    assert ours["n"] == len(golds)


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize("raw, norm", [
    ("U.S.", "us"),
    ("US", "us"),
    ("The Beatles", "beatles"),
    ("an apple a day", "apple day"),
    ("Theatre", "theatre"),          # articles only as whole words
    ("A.I.", "ai"),                  # punctuation goes before articles: not "i"
    ("the-end", "theend"),
    ("  New\t York \n", "new york"),
    ("O'Neil", "oneil"),
    ("", ""),
])
def test_normalize_answer(raw, norm):
    assert normalize_answer(raw) == norm
    assert _official_normalize_answer(raw) == norm


def test_official_response():
    assert official_response("  [\"x\"]  ") == '["x"]'
    assert official_response("USER: hi ASSISTANT: a ASSISTANT:  [\"y\"] ") == '["y"]'
    assert official_response("no marker") == "no marker"


# --------------------------------------------------------------------------- parsing cases


@pytest.mark.parametrize("text, items", [
    ('["U.S.", "Obama"]', ["us", "obama"]),
    ('["The Beatles"]', ["beatles"]),
    ('["Paris", "paris", "PARIS", "Paris."]', ["paris"]),        # repeats after normalising dropped
    ('[["a","b"]]', []),     # the non-greedy match is '[["a","b"]', invalid JSON
    ('Answer: ["x"]', []),   # the list must open the text
    ('["x"] is the answer.', ["x"]),  # text after the list is fine
    ('["x"], ["y"]', ["x"]),
    ('["x", "y"', []),       # no closing bracket: no match, so "[]"
    ('["x", y]', []),        # invalid JSON
    ("['x']", []),           # single quotes are not JSON
    ('["x",\n"y"]', []),     # . does not match a newline
    ('["x", 1]', []),        # a non-string item empties the whole answer
    ('[1]', []),
    ('["x", null]', []),
    ('', []),
    ('[]', []),
    ('["x]y"]', []),         # the first "]" ends the match: '["x]' is invalid
])
def test_parse_official_cases(text, items):
    assert parse_official(text) == items


# --------------------------------------------------------------------------- score, hand-computed


def _check(result, n_correct, n_pred, n_gold):
    assert (result["n_correct"], result["n_pred"], result["n_gold"]) == (n_correct, n_pred, n_gold)
    prec = n_correct / (n_pred + 1e-10)
    rec = n_correct / (n_gold + 1e-10)
    assert result["precision"] == pytest.approx(prec, abs=1e-12)
    assert result["recall"] == pytest.approx(rec, abs=1e-12)
    assert result["f1"] == pytest.approx(2 * prec * rec / (prec + rec + 1e-10), abs=1e-12)


@pytest.mark.parametrize("pred, gold, counts", [
    # pred {us, obama}; gold {us, barack obama}: "us" matches -> 1 correct of 2 predicted, 2 gold
    ('["U.S.", "Obama"]', '["US", "Barack Obama"]', (1, 2, 2)),
    # "the beatles" -> "beatles" matches "beatles"; gold also has "abbey road"
    ('["The Beatles"]', '["Beatles", "Abbey Road"]', (1, 1, 2)),
    # three spellings of paris collapse to one prediction
    ('["Paris", "paris", "PARIS"]', '["Paris"]', (1, 1, 1)),
    # case only
    ('["NEW YORK"]', '["new york"]', (1, 1, 1)),
    # list of lists: the regex stops at the first "]" -> invalid JSON -> nothing predicted
    ('[["a", "b"]]', '["a"]', (0, 0, 1)),
    # text before the list -> nothing predicted
    ('Answer: ["x"]', '["x"]', (0, 0, 1)),
    # text after the list -> parsed
    ('["x"] because it is', '["x"]', (1, 1, 1)),
    # broken JSON -> nothing predicted
    ('["x", "y"', '["x", "y"]', (0, 0, 2)),
    # newline inside the list -> nothing predicted
    ('["x",\n "y"]', '["x", "y"]', (0, 0, 2)),
    # a number in the list -> the whole answer is empty
    ('["x", 2009]', '["x"]', (0, 0, 1)),
    # empty prediction
    ('', '["x"]', (0, 0, 1)),
    # a gold repeat counts once
    ('["x"]', '["x", "x"]', (1, 1, 1)),
    # the raw generation is cut after the last ASSISTANT: and stripped
    ('USER: Text: x ASSISTANT: I\'ve read this text. USER: q ASSISTANT:   ["x"]  ', '["x"]', (1, 1, 1)),
    # leading whitespace in the gold is not stripped by the official code -> empty gold
    ('["x"]', ' ["x"]', (0, 1, 0)),
])
def test_score_single(pred, gold, counts):
    _check(score([pred], [gold]), *counts)


def test_score_batch_hand_computed():
    preds = [
        '["U.S.", "Obama"]',           # us ok, obama not in gold          -> c1 p2
        '["The Beatles"]',             # beatles ok                        -> c1 p1
        '["Paris", "paris", "PARIS"]',  # one item, ok                      -> c1 p1
        'Answer: ["x"]',               # empty                             -> c0 p0
        '["Apple"] and more',          # apple, gold empty                 -> c0 p1
    ]
    golds = [
        '["US", "Barack Obama"]',      # g2
        '["Beatles", "Abbey Road"]',   # g2
        '["Paris"]',                   # g1
        '["x"]',                       # g1
        '[]',                          # g0
    ]
    result = score(preds, golds)
    n_correct, n_pred, n_gold = 3, 5, 6
    _check(result, n_correct, n_pred, n_gold)
    assert result["precision"] == pytest.approx(0.6)
    assert result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(6 / 11)  # 2 * 0.6 * 0.5 / 1.1
    assert result["n"] == 5


def test_smoothing():
    # a perfect answer is just below 1 because of the 1e-10 terms
    result = score(['["a"]'], ['["a"]'])
    _check(result, 1, 1, 1)
    assert result["f1"] == pytest.approx(1.0)
    assert result["f1"] < 1.0
    # nothing anywhere: 0 / 1e-10 = 0, no ZeroDivisionError
    empty = score(['[]', ''], ['[]', '[]'])
    _check(empty, 0, 0, 0)
    assert empty["precision"] == empty["recall"] == empty["f1"] == 0.0
    assert prf(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_score_length_mismatch():
    with pytest.raises(ValueError):
        score(['[]'], ['[]', '[]'])


# --------------------------------------------------------------------------- the lenient parser


@pytest.mark.parametrize("text, items", [
    ("['x', 'The Y']", ["x", "y"]),                                       # single quotes
    ('The entities are ["Paris", "Rome"].', ["paris", "rome"]),         # a list inside prose
    ('[\n  "Paris",\n  "Rome"\n]', ["paris", "rome"]),                  # over several lines
    ('[["New York", "city"]]', [("new york", "city")]),                 # tuples of strings
    ('["x", 1, "y"]', ["x", "y"]),                                      # non-strings dropped
    ('["x", "y"', ["x", "y"]),                                          # an unclosed list
    ('USER: q ASSISTANT: Sure: ["z"]', ["z"]),
    ('no list at all', []),
])
def test_parse_lenient(text, items):
    assert parse_lenient(text) == items


def test_lenient_is_never_the_default():
    for fn in (score, score_by_type, score_files):
        assert inspect.signature(fn).parameters["parser"].default == "official"
    assert set(PARSERS) == {"official", "lenient"}
    assert PARSERS["official"] is parse_official
    preds, golds = ["['x']", 'Here: ["y"]'], ['["x"]', '["y"]']
    _check(score(preds, golds), 0, 0, 2)
    _check(score(preds, golds, parser="lenient"), 2, 2, 2)
    from unerlib.cli import build_parser

    args = build_parser().parse_args(["score", "--gold", "g.json", "--pred", "p.jsonl"])
    assert args.parser == "official"


def test_lenient_parser_does_not_touch_gold():
    # the gold side is always parsed the official way
    _check(score(['["x"]'], ["['x']"], parser="lenient"), 0, 1, 0)


# --------------------------------------------------------------------------- score_by_type


def test_score_by_type_hand_computed():
    preds = ['["A", "B"]', '["C"]', '[]', '["D"]']
    golds = ['["A"]', '["C", "E"]', '["F"]', '["D"]']
    types = ["person", "place", "person", "place"]
    by_type = score_by_type(preds, golds, types)
    assert list(by_type) == ["person", "place"]
    # person: q0 a ok, b wrong (c1 p2 g1); q2 nothing (c0 p0 g1) -> c1 p2 g2
    _check(by_type["person"], 1, 2, 2)
    assert by_type["person"]["n"] == 2
    # place: q1 c ok (c1 p1 g2); q3 d ok (c1 p1 g1) -> c2 p2 g3
    _check(by_type["place"], 2, 2, 3)
    # the pooled score adds the counts up: c3 p4 g5
    _check(score(preds, golds), 3, 4, 5)


# --------------------------------------------------------------------------- files


def test_score_files(fixtures, tmp_path):
    result = score_files(fixtures / "score_gold.json", fixtures / "score_pred.jsonl")
    # q0 c1 p2 g1, q1 c1 p2 g1, q2 c1 p1 g1, q3 c0 p0 g1 -> c3 p5 g4
    _check(result, 3, 5, 4)
    assert result["n"] == 4
    assert set(result["by_type"]) == {"person", "location", "band", "album"}
    _check(result["by_type"]["album"], 0, 0, 1)
    _check(result["by_type"]["band"], 1, 1, 1)


def test_load_gold_duplicate_id(tmp_path, fixtures):
    items = json.loads((fixtures / "score_gold.json").read_text())
    items[1]["id"] = "q0"
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(items))
    with pytest.raises(DataError, match="'q0' appears twice"):
        load_gold(path)


@pytest.mark.parametrize("content, match", [
    ('{"id": "q0", "prediction": "[]"}\nnot json\n', r":2: expected"),
    ('{"id": "q0"}\n', r":1: expected"),
    ('{"id": "q0", "prediction": ["x"]}\n', "not a string"),
    ('{"id": "q0", "prediction": "[]"}\n{"id": "q0", "prediction": "[]"}\n', "appears twice"),
])
def test_load_predictions_errors(tmp_path, content, match):
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        load_predictions(path)


def test_load_predictions_missing(tmp_path):
    with pytest.raises(DataError, match="nope.jsonl"):
        load_predictions(tmp_path / "nope.jsonl")


def test_align():
    gold = [("a", "t", "[]"), ("b", "t", "[]")]
    assert align(gold, {"b": "2", "a": "1"}) == ["1", "2"]
    with pytest.raises(DataError, match="'c'"):
        align(gold, {"a": "1", "b": "2", "c": "3"})
    with pytest.raises(DataError, match="'b'"):
        align(gold, {"a": "1"})
