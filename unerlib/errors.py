"""Error analysis of a zero-shot evaluation: where the official metric's misses come from.

Every entity the official parser reads from an answer, and every gold entity no answer
names, is sorted into exactly one *kind*. Entities are compared as the official metric
compares them (:func:`unerlib.metrics.normalize_answer`: case, punctuation and the articles
a/an/the ignored, repeats within an answer dropped), so the predicted rows of a question
are exactly the items the metric counts as predicted, its ``correct`` rows the ones it
counts as correct, and ``correct`` plus ``missed`` rows its gold count.

A predicted entity of a question (passage, type) is, the first rule that applies winning:

1. **correct**: its normalised form is among the normalised gold entities of that type;
2. **wrong type**: its normalised form equals a gold entity of *another* type of the same
   passage (the student found the mention but asked about the wrong type);
3. **wrong boundary**: it overlaps a gold entity of the asked type without equalling it:
   when both strings occur in the passage (case-insensitive), an occurrence of one shares
   a character with an occurrence of the other; when either does not occur there, one
   normalised form contains the other as a run of whole words (``new york city`` against
   ``new york``);
4. **hallucinated**: the string does not occur in the passage (case-insensitive substring),
   or is blank;
5. **spurious**: it occurs in the passage but overlaps no gold entity of the asked type.

Every normalised gold entity of the question that no predicted entity equals is one
**missed** row. A wrong-boundary prediction therefore usually comes with a missed gold
entity: the kinds count metric events (false positives and false negatives), not
independent mistakes.

An answer the official parser cannot read scores as empty: it contributes no predicted
rows (its gold entities are all missed) and is counted by :func:`answer_health` as a
*parse failure*, with its reason (:func:`parse_failure`). A *cap hit* is an answer that
reached the decoder's ``max_new_tokens`` limit, recorded by the predictor as an optional
boolean ``"cap_hit"`` per line of the predictions file (absent: not recorded, counted 0).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from .metrics import (_OFFICIAL_LIST, align, load_predictions, normalize_answer, official_items, official_response,
                      parse_official)

#: The kinds, in the precedence order above, followed by ``missed``.
KINDS: tuple[str, ...] = ("correct", "wrong type", "wrong boundary", "hallucinated", "spurious", "missed")
#: The kinds that are errors (every kind but ``correct``).
ERROR_KINDS: tuple[str, ...] = KINDS[1:]
#: Columns of :func:`classify_errors`.
COLUMNS: tuple[str, ...] = ("dataset", "id", "passage", "type", "entity", "kind", "detail")


# --------------------------------------------------------------------------- answers


def parse_failure(raw: str) -> str | None:
    """Why the official parser reads nothing from a raw answer, or None when it reads a
    list (``[]`` included).

    ``"no list"``: the answer (after ``ASSISTANT:``) does not open with ``[...]`` on its
    first line, e.g. prose or a list cut before its ``]``; ``"invalid JSON"``: it does, but
    ``json.loads`` rejects it; ``"not a list of strings"``: valid JSON, but not a list or
    with an item that is neither a string nor a list of strings.
    """
    text = official_response(raw)
    match = _OFFICIAL_LIST.match(text)
    if match is None:
        return "no list"
    try:
        items = json.loads(match.group())
    except (json.JSONDecodeError, ValueError):
        return "invalid JSON"
    if not isinstance(items, list):
        return "not a list of strings"
    if items and not parse_official(text):  # the official normalisation raised on an item
        return "not a list of strings"
    return None  # agrees with unerlib.metrics.opens_with_list, but for a nested list holding a non-string


def _predicted_items(raw: str) -> list[tuple[str, Any]]:
    """``(display string, normalised key)`` of every item the official parser counts, in
    order, repeats (by key) dropped; a list item is shown joined by spaces."""
    if parse_failure(raw) is not None:
        return []
    items = json.loads(_OFFICIAL_LIST.match(official_response(raw)).group())
    out: list[tuple[str, Any]] = []
    seen: set = set()
    for item in items:
        if isinstance(item, list):
            text, key = " ".join(item), tuple(normalize_answer(e) for e in item)
        else:
            text, key = item, normalize_answer(item)
        if key not in seen:
            seen.add(key)
            out.append((text, key))
    return out


def _gold_items(gold: str | None) -> list[tuple[str, str]]:
    """``(display string, normalised key)`` of a gold answer (a JSON list of strings),
    repeats dropped, as :func:`unerlib.metrics.parse_official` reads it."""
    if not gold:
        return []
    try:
        items = official_items(gold)  # the metric reads gold answers with the official parser too
    except Exception:
        items = None
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        return [(str(k), k) for k in parse_official(gold) if isinstance(k, str)]
    out: list[tuple[str, str]] = []
    for item in items:
        key = normalize_answer(item)
        if key not in {k for _t, k in out}:
            out.append((item, key))
    return out


def answer_health(raws: Sequence[str], cap_hits: Sequence[bool | None] | None = None) -> dict[str, int]:
    """Counts over the answers of one evaluation: ``answers``, ``empty`` (a readable
    ``[]``), ``parse_failures`` and each reason of :func:`parse_failure` (``no_list``,
    ``invalid_json``, ``not_a_list_of_strings``), ``cap_hits`` (answers that reached
    ``max_new_tokens``; a flag of None, or no flags, counts as not recorded and as 0),
    ``cap_hit_failures`` (cap hits the parser could not read) and ``cap_hits_recorded``
    (answers whose flag was recorded at all)."""
    if cap_hits is not None and len(cap_hits) != len(raws):
        raise ValueError(f"{len(cap_hits)} cap-hit flags for {len(raws)} answers")
    flags = list(cap_hits) if cap_hits is not None else [None] * len(raws)
    caps = [bool(c) for c in flags]
    reasons = [parse_failure(r) for r in raws]
    out = {"answers": len(raws),
           "empty": sum(1 for r, why in zip(raws, reasons) if why is None and not parse_official(official_response(r))),
           "parse_failures": sum(1 for why in reasons if why is not None)}
    for why in ("no list", "invalid JSON", "not a list of strings"):
        out[why.lower().replace(" ", "_")] = sum(1 for w in reasons if w == why)
    out["cap_hits"] = sum(caps)
    out["cap_hit_failures"] = sum(1 for c, why in zip(caps, reasons) if c and why is not None)
    out["cap_hits_recorded"] = sum(1 for c in flags if c is not None)
    return out


# --------------------------------------------------------------------------- taxonomy


def _occurrences(passage: str, text: str) -> list[tuple[int, int]]:
    """Character spans of every case-insensitive occurrence of ``text`` in ``passage``."""
    if not text.strip():
        return []
    return [(m.start(), m.start() + len(text))
            for m in re.finditer("(?=" + re.escape(text) + ")", passage, re.IGNORECASE)]


def _contains_words(a: str, b: str) -> bool:
    """Whether one normalised string holds the other as a run of whole words."""
    if not a or not b:
        return False
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


def _overlapping(passage: str, entity: str, key: Any, gold: Iterable[tuple[str, str]]) -> str | None:
    """The first gold entity (display string) the predicted entity overlaps, or None."""
    spans = _occurrences(passage, entity)
    for text, gkey in gold:
        gspans = _occurrences(passage, text) if spans else []
        if spans and gspans:
            if any(s < ge and gs < e for s, e in spans for gs, ge in gspans):
                return text
        elif isinstance(key, str) and _contains_words(key, gkey):
            return text
    return None


def classify_answer(passage: str, typ: str, raw: str, gold: str | None,
                    other_gold: dict[str, str | None] | None = None) -> list[tuple[str, str, str]]:
    """``(entity, kind, detail)`` for every predicted entity of one answer, then every
    missed gold entity. ``other_gold`` maps the passage's other types to their gold
    answers (for *wrong type*). ``detail`` names the gold entity a wrong boundary overlaps,
    the type a wrong-type entity belongs to, or is empty."""
    gold_items = _gold_items(gold)
    gold_keys = {k for _t, k in gold_items}
    others: dict[str, str] = {}  # normalised key -> first other type holding it
    for other, answer in (other_gold or {}).items():
        if other == typ:
            continue
        for _t, k in _gold_items(answer):
            others.setdefault(k, other)
    rows: list[tuple[str, str, str]] = []
    predicted = _predicted_items(raw)
    for entity, key in predicted:
        if key in gold_keys:
            rows.append((entity, "correct", ""))
        elif key in others:
            rows.append((entity, "wrong type", others[key]))
        elif (hit := _overlapping(passage, entity, key, gold_items)) is not None:
            rows.append((entity, "wrong boundary", hit))
        elif not entity.strip() or not _occurrences(passage, entity):
            rows.append((entity, "hallucinated", ""))
        else:
            rows.append((entity, "spurious", ""))
    keys = {k for _e, k in predicted}
    rows.extend((text, "missed", "") for text, key in gold_items if key not in keys)
    return rows


def classify_errors(questions: Sequence, raws: Sequence[str], dataset: str | None = None):
    """One row per predicted entity and per missed gold entity of an evaluation.

    ``questions`` are :class:`unerlib.inference.Question` objects (``id``, ``passage``,
    ``type``, ``gold``) and ``raws`` their raw answers, in the same order. Columns:
    ``dataset``, ``id``, ``passage``, ``type``, ``entity``, ``kind`` (one of
    :data:`KINDS`, precedence in the module docstring) and ``detail``.
    """
    import pandas as pd

    if len(questions) != len(raws):
        raise ValueError(f"{len(raws)} answers for {len(questions)} questions")
    by_passage: dict[str, dict[str, str | None]] = {}
    for q in questions:
        golds = by_passage.setdefault(q.passage, {})
        if q.type in golds and golds[q.type] != q.gold:  # a repeated question: pool the gold lists
            merged = [t for t, _k in _gold_items(golds[q.type])] + [t for t, _k in _gold_items(q.gold)]
            golds[q.type] = json.dumps(merged)
        else:
            golds[q.type] = q.gold
    rows = []
    for q, raw in zip(questions, raws):
        for entity, kind, detail in classify_answer(q.passage, q.type, raw, q.gold, by_passage[q.passage]):
            rows.append((dataset, q.id, q.passage, q.type, entity, kind, detail))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def error_counts(table, by: str = "dataset"):
    """Rows per ``by`` value (datasets in order of appearance) and kind, every kind of
    :data:`KINDS` a column (zeros kept), plus ``errors`` (every kind but correct)."""
    import pandas as pd

    table = table.assign(**{by: table[by].fillna("")})  # classify_errors without a dataset name
    groups = list(dict.fromkeys(table[by])) if len(table) else []
    counts = pd.crosstab(table[by], table["kind"]) if len(table) else pd.DataFrame()
    counts = counts.reindex(index=groups, columns=list(KINDS), fill_value=0).astype(int)
    counts["errors"] = counts[list(ERROR_KINDS)].sum(axis=1)
    counts.index.name = by
    counts.columns.name = None
    return counts


def _snippet(passage: str, entity: str, width: int) -> str:
    """The passage, or a window of about ``width`` characters around the entity's first
    case-insensitive occurrence, with ``…`` where it was cut."""
    if width <= 0 or len(passage) <= width:
        return passage
    spans = _occurrences(passage, entity)
    centre = (spans[0][0] + spans[0][1]) // 2 if spans else 0
    start = max(0, min(centre - width // 2, len(passage) - width))
    end = start + width
    return ("…" if start > 0 else "") + passage[start:end].strip() + ("…" if end < len(passage) else "")


def top_examples(table, kind: str, n: int = 5, width: int = 160):
    """The ``n`` most frequent entities of one kind: rows grouped by dataset, type and
    normalised entity, most frequent first (ties: order of appearance), each with its
    count, its first detail and the sentence of its first occurrence (cut to about
    ``width`` characters around the entity; 0: whole)."""
    import pandas as pd

    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {list(KINDS)}")
    sub = table[table["kind"] == kind]
    cols = ["dataset", "type", "entity", "count", "detail", "sentence"]
    if sub.empty:
        return pd.DataFrame(columns=cols)
    key = sub["entity"].map(normalize_answer)
    groups: dict[tuple, dict[str, Any]] = {}
    for (_i, row), k in zip(sub.iterrows(), key):
        g = groups.setdefault((row["dataset"], row["type"], k),
                              {"dataset": row["dataset"], "type": row["type"], "entity": row["entity"],
                               "count": 0, "detail": row["detail"],
                               "sentence": _snippet(row["passage"], row["entity"], width)})
        g["count"] += 1
    ranked = sorted(groups.values(), key=lambda g: -g["count"])  # stable: ties keep appearance order
    return pd.DataFrame(ranked[:n], columns=cols).reset_index(drop=True)


# --------------------------------------------------------------------------- per-type scores


def type_scores_with_intervals(questions: Sequence, raws: Sequence[str], n_resamples: int = 1000,
                               seed: int = 0, level: float = 0.95):
    """The official metric per entity type of one evaluation, with percentile bootstrap
    intervals: each type's questions summed per sentence (passage) and the sentences
    resampled (:mod:`unerlib.stats`). Columns: ``type``, ``questions``, ``sentences``,
    ``gold``, ``predicted``, ``correct``, ``precision``, ``recall``, ``f1`` (percent) and
    the ``_low``/``_high`` bounds of each; types in order of appearance."""
    import pandas as pd

    from . import stats

    if len(questions) != len(raws):
        raise ValueError(f"{len(raws)} answers for {len(questions)} questions")
    by_type: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        by_type.setdefault(q.type, []).append(i)
    rows = []
    for typ, idx in by_type.items():
        counts = stats.sentence_counts([questions[i].passage for i in idx], [raws[i] for i in idx],
                                       [questions[i].gold or "[]" for i in idx])
        c, p, g = (int(x) for x in counts.sum(axis=0))
        row: dict[str, Any] = {"type": typ, "questions": len(idx), "sentences": len(counts),
                               "gold": g, "predicted": p, "correct": c}
        if hasattr(stats, "prf_interval"):
            est = stats.prf_interval(counts, n_resamples=n_resamples, seed=seed, level=level)
        else:  # an older stats module: the F1 interval only
            from .metrics import prf

            point = {k: 100 * v for k, v in prf(c, p, g).items()}
            est = {k: stats.Estimate(point[k], float("nan"), float("nan")) for k in ("precision", "recall")}
            est["f1"] = stats.bootstrap_f1(counts, n_resamples=n_resamples, seed=seed, level=level)
        for name in ("precision", "recall", "f1"):
            row[name], row[f"{name}_low"], row[f"{name}_high"] = est[name].value, est[name].low, est[name].high
        rows.append(row)
    return pd.DataFrame(rows)


def weakest_types(type_scores, n: int = 12, min_gold: int = 1):
    """The ``n`` rows with the lowest F1 among types with at least ``min_gold`` gold
    entities (a type never present cannot be recalled, so its F1 says nothing)."""
    sub = type_scores[type_scores["gold"] >= min_gold]
    return sub.sort_values(["f1", "gold"], ascending=[True, False], kind="stable").head(n).reset_index(drop=True)


# --------------------------------------------------------------------------- files


def load_cap_hits(path: str | os.PathLike) -> dict[str, bool]:
    """``{id: cap_hit}`` from a predictions file: a line's ``"cap_hit"`` flag, else
    whether its ``"stop"`` reason is ``"cap"``; ids whose line has neither are absent (the
    predictor did not record it)."""
    out: dict[str, bool] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                if "cap_hit" in obj:
                    out[str(obj["id"])] = bool(obj["cap_hit"])
                elif "stop" in obj:
                    out[str(obj["id"])] = obj["stop"] == "cap"
    return out


def load_evaluation(dataset: str, predictions: str | os.PathLike, limit: int | None = None,
                    root: str | os.PathLike | None = None):
    """The questions of one evaluation (:func:`unerlib.inference.load_questions` with the
    same ``limit``), their raw answers in question order, and their cap-hit flags (None
    where the line does not record one). A prediction for an unknown id, or a question without one, is an
    error naming it."""
    from .inference import load_questions

    questions = load_questions(dataset, limit, root)
    preds = load_predictions(predictions)
    raws = align([(q.id, q.type, q.gold or "[]") for q in questions], preds, f"the questions of {dataset}")
    caps = load_cap_hits(Path(predictions))
    return questions, raws, [caps.get(q.id) for q in questions]


def analyse_sets(evaluations, limit: int | None = None, n_resamples: int = 1000, seed: int = 0,
                 root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Everything the error-analysis chapter shows, for the rows of
    :func:`unerlib.experiments.evaluate_sets` (columns ``dataset`` and ``predictions``):
    ``errors`` (:func:`classify_errors`, every set), ``counts`` (:func:`error_counts`),
    ``types`` (:func:`type_scores_with_intervals` with a ``dataset`` column) and ``health``
    (:func:`answer_health` per set, a DataFrame)."""
    import pandas as pd

    errors, types, health = [], [], []
    for name, path in zip(evaluations["dataset"], evaluations["predictions"]):
        questions, raws, caps = load_evaluation(name, path, limit, root)
        errors.append(classify_errors(questions, raws, dataset=name))
        types.append(type_scores_with_intervals(questions, raws, n_resamples, seed).assign(dataset=name))
        health.append({"dataset": name, **answer_health(raws, caps)})
    errors_df = pd.concat(errors, ignore_index=True) if errors else pd.DataFrame(columns=list(COLUMNS))
    types_df = pd.concat(types, ignore_index=True) if types else pd.DataFrame()
    if len(types_df):
        types_df = types_df[["dataset"] + [c for c in types_df.columns if c != "dataset"]]
    return {"errors": errors_df, "counts": error_counts(errors_df), "types": types_df,
            "health": pd.DataFrame(health).set_index("dataset") if health else pd.DataFrame()}
