"""The official UniversalNER metric, exactly as ``src/eval/evaluate.py`` behaves, plus a
per-type breakdown and a lenient parser (named as such, never the default).

Official behaviour, reproduced here:

- the model output is cut after the last ``ASSISTANT:`` and stripped;
- ``re.match(r'\\[(.*?)\\]', text)`` must match at the *start* of the output (text
  before the list scores as empty); the match is non-greedy and ``.`` stops at a newline,
  so the list ends at its first ``]`` and a list spread over lines reads as empty;
- the match is parsed with ``json.loads``; anything that fails, or any item that is not a
  string (numbers, objects), makes the whole answer empty;
- each item is lower-cased, stripped of punctuation and the articles a/an/the, and its
  whitespace folded (a list item is normalised element by element into a tuple);
- repeats are dropped, then micro precision/recall/F1 are counted with 1e-10 smoothing.
"""

from __future__ import annotations

import ast
import json
import os
import re
import string
from pathlib import Path
from typing import Callable, Hashable, Iterable, Sequence

from .data import DataError
from .readers_conversation import iter_uniner_conversations

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_OFFICIAL_LIST = re.compile(r"\[(.*?)\]")


def normalize_answer(s: str) -> str:
    """Lower-case, drop punctuation, drop the articles a/an/the, fold whitespace."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def official_response(output: str) -> str:
    """What the official code scores of a raw generation: the text after the last
    ``ASSISTANT:``, stripped."""
    return output.split("ASSISTANT:")[-1].strip()


def _normalize_items(items: Iterable) -> list[Hashable]:
    out: list[Hashable] = []
    for item in items:
        if isinstance(item, (list, tuple)):
            norm: Hashable = tuple(normalize_answer(e) for e in item)
        else:
            norm = normalize_answer(item)
        if norm not in out:
            out.append(norm)
    return out


def official_items(text: str):
    """The JSON value the official parser reads: the list opening ``text`` up to its first
    ``]`` (``[]`` when there is none). Raises on invalid JSON."""
    match = _OFFICIAL_LIST.match(text)
    return json.loads(match.group() if match else "[]")


def parse_official(text: str) -> list[Hashable]:
    """The official ``parser``: normalised, de-duplicated items of the list that opens
    ``text``, or ``[]`` when there is none or it is not valid JSON."""
    try:
        return _normalize_items(official_items(text))
    except Exception:  # the official code swallows every error the same way
        return []


def opens_with_list(output: str) -> bool:
    """Whether a raw answer opens with a JSON list the official parser can read (a list
    of strings up to its first ``]``); every other answer is a parse failure, scored empty."""
    text = official_response(output)
    if not _OFFICIAL_LIST.match(text):
        return False
    try:
        items = official_items(text)
    except Exception:
        return False
    return isinstance(items, list) and all(isinstance(x, (str, list, tuple)) for x in items)


def parse_entities(output: str) -> list[str]:
    """The entity strings of a raw answer, read as the official parser reads them but not
    normalised (for display and character offsets); ``[]`` if unreadable."""
    try:
        items = official_items(official_response(output))
    except Exception:
        return []
    return [x for x in items if isinstance(x, str)] if isinstance(items, list) else []


def parse_lenient(text: str) -> list[Hashable]:
    """A lenient parser (not the paper's): the first list anywhere in the text, across
    lines, as JSON or as a Python literal (single quotes, tuples); non-strings dropped."""
    text = official_response(text)
    start = text.find("[")
    while start != -1:
        depth, end = 0, -1
        for i in range(start, len(text)):
            if text[i] == "[":
                depth += 1
            elif text[i] == "]":
                depth -= 1
                if depth == 0:
                    end = i + 1
                    break
        candidate = text[start:end] if end != -1 else text[start:] + "]"
        for load in (json.loads, ast.literal_eval):
            try:
                items = load(candidate)
            except Exception:
                continue
            if isinstance(items, (list, tuple)):
                keep = [x for x in items if isinstance(x, str)
                        or (isinstance(x, (list, tuple)) and all(isinstance(e, str) for e in x))]
                return _normalize_items(keep)
        start = text.find("[", start + 1)
    return []


PARSERS: dict[str, Callable[[str], list[Hashable]]] = {"official": parse_official, "lenient": parse_lenient}


def _counts(pred: str, gold: str, parse: Callable[[str], list[Hashable]]) -> tuple[int, int, int]:
    p = parse(official_response(pred))
    g = parse_official(gold)
    return sum(1 for t in p if t in g), len(p), len(g)


def prf(n_correct: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Micro precision, recall and F1 with the paper's 1e-10 smoothing."""
    prec = n_correct / (n_pred + 1e-10)
    rec = n_correct / (n_gold + 1e-10)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec + 1e-10)}


def score(preds: Sequence[str], golds: Sequence[str], parser: str = "official") -> dict[str, float]:
    """Micro precision/recall/F1 over questions (raw predictions against gold answers),
    with ``n`` (questions) and the raw counts."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold answers")
    parse = PARSERS[parser]
    c = p = g = 0
    for pred, gold in zip(preds, golds):
        dc, dp, dg = _counts(pred, gold, parse)
        c, p, g = c + dc, p + dp, g + dg
    return {**prf(c, p, g), "n": len(golds), "n_correct": c, "n_pred": p, "n_gold": g}


def score_by_type(
    preds: Sequence[str], golds: Sequence[str], types: Sequence[str], parser: str = "official"
) -> dict[str, dict[str, float]]:
    """The same metric per entity type (the question's type)."""
    buckets: dict[str, tuple[list[str], list[str]]] = {}
    for pred, gold, typ in zip(preds, golds, types):
        ps, gs = buckets.setdefault(typ, ([], []))
        ps.append(pred)
        gs.append(gold)
    return {t: score(ps, gs, parser) for t, (ps, gs) in sorted(buckets.items())}


# --------------------------------------------------------------------------- files


def load_gold(path: str | os.PathLike) -> list[tuple[str, str, str]]:
    """``(id, type, gold answer)`` for every question of a UniNER evaluation JSON."""
    items = [(qid, typ, ans) for qid, _p, typ, ans in iter_uniner_conversations(path)]
    seen: set[str] = set()
    for qid, _t, _a in items:
        if qid in seen:
            raise DataError(f"{path}: id {qid!r} appears twice in the gold file")
        seen.add(qid)
    return items


def load_predictions(path: str | os.PathLike) -> dict[str, str]:
    """``{id: raw prediction}`` from JSON lines ``{"id": ..., "prediction": ...}``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"prediction file not found: {path}")
    preds: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                qid, pred = str(obj["id"]), obj["prediction"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise DataError(f"{path}:{lineno}: expected {{\"id\": ..., \"prediction\": ...}} ({err})") from None
            if not isinstance(pred, str):
                raise DataError(f"{path}:{lineno}: prediction for id {qid!r} is not a string")
            if qid in preds:
                raise DataError(f"{path}:{lineno}: id {qid!r} appears twice")
            preds[qid] = pred
    return preds


def align(gold: list[tuple[str, str, str]], preds: dict[str, str], gold_name: str = "gold") -> list[str]:
    """Predictions in gold order; a clear error names ids on one side only."""
    gold_ids = {qid for qid, _t, _a in gold}
    extra = [qid for qid in preds if qid not in gold_ids]
    if extra:
        raise DataError(f"prediction id {extra[0]!r} is not in {gold_name} ({len(extra)} such ids)")
    missing = [qid for qid, _t, _a in gold if qid not in preds]
    if missing:
        raise DataError(f"gold id {missing[0]!r} has no prediction ({len(missing)} such ids)")
    return [preds[qid] for qid, _t, _a in gold]


def score_files(gold_path: str | os.PathLike, pred_path: str | os.PathLike, parser: str = "official") -> dict:
    """Score a prediction file against a UniNER gold file; adds ``by_type``."""
    gold = load_gold(gold_path)
    preds = align(gold, load_predictions(pred_path), str(gold_path))
    golds = [a for _q, _t, a in gold]
    types = [t for _q, t, _a in gold]
    return {**score(preds, golds, parser), "by_type": score_by_type(preds, golds, types, parser)}


# --------------------------------------------------------------------------- span metric


def word_spans(passage: str, entity: str) -> list[tuple[int, int]]:
    """Every character span where ``entity`` occurs verbatim in ``passage`` at word
    boundaries (no letter, digit or underscore touching either end)."""
    if not entity.strip():
        return []
    pattern = re.compile(r"(?<!\w)" + re.escape(entity) + r"(?!\w)")
    spans, pos = [], 0
    while True:  # overlapping occurrences count too ("a a" in "a a a")
        m = pattern.search(passage, pos)
        if m is None:
            return spans
        spans.append(m.span())
        pos = m.start() + 1


def _answer_strings(answer: str, gold: bool) -> list[str]:
    """Entity strings of an answer: a gold answer is a JSON list; a prediction is read as
    the official parser reads it (:func:`parse_entities`), and an answer the official
    parser scores as empty (say, one holding a number) is empty here too."""
    if gold:
        try:
            items = json.loads(answer)
        except (json.JSONDecodeError, TypeError):
            return parse_entities(answer)
        return [x for x in items if isinstance(x, str)] if isinstance(items, list) else []
    if not parse_official(official_response(answer)):
        return []
    return parse_entities(answer)


def answer_spans(passage: str, answer: str, gold: bool = False) -> tuple[set[tuple[int, int]], set[str]]:
    """The character spans an answer names in ``passage`` (every occurrence of every
    string at word boundaries), and the strings found nowhere."""
    spans: set[tuple[int, int]] = set()
    missing: set[str] = set()
    for ent in _answer_strings(answer, gold):
        found = word_spans(passage, ent)
        spans.update(found)
        if not found and ent.strip():
            missing.add(ent)
    return spans, missing


def span_score(passages: Sequence[str], types: Sequence[str], preds: Sequence[str],
               golds: Sequence[str]) -> dict[str, float]:
    """Exact span metric (as encoder NER models such as GLiNER are scored): micro
    precision/recall/F1 over the sets of ``(passage, start, end, type)``.

    One entry per question: its passage, the type asked, the raw prediction and the gold
    answer (a JSON list). Each entity string maps to *every* occurrence of it in the
    passage at word boundaries, case-sensitively, so a string named once but written
    twice counts twice. A predicted string that occurs nowhere is one false positive (a
    gold string found nowhere, one false negative). Questions repeating a (passage, type)
    pair count once. Returns ``precision``, ``recall``, ``f1``, ``n`` (questions) and the
    counts ``n_correct``, ``n_pred``, ``n_gold``.
    """
    if not (len(passages) == len(types) == len(preds) == len(golds)):
        raise ValueError(f"span_score needs parallel lists: {len(passages)} passages, {len(types)} types, "
                         f"{len(preds)} predictions, {len(golds)} gold answers")
    pred_set: set[tuple] = set()
    gold_set: set[tuple] = set()
    for passage, typ, pred, gold in zip(passages, types, preds, golds):
        spans, missing = answer_spans(passage, pred)
        pred_set.update((passage, s, e, typ) for s, e in spans)
        pred_set.update((passage, "missing", ent, typ) for ent in missing)
        spans, missing = answer_spans(passage, gold, gold=True)
        gold_set.update((passage, s, e, typ) for s, e in spans)
        gold_set.update((passage, "missing", ent, typ) for ent in missing)
    found_gold = {k for k in gold_set if k[1] != "missing"}
    correct = len(pred_set & found_gold)
    return {**prf(correct, len(pred_set), len(gold_set)), "n": len(golds), "n_correct": correct,
            "n_pred": len(pred_set), "n_gold": len(gold_set)}
