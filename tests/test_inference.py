"""Zero-shot inference (unerlib.inference) with a tiny random model: the shared-prefix
batched decoder against the one-question-at-a-time baseline, passage windows, character
offsets, evaluation files, and the ``uner predict`` / ``uner evaluate`` commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: tiny_dir, tiny_student, bracket_student, ...)
from unerlib.cli import main
from unerlib.inference import (
    HFPredictor,
    Question,
    entity_offsets,
    evaluate,
    group_by_passage,
    load_questions,
    predict,
    split_passage,
    write_predictions,
)
from unerlib.instructions import encode_prefix, encode_prompts
from unerlib.metrics import parse_entities, score_files

PASSAGES = [
    "Short one.",
    "Barack Obama visited Paris in 2009 with Michelle.",
    "The quick brown fox jumps over the lazy dog while the European Central Bank raises interest "
    "rates in Frankfurt am Main.",
    "A",
    "Deep learning models such as transformers were introduced by Vaswani et al. at NeurIPS 2017 "
    "in Long Beach, California, USA, and later adopted widely.",
    "Tokyo",
    "Apple Inc. released the iPhone.",
    "x y z w v u t s r q p o n m l k j i h g f e d c b a",
    "Über café naïve résumé — 東京 and Zürich.",
    "Numbers 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15.",
]
# type names of 1 to 5 tokens
TYPES = ["person", "location", "programming language", "a", "medical condition or disease symptom"]
MAX_NEW = 12


def _questions(passages=PASSAGES, types=TYPES) -> list[Question]:
    return [Question(f"{i}-{j}", p, t) for i, p in enumerate(passages) for j, t in enumerate(types)]


# --------------------------------------------------------------------------- the decoder


def test_type_names_have_different_token_lengths(tiny_student):
    lengths = {len(q) for q in encode_prompts(tiny_student.tokenizer, "x", TYPES).questions}
    assert len(lengths) >= 3  # so questions are padded between prefix and question


def test_fast_equals_naive_token_for_token(bracket_student):
    """The key correctness test: each question's answer from the batched decoder (prefix
    cache shared, questions left-padded after the prefix, shifted position ids, rows
    dropped as they finish) equals the answer of ``generate`` on the whole prompt alone."""
    tok = bracket_student.tokenizer
    engine = HFPredictor(bracket_student.model, tok, max_new_tokens=MAX_NEW)
    lengths = []
    for passage in PASSAGES:
        prompt = encode_prompts(tok, passage, TYPES)
        fast = engine.answer(prompt)
        naive = [engine.answer_naive(prompt.prefix + q) for q in prompt.questions]
        assert fast == naive, passage
        lengths += [len(ids) for ids in fast]
    # the test means something only if answers stop at many different steps
    assert max(lengths) == MAX_NEW and min(lengths) < MAX_NEW
    assert len(set(lengths)) >= 4, sorted(lengths)


@pytest.mark.parametrize("which", ["tiny_student", "bracket_student"])
def test_predict_fast_equals_naive(which, request):
    student = request.getfixturevalue(which)
    questions = _questions()
    fast, fast_stats = predict(student, questions, max_new_tokens=MAX_NEW, progress=False, method="fast")
    naive, naive_stats = predict(student, questions, max_new_tokens=MAX_NEW, progress=False, method="naive")
    assert [p.raw for p in fast] == [p.raw for p in naive]
    assert [p.entities for p in fast] == [p.entities for p in naive]
    assert [(p.id, p.type) for p in fast] == [(q.id, q.type) for q in questions]
    assert fast_stats.questions == naive_stats.questions == len(questions)
    assert fast_stats.passages == naive_stats.passages == len(PASSAGES)
    assert 0 < fast_stats.tokens < naive_stats.tokens
    if which == "bracket_student":
        assert len({p.raw for p in fast}) > 10  # the answers depend on the passage and the type


def test_max_new_tokens_caps(bracket_student):
    tok = bracket_student.tokenizer
    short = HFPredictor(bracket_student.model, tok, max_new_tokens=3)
    long = HFPredictor(bracket_student.model, tok, max_new_tokens=MAX_NEW)
    capped = 0
    for passage in PASSAGES[:5]:
        prompt = encode_prompts(tok, passage, TYPES)
        a, b = short.answer(prompt), long.answer(prompt)
        for ids_short, ids_long in zip(a, b):
            assert 1 <= len(ids_short) <= 3
            assert ids_long[:len(ids_short)] == ids_short  # greedy: the capped answer is a prefix
            capped += len(ids_short) == 3 and len(ids_long) > 3
        assert [short.answer_naive(prompt.prefix + q) for q in prompt.questions] == a
    assert capped > 0


def test_predict_is_deterministic(bracket_student):
    questions = _questions(PASSAGES[:4])
    first, s1 = predict(bracket_student, questions, max_new_tokens=MAX_NEW, progress=False)
    second, s2 = predict(bracket_student, questions, max_new_tokens=MAX_NEW, progress=False)
    assert [p.raw for p in first] == [p.raw for p in second]
    assert s1.tokens == s2.tokens


def test_same_passage_grouped_in_first_seen_order(bracket_student):
    # questions of one passage need not be adjacent; answers come back in question order
    qs = _questions(PASSAGES[:3], TYPES[:2])
    shuffled = [qs[i] for i in (5, 0, 3, 1, 4, 2)]
    assert [p for p, _ in group_by_passage(shuffled)] == [PASSAGES[2], PASSAGES[0], PASSAGES[1]]
    a, _ = predict(bracket_student, qs, max_new_tokens=MAX_NEW, progress=False)
    b, _ = predict(bracket_student, shuffled, max_new_tokens=MAX_NEW, progress=False)
    by_id = {p.id: p.raw for p in a}
    assert [p.id for p in b] == [q.id for q in shuffled]
    assert all(by_id[p.id] == p.raw for p in b)


def test_repeated_questions_answered_once_and_batches_capped(bracket_student):
    """A passage repeated in a dataset costs one answer per type; ``max_batch`` splits a
    passage's questions into smaller batches without changing any answer."""
    qs = _questions(PASSAGES[:2])
    repeated = qs + [Question(f"{q.id}-again", q.passage, q.type, q.gold) for q in qs]
    once, s_once = predict(bracket_student, qs, max_new_tokens=MAX_NEW, progress=False)
    twice, s_twice = predict(bracket_student, repeated, max_new_tokens=MAX_NEW, progress=False)
    assert [p.raw for p in twice] == [p.raw for p in once] * 2
    assert s_twice.tokens == s_once.tokens and s_twice.questions == 2 * s_once.questions
    small, _ = predict(bracket_student, qs, max_new_tokens=MAX_NEW, progress=False, max_batch=2)
    assert [p.raw for p in small] == [p.raw for p in once]


def test_unknown_method_and_backend(tiny_student):
    with pytest.raises(ValueError, match="method"):
        predict(tiny_student, _questions(PASSAGES[:1], TYPES[:1]), progress=False, method="slow")
    with pytest.raises(ValueError, match="backend"):
        predict(tiny_student, _questions(PASSAGES[:1], TYPES[:1]), progress=False, backend="tpu")


# --------------------------------------------------------------------------- long passages

LONG = " ".join(
    f"Sentence {i}: Dr. Ada Lovelace-{i} met O'Brien at 10:{i:02d} in São Paulo, (Brazil) — costs $1,{i}00.50!"
    for i in range(12)
)


def test_split_passage_windows_fit_and_lose_nothing(student_tokenizer):
    tok = student_tokenizer
    assert split_passage(tok, "A short passage.", 1024) == ["A short passage."]
    max_tokens = 80
    assert len(encode_prefix(tok, LONG)) > 3 * max_tokens
    windows = split_passage(tok, LONG, max_tokens)
    assert len(windows) > 3
    for w in windows:
        assert w and not w.startswith(" ") and not w.endswith(" ")
        assert len(encode_prefix(tok, w)) <= max_tokens, w
    assert " ".join(windows) == LONG


def test_predict_merges_windows(bracket_student):
    tok = bracket_student.tokenizer
    max_tokens = 80
    windows = split_passage(tok, LONG, max_tokens)
    questions = [Question(f"q{j}", LONG, t) for j, t in enumerate(TYPES)]
    preds, stats = predict(bracket_student, questions, max_new_tokens=MAX_NEW, max_passage_tokens=max_tokens,
                           progress=False)
    assert stats.passages == 1 and stats.split_passages == 1
    assert all(p.windows == len(windows) > 1 for p in preds)
    # each window answered on its own, as a passage of its own
    per_window, _ = predict(bracket_student, [Question(f"{k}-{j}", w, t) for k, w in enumerate(windows)
                                              for j, t in enumerate(TYPES)],
                            max_new_tokens=MAX_NEW, max_passage_tokens=max_tokens, progress=False)
    for j, p in enumerate(preds):
        union: list[str] = []
        for k in range(len(windows)):
            for ent in parse_entities(per_window[k * len(TYPES) + j].raw):
                if ent not in union:
                    union.append(ent)
        assert p.entities == union
        assert json.loads(p.raw) == union
    # a passage that fits is not split
    single, stats = predict(bracket_student, questions[:1], max_new_tokens=MAX_NEW, progress=False)
    assert single[0].windows == 1 and stats.split_passages == 0


def test_merge_unions_answers_in_order(monkeypatch, tiny_student):
    """Merging, with answers that are not empty: the window answers are faked."""
    from unerlib import inference

    answers = iter(['["Ada", "Paris"]', '["Paris", "Rome"]', "nothing", '["Oslo"]'])
    monkeypatch.setattr(inference.HFPredictor, "answer_many", lambda self, prompts, passages=None: [[[0] for _ in p.questions] for p in prompts])
    monkeypatch.setattr(inference.HFPredictor, "decode", lambda self, ids: next(answers))
    monkeypatch.setattr(inference, "split_passage", lambda tok, passage, n: ["w1", "w2", "w3", "w4"])
    preds, _ = predict(tiny_student, [Question("q", "w1 w2 w3 w4", "city")], progress=False)
    assert preds[0].entities == ["Ada", "Paris", "Rome", "Oslo"]
    assert json.loads(preds[0].raw) == ["Ada", "Paris", "Rome", "Oslo"]
    assert preds[0].windows == 4


# --------------------------------------------------------------------------- offsets


def test_entity_offsets():
    text = "Paris is not paris; PARIS loves Paris Hilton."
    out = entity_offsets(text, ["Paris", "LOVES", "Berlin", "Paris Hilton"])
    exact = [o for o in out if o["text"] == "Paris"]
    assert [(o["start"], o["end"]) for o in exact] == [(0, 5), (32, 37)]
    assert all("verbatim" not in o for o in exact)
    assert {"text": "loves", "start": 26, "end": 31, "verbatim": False} in out
    assert {"text": "Berlin", "start": None, "end": None, "verbatim": False} in out
    assert {"text": "Paris Hilton", "start": 32, "end": 44} in out
    for o in out:
        if o["start"] is not None:
            assert text[o["start"]:o["end"]] == o["text"]
    # case-insensitive fallback: every occurrence, the passage's own spelling
    lower = entity_offsets(text, ["pARIS"])
    assert [(o["text"], o["start"]) for o in lower] == [("Paris", 0), ("paris", 13), ("PARIS", 20), ("Paris", 32)]
    assert all(o["verbatim"] is False for o in lower)
    assert entity_offsets(text, []) == []


def test_entity_offsets_case_insensitive_after_length_changing_lowercase():
    text = "İstanbul and PARIS"
    assert entity_offsets(text, ["paris"]) == [{"text": "PARIS", "start": 13, "end": 18, "verbatim": False}]


# --------------------------------------------------------------------------- evaluation files


def _uniner_file(path: Path) -> Path:
    rows = [
        ("Barack Obama visited Paris in 2009.", {"person": ["Barack Obama"], "location": ["Paris"], "date": ["2009"]}),
        ("Python is a programming language.", {"programming language": ["Python"], "person": []}),
        ("Tokyo", {"location": ["Tokyo"], "person": []}),
        ("Michelle met Angela in Berlin and Rome.", {"person": ["Michelle", "Angela"], "location": ["Berlin", "Rome"]}),
    ]
    items = []
    for i, (passage, answers) in enumerate(rows):
        for j, (typ, ents) in enumerate(answers.items()):
            items.append({"id": f"t{i}-{j}", "conversations": [
                {"from": "human", "value": f"Text: {passage}"},
                {"from": "gpt", "value": "I've read this text."},
                {"from": "human", "value": f"What describes {typ} in the text?"},
                {"from": "gpt", "value": json.dumps(ents)},
            ]})
    path.write_text(json.dumps(items, indent=1))
    return path


def test_load_questions_from_file_with_limit(tmp_path):
    path = _uniner_file(tmp_path / "gold.json")
    every = load_questions(str(path))
    assert len(every) == 9 and every[0] == Question("t0-0", "Barack Obama visited Paris in 2009.", "person",
                                                     '["Barack Obama"]')
    two = load_questions(str(path), limit=2)
    assert [q.id for q in two] == ["t0-0", "t0-1", "t0-2", "t1-0", "t1-1"]


@pytest.mark.data
def test_load_questions_limit_on_shared_data(data_root):
    ai = load_questions("crossner_ai", limit=3, root=data_root)
    assert len(group_by_passage(ai)) == 3
    assert len({q.type for q in ai}) == 13
    assert len(ai) == 3 * 13
    for _passage, idx in group_by_passage(ai):
        assert len({ai[i].type for i in idx}) == 13
    movie = load_questions("mit_movie", limit=2, root=data_root)  # no official file: converted
    assert len(group_by_passage(movie)) == 2 and len(movie) == 24
    assert all(q.gold is not None for q in movie)


def test_evaluate_matches_score_files(bracket_student, tmp_path):
    gold = _uniner_file(tmp_path / "gold.json")
    out = tmp_path / "preds" / "pred.jsonl"
    result = evaluate(bracket_student, str(gold), out=out, max_new_tokens=MAX_NEW, progress=False)
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [(x["id"], x["type"]) for x in lines] == [(q.id, q.type) for q in load_questions(str(gold))]
    assert all(isinstance(x["prediction"], str) for x in lines)
    scored = score_files(gold, out)
    for key in ("precision", "recall", "f1", "n", "n_correct", "n_pred", "n_gold"):
        assert result[key] == scored[key], key
    assert result["by_type"] == scored["by_type"]
    assert result["n"] == 9 and result["n_gold"] == 9
    assert result["passages"] == 4 and result["tokens"] > 0
    # limit: the first passages only
    small = evaluate(bracket_student, str(gold), limit=1, max_new_tokens=MAX_NEW, progress=False)
    assert small["n"] == 3 and small["passages"] == 1


def test_write_predictions(tmp_path):
    from unerlib.inference import Prediction

    path = write_predictions([Prediction("a", "person", '["Zoë"]', ["Zoë"])], tmp_path / "x" / "p.jsonl")
    assert path.read_text(encoding="utf-8") == ('{"id": "a", "type": "person", "prediction": "[\\"Zoë\\"]", '
                                                '"stop": "end", "cap_hit": false}\n')


# --------------------------------------------------------------------------- the command line


def _last_json(stdout: str) -> dict:
    return json.loads([ln for ln in stdout.splitlines() if ln.strip()][-1])


def test_cli_predict(tiny_dir, capsys):
    rc = main(["predict", "--model", str(tiny_dir), "--text", "Barack Obama visited Paris.", "--types", "a, b",
               "--max-new-tokens", "4"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    result = json.loads(out)
    assert list(result) == ["a", "b"]
    assert all(isinstance(v, list) for v in result.values())


def test_cli_predict_reads_stdin(tiny_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Obama visited Paris.\n"))
    rc = main(["predict", "--model", str(tiny_dir), "--text", "-", "--types", "person", "--max-new-tokens", "4"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert list(json.loads(out)) == ["person"]


def test_cli_predict_empty_input(tiny_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("  \n"))
    rc = main(["predict", "--model", str(tiny_dir), "--text", "-", "--types", "person"])
    _out, err = capsys.readouterr()
    assert rc == 2 and "--text" in err


def test_cli_missing_model_dir(tmp_path, capsys):
    missing = tmp_path / "no-such-model"
    rc = main(["predict", "--model", str(missing), "--text", "x", "--types", "a"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert str(missing) in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err


def test_cli_missing_adapter_dir(tiny_dir, tmp_path, capsys):
    missing = tmp_path / "no-such-adapter"
    rc = main(["predict", "--model", str(tiny_dir), "--adapter", str(missing), "--text", "x", "--types", "a"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert "adapter_config.json" in err and str(missing) in err
    assert err.strip().count("\n") == 0


def test_cli_evaluate_matches_score(tiny_dir, tmp_path, capsys):
    gold = _uniner_file(tmp_path / "gold.json")
    pred = tmp_path / "pred.jsonl"
    rc = main(["evaluate", "--model", str(tiny_dir), "--data", str(gold), "--out", str(pred),
               "--max-new-tokens", "6"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    evaluated = _last_json(out)
    assert out.splitlines()[0].split("\t")[0] == "date"  # per-type lines first, sorted
    rc = main(["score", "--gold", str(gold), "--pred", str(pred)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    scored = _last_json(out)
    for key in ("precision", "recall", "f1", "n"):
        assert evaluated[key] == scored[key], key
    assert evaluated["n"] == 9


def test_pack_respects_row_and_token_limits(tiny_student):
    from unerlib.inference import _pack

    tok = tiny_student.tokenizer
    prompts = [encode_prompts(tok, p, TYPES) for p in PASSAGES]
    for max_batch, max_tokens in [(5, 10**6), (12, 10**6), (64, 400), (1000, 10**6)]:
        groups = _pack(prompts, max_batch, max_tokens, MAX_NEW)
        assert sorted(k for g in groups for k in g) == list(range(len(prompts)))
        for g in groups:
            rows = sum(len(prompts[k].questions) for k in g)
            longest = max(len(prompts[k].prefix) + max(map(len, prompts[k].questions)) + MAX_NEW for k in g)
            assert len(g) == 1 or (rows <= max_batch and rows * longest <= max_tokens)
    assert len(_pack(prompts, 1000, 10**6, MAX_NEW)) == 1
    # every batch size gives the same answers
    questions = _questions()
    ref, _ = predict(tiny_student, questions, max_new_tokens=MAX_NEW, progress=False, max_batch=5)
    for max_batch, max_tokens in [(7, 10**6), (64, 400), (1000, 10**6)]:
        got, _ = predict(tiny_student, questions, max_new_tokens=MAX_NEW, progress=False,
                         max_batch=max_batch, max_batch_tokens=max_tokens)
        assert [p.raw for p in got] == [p.raw for p in ref]
