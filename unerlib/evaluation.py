"""The zero-shot evaluation stage: a student's answers on whole sets, scored with the
official metric and the span metric, each F1 with its 95% bootstrap interval.

Each (student, set, sentence limit, answer cap) is one artifact under
``artifacts/evaluations/``: ``predictions.jsonl`` (one line per question, with why its
answer stopped) and ``metrics.json`` (scores, per-type scores, answer counts, and the
per-sentence counts that the intervals resample). Answers are written in chunks of
passages, so a run that dies keeps what it answered and the next run goes on from there.
An evaluation of the first N sentences is cut from a finished one of more sentences of
the same student when there is one (the answers do not depend on what else is asked).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .artifacts import (artifact_dir, artifact_label, artifacts_root, building, is_done, keyed_params, mark_done,
                        write_json_atomic)
from .registry import ZERO_SHOT
from .runs import record
from .stats import bootstrap_f1
from .student import EMBEDDED

#: passages answered between two appends to the partial predictions file
CHUNK_PASSAGES = 40


def evaluation_params(model: str, adapter: str | os.PathLike | None, data: str, limit: int | None,
                      max_new_tokens: int, stop_loops: bool = True, quantize: str = "",
                      empty_bias: float = 0.0, constrain_spans: bool = False,
                      one_type_per_entity: bool = False, root: str | os.PathLike | None = None,
                      lower_types: bool = False) -> dict[str, Any]:
    """The parameters that key an evaluation (the adapter by its artifact label under the
    artifacts ``root`` the evaluation is cached in); ``empty_bias``, ``constrain_spans``,
    ``one_type_per_entity`` and ``lower_types`` only when set, so evaluations without them
    keep their keys."""
    return {"model": model, "adapter": artifact_label(adapter, root) if adapter else None, "data": data,
            "limit": limit or None, "max_new_tokens": max_new_tokens, "stop_loops": stop_loops, "quantize": quantize,
            **({"empty_bias": float(empty_bias)} if empty_bias else {}),
            **({"constrain_spans": True} if constrain_spans else {}),
            **({"one_type_per_entity": True} if one_type_per_entity else {}),
            **({"lower_types": True} if lower_types else {})}


def asks_cased_types(data: str, data_root: str | os.PathLike | None = None) -> bool:
    """Whether any type a set asks has a capital letter (so ``lower_types`` changes its questions)."""
    from .inference import load_questions

    return any(q.type != q.type.lower() for q in load_questions(data, None, data_root))


#: tokens added to the longest gold answer of a set when the answer cap is ``"auto"``
CAP_MARGIN = 32


def answer_cap(golds: Sequence[str | None], tokenizer, margin: int = CAP_MARGIN) -> int:
    """The ``"auto"`` answer cap of a set's questions: its longest gold answer in student
    tokens, written as the student writes answers (a space, the JSON list, the end token),
    plus ``margin``; so no correct answer can reach the cap."""
    from .instructions import encode_answer

    longest = 0
    for gold in golds:
        if not gold:
            continue
        try:
            items = json.loads(gold)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list) and all(isinstance(x, str) for x in items):
            n = len(encode_answer(tokenizer, items))
        else:
            n = len(tokenizer(" " + gold, add_special_tokens=False)["input_ids"]) + 1
        longest = max(longest, n)
    return longest + margin


def evaluate_sets(model: str = EMBEDDED, adapter: str | os.PathLike | None = None,
                  sets: Sequence[str] = ZERO_SHOT, limit: int | None = 50, max_new_tokens: int | str = 256,
                  progress: bool = True, root: str | os.PathLike | None = None,
                  data_root: str | os.PathLike | None = None, stop_loops: bool = True, quantize: str = "",
                  empty_bias: float = 0.0, constrain_spans: bool = False, one_type_per_entity: bool = False,
                  lower_types: bool = False):
    """Zero-shot scores per set (cached); a DataFrame with one row per set.

    Columns: ``precision``/``recall``/``f1`` (official string metric) with ``f1_low``/
    ``f1_high`` (95% bootstrap interval over sentences), the same for ``span_`` (exact span
    metric, :func:`unerlib.metrics.span_score`), ``sentences``, ``questions``, the answer
    counts of :func:`unerlib.inference.answer_health` (``parse_failures``, ``cap_hits``,
    ``loop_stops``, ``empty``, ``gold_empty``), ``key`` (the artifact) and
    ``predictions`` (its predictions file). ``quantize`` (``"int8"`` or ``"int8_row"``)
    answers with an int8 quantization of the student (:mod:`unerlib.quantize`);
    ``empty_bias`` favours ``[]`` at each answer's first token (:mod:`unerlib.decoder`);
    ``constrain_spans`` decodes lists of passage strings only (:mod:`unerlib.constrained`);
    ``one_type_per_entity`` keeps each entity under one type of a passage (:mod:`unerlib.typechoice`).
    ``lower_types`` asks each type in lower case ("restaurant name" for "Restaurant Name"), as
    the teacher data asks its types; it keys only the sets whose types it changes, so the
    evaluations of the other sets are the plain ones. ``max_new_tokens="auto"`` caps each set at :func:`answer_cap` of all its questions
    (the whole split: at least the longest gold answer of the sentences evaluated, and the
    same cap at any ``limit``); the ``max_new_tokens`` column gives the cap each set used.
    """
    import pandas as pd

    from .inference import load_questions

    loaded: list[Any] = []
    tokenizers: list[Any] = []

    def cap(name: str) -> int:
        if max_new_tokens != "auto":
            return int(max_new_tokens)
        # the whole split's longest gold answer: one cap per set whatever the number of
        # sentences, so a smaller evaluation is still cut from a larger one
        folder = artifact_dir("answer_caps", {"model": model, "data": name, "margin": CAP_MARGIN}, root)
        if not is_done(folder):  # measured once (a split's golds, tokenized: seconds on a large set)
            if not tokenizers:
                from .student import load_tokenizer
                tokenizers.append(load_tokenizer(model))
            golds = [q.gold for q in load_questions(name, None, data_root)]
            write_json_atomic(folder / "cap.json", {"cap": answer_cap(golds, tokenizers[0])})
            mark_done(folder)
        return int(json.loads((folder / "cap.json").read_text())["cap"])

    def student():
        if not loaded:
            from .student import load_student
            loaded.append(load_student(model, str(adapter) if adapter else None, quantize=quantize))
        return loaded[0]

    rows, keys = [], {}
    for name in sets:
        params = evaluation_params(model, adapter, name, limit, cap(name), stop_loops, quantize, empty_bias,
                                   constrain_spans, one_type_per_entity, root,
                                   lower_types=lower_types and asks_cased_types(name, data_root))
        if max_new_tokens == "auto":  # recorded, so a summary groups a student's sets whatever their caps
            params["answer_cap"] = "auto"
        folder = artifact_dir("evaluations", params, root)
        keys[folder.name] = params
        if not is_done(folder):
            with building(folder):
                if not is_done(folder):
                    if not _cut_from_larger(params, folder, data_root, root):
                        _answer(student, params, folder, progress, data_root)
                    write_json_atomic(folder / "metrics.json", score_predictions(name, folder / "predictions.jsonl",
                                                                                 limit, data_root), indent=1)
                    mark_done(folder)
        rows.append(_row(name, folder))
    record("evaluations", **keys)  # this run used them (the results summary reads them back)
    return pd.DataFrame(rows)


def _answer(student, params: dict[str, Any], folder: Path, progress: bool, data_root) -> None:
    """Answer the set's questions in chunks of passages, appending each chunk to
    ``predictions.partial.jsonl``; questions found there already are not asked again.
    ``student()`` loads the student (only when a question is left to ask)."""
    from tqdm.auto import tqdm

    from .inference import group_by_passage, load_questions, predict, prediction_line

    questions = load_questions(params["data"], params["limit"], data_root)
    set_types = {q.id: q.type for q in questions}  # a prediction line names the type as the set spells it
    if params.get("lower_types"):
        questions = [replace(q, type=q.type.lower()) for q in questions]
    partial = folder / "predictions.partial.jsonl"
    answered = read_predictions(folder / "predictions.jsonl")
    if answered and all(q.id in answered for q in questions):
        return  # answered by a run that died before scoring them
    done = read_predictions(partial)
    if partial.is_file():  # drop a line half-written by a run that died, before appending to it
        _write_lines(partial, list(done.values()))
    todo = [q for q in questions if q.id not in done]
    groups = group_by_passage(todo)
    bar = tqdm(total=len(questions), initial=len(questions) - len(todo), unit="q", disable=not progress,
               desc=f"{params['data']} ({'tuned' if params['adapter'] else 'untuned'})")
    with open(partial, "a", encoding="utf-8") as fh:
        for start in range(0, len(groups), CHUNK_PASSAGES):
            chunk = [todo[i] for _, idx in groups[start:start + CHUNK_PASSAGES] for i in idx]
            preds, _ = predict(student(), chunk, max_new_tokens=params["max_new_tokens"], progress=False,
                               stop_loops=params["stop_loops"], empty_bias=params.get("empty_bias", 0.0),
                               constrain_spans=params.get("constrain_spans", False),
                               one_type_per_entity=params.get("one_type_per_entity", False))
            fh.writelines(json.dumps({**prediction_line(p), "type": set_types[p.id]}, ensure_ascii=False) + "\n"
                          for p in preds)
            fh.flush()
            bar.update(len(chunk))
    bar.close()
    lines = read_predictions(partial)
    _write_lines(folder / "predictions.jsonl", [lines[q.id] for q in questions])
    partial.unlink()


def read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """``{id: line}`` of a predictions file (``predictions.jsonl``); a half-written last line is ignored."""
    out: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[str(obj["id"])] = obj
    return out


def _write_lines(path: Path, lines: Sequence[dict[str, Any]]) -> None:
    from .artifacts import write_text_atomic

    write_text_atomic(path, "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in lines))


def _cut_from_larger(params: dict[str, Any], folder: Path, data_root, root) -> bool:
    """Write the predictions of ``params`` from a finished evaluation of the same student,
    set and cap over more sentences (or all); False when there is none."""
    from .inference import load_questions

    wanted = keyed_params("evaluations", params)
    best: Path | None = None
    for other in (artifacts_root(root) / "evaluations").glob("*/params.json"):
        theirs = json.loads(other.read_text())
        if other.parent == folder or not is_done(other.parent):
            continue
        # the same keys (an evaluation with a decoding option set is not a plain one) and values
        same = set(theirs) == set(wanted) and all(theirs.get(k) == v for k, v in wanted.items() if k != "limit")
        if same and wanted["limit"] and (not theirs.get("limit") or theirs["limit"] > wanted["limit"]):
            best = other.parent
            break
    if best is None:
        return False
    lines = read_predictions(best / "predictions.jsonl")
    questions = load_questions(params["data"], params["limit"], data_root)
    if any(q.id not in lines for q in questions):
        return False
    _write_lines(folder / "predictions.jsonl", [lines[q.id] for q in questions])
    (folder / "source.json").write_text(json.dumps({"cut_from": artifact_label(best, root)}))
    return True


def score_predictions(data: str, predictions: str | os.PathLike, limit: int | None = None,
                      root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Everything ``metrics.json`` holds for a predictions file of ``data``'s first
    ``limit`` sentences: the official metric with ``by_type``, ``answers`` (counts), the span
    metric (``span``), per-sentence counts of both metrics and the F1 intervals."""
    from .data import DataError
    from .inference import answer_health, load_questions
    from .metrics import score, score_by_type, span_score
    from .stats import sentence_counts

    questions = load_questions(data, limit, root)
    lines = read_predictions(Path(predictions))
    missing = [q.id for q in questions if q.id not in lines]
    if missing:
        raise DataError(f"{predictions}: no prediction for {len(missing)} of {len(questions)} questions "
                        f"of {data!r} (first: {missing[0]!r})")
    raws = [lines[q.id]["prediction"] for q in questions]
    golds = [q.gold or "[]" for q in questions]
    passages = [q.passage for q in questions]
    types = [q.type for q in questions]
    result: dict[str, Any] = score(raws, golds)
    result["by_type"] = score_by_type(raws, golds, types)
    result["answers"] = answer_health(raws, [lines[q.id].get("stop", "end") for q in questions], golds,
                                      [bool(lines[q.id].get("cap_hit", lines[q.id].get("stop") == "cap"))
                                       for q in questions])
    result["span"] = span_score(passages, types, raws, golds)
    counts = sentence_counts(passages, raws, golds)
    by_passage: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        by_passage.setdefault(p, []).append(i)
    span_counts = np.array([[s["n_correct"], s["n_pred"], s["n_gold"]] for s in
                            (span_score(*[[col[i] for i in idx] for col in (passages, types, raws, golds)])
                             for idx in by_passage.values())], dtype=np.int64).reshape(-1, 3)
    result["sentence_counts"] = counts.tolist()
    result["span_sentence_counts"] = span_counts.tolist()
    result["f1_interval"] = bootstrap_f1(counts).as_dict()
    result["span_f1_interval"] = bootstrap_f1(span_counts).as_dict()
    result["sentences"] = len(counts)
    return result


#: the answer counts of an evaluation row (see :func:`unerlib.inference.answer_health`)
ANSWER_COUNTS = ("parse_failures", "cap_hits", "loop_stops", "loops_capped", "empty", "gold_empty")


def _row(name: str, folder: Path) -> dict[str, Any]:
    m = json.loads((folder / "metrics.json").read_text())
    span, f1i, sf1i = m["span"], m["f1_interval"], m["span_f1_interval"]
    answers = m["answers"]
    return {"dataset": name, "precision": 100 * m["precision"], "recall": 100 * m["recall"],
            "f1": 100 * m["f1"], "f1_low": f1i["low"], "f1_high": f1i["high"],
            "span_precision": 100 * span["precision"], "span_recall": 100 * span["recall"],
            "span_f1": 100 * span["f1"], "span_f1_low": sf1i["low"], "span_f1_high": sf1i["high"],
            "sentences": m["sentences"], "questions": m["n"],
            **{k: answers.get(k, 0) for k in ANSWER_COUNTS},
            "max_new_tokens": json.loads((folder / "params.json").read_text()).get("max_new_tokens"),
            "key": folder.name, "predictions": str(folder / "predictions.jsonl")}
