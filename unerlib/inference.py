"""Zero-shot inference: ask a student about many (passage, type) questions, fast.

The official code renders one full prompt per question and generates for each. Here the
questions go to :class:`unerlib.decoder.HFPredictor`, which runs each passage's prefix
once and decodes the questions of several passages as one batch (see its module for how
the answers stay those of each prompt alone, and when an answer stops).

A passage longer than ``max_passage_tokens`` is split at word boundaries into windows that
fit; each window is asked every question and the answers are merged (union in order of
appearance), so no text is dropped. Every prediction records why its answer ended
(``stop``: end, unparseable, loop or cap), so an evaluation can count the answers cut by
the token cap and those that looped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .data import DataError
from .readers_conversation import conversation_rows, find_spans
from .decoder import HFPredictor, InferenceStats, TokenText, _pack, shared_prefix, stop_token_ids  # noqa: F401 (re-exported)
from .instructions import PromptTokens, encode_prefix, encode_prompts, encode_question
from .metrics import parse_entities


@dataclass(frozen=True)
class Question:
    """One (passage, type) question; ``gold`` is the gold answer string when known."""

    id: str
    passage: str
    type: str
    gold: str | None = None


@dataclass
class Prediction:
    """The raw answer to a question and the entity strings parsed from it."""

    id: str
    type: str
    raw: str
    entities: list[str]
    windows: int = 1
    stop: str = "end"  # why the answer ended (unerlib.decoder.STOP_REASONS); "cap" in any window wins
    cap_hit: bool = False  # reached max_new_tokens without closing (a loop decoded on to the cap too)


def entity_offsets(passage: str, entities: Iterable[str]) -> list[dict[str, Any]]:
    """Every occurrence of each entity in the passage, as ``{"text", "start", "end"}``.

    Exact matches come first; failing those, case-insensitive matches marked
    ``"verbatim": False``; failing both, one entry with ``start``/``end`` None.
    """
    import re

    out: list[dict[str, Any]] = []
    for ent in entities:
        spans = find_spans(passage, ent)
        if spans:
            out.extend({"text": ent, "start": s, "end": e} for s, e in spans)
            continue
        # case-insensitive on the passage itself (str.lower() may change lengths)
        spans = [m.span() for m in re.finditer(re.escape(ent), passage, re.IGNORECASE)] if ent else []
        if spans:
            out.extend({"text": passage[s:e], "start": s, "end": e, "verbatim": False} for s, e in spans)
        else:
            out.append({"text": ent, "start": None, "end": None, "verbatim": False})
    return out


def split_passage(tokenizer, passage: str, max_tokens: int) -> list[str]:
    """Windows of the passage, cut at spaces, whose prefix fits in ``max_tokens`` tokens."""
    if len(encode_prefix(tokenizer, passage)) <= max_tokens:
        return [passage]
    overhead = len(encode_prefix(tokenizer, ""))
    budget = max(max_tokens - overhead, 8)
    windows, current, used = [], [], 0
    for word in passage.split(" "):
        n = len(tokenizer(" " + word, add_special_tokens=False)["input_ids"])
        if current and used + n > budget:
            windows.append(" ".join(current))
            current, used = [], 0
        current.append(word)
        used += n
    if current:
        windows.append(" ".join(current))
    return windows


def group_by_passage(questions: Sequence[Question]) -> list[tuple[str, list[int]]]:
    """(passage, indices of its questions), passages in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        groups.setdefault(q.passage, []).append(i)
    return list(groups.items())


def predict(student, questions: Sequence[Question], max_new_tokens: int = 64,
            max_passage_tokens: int = 1024, backend: str = "hf", progress: bool = True,
            method: str = "fast", max_batch: int = 128, max_batch_tokens: int = 32768,
            stop_loops: bool = True, empty_bias: float = 0.0, constrain_spans: bool = False,
            one_type_per_entity: bool = False) -> tuple[list[Prediction], InferenceStats]:
    """Answer every question; returns predictions in question order and token statistics.

    Identical (passage, type) questions are answered once. The fast method decodes the
    questions of several passages together (passages of similar length grouped), at most
    ``max_batch`` questions and ``max_batch_tokens`` cached positions at a time.

    ``method="naive"`` answers one question at a time through ``generate`` with the same
    stopping rule; ``method="official"`` is the official loop as published (one
    ``generate`` per question, stopping at the end-of-sequence token or the cap only).
    ``stop_loops`` takes an answer repeating one block of list items (see
    :meth:`unerlib.decoder.HFPredictor.looping`) out of its batch and decodes it on to its
    end with the other loops afterwards (:meth:`~unerlib.decoder.HFPredictor.finish_loops`):
    the answers are those of decoding without the stop, only sooner. Its stop reason is
    ``loop`` (a prediction's ``cap_hit`` says whether it ran to ``max_new_tokens``).
    ``empty_bias`` adds to the logits of ``[]`` at each answer's first token (fast method
    only, see :mod:`unerlib.decoder`). ``constrain_spans`` decodes each answer as a JSON
    list of strings found in its passage (fast method only, :mod:`unerlib.constrained`).
    ``one_type_per_entity`` keeps an entity named under several types of a passage window
    only under the type the student scored highest (fast method only, :mod:`unerlib.typechoice`).
    ``backend="vllm"`` uses vLLM with prefix caching
    (extra ``gpu``).
    """
    if backend == "vllm":
        from .vllm_backend import predict_vllm

        if empty_bias or constrain_spans or one_type_per_entity:
            raise ValueError("empty_bias, constrain_spans and one_type_per_entity are options of the hf backend "
                             "only (the vllm backend decodes as the model does)")

        return predict_vllm(student, questions, max_new_tokens, max_passage_tokens)
    if backend != "hf":
        raise ValueError(f"unknown backend {backend!r} (hf or vllm)")
    if method not in ("fast", "naive", "official"):
        raise ValueError(f"unknown method {method!r} (fast, naive or official)")
    if (empty_bias or constrain_spans or one_type_per_entity) and method != "fast":
        raise ValueError(f"empty_bias, constrain_spans and one_type_per_entity are options of the fast method, "
                         f"not of {method!r}")
    from tqdm.auto import tqdm

    official = method == "official"
    engine = HFPredictor(student.model, student.tokenizer, max_new_tokens, max_passage_tokens,
                         stop_unparseable=not official, stop_loops=stop_loops and not official,
                         empty_bias=0.0 if official else empty_bias, constrain_spans=constrain_spans,
                         score_tokens=one_type_per_entity)
    tok = student.tokenizer
    # work items: one prompt per (window, chunk of at most max_batch types), with the
    # question indices that receive each answer
    items: list[tuple[PromptTokens, list[list[int]]]] = []
    texts: list[str] = []  # each item's window of text
    window_of: list[int] = []  # each item's window, numbered over all passages
    n_windows = 0
    for passage, idx in group_by_passage(questions):
        # a passage repeated in a dataset (a header, a code placeholder) is asked each type once
        askers: dict[str, list[int]] = {}
        for i in idx:
            askers.setdefault(questions[i].type, []).append(i)
        types = list(askers)
        windows = split_passage(tok, passage, max_passage_tokens)
        engine.stats.passages += 1
        engine.stats.split_passages += len(windows) > 1
        for window in windows:
            n_windows += 1
            for start in range(0, len(types), max_batch):
                batch = types[start:start + max_batch]
                items.append((encode_prompts(tok, window, batch), [askers[t] for t in batch]))
                texts.append(window)
                window_of.append(n_windows - 1)
    # answers arrive in batch order; each item's index restores window order
    raws: list[list[tuple[int, str, str, bool]]] = [[] for _ in questions]
    prompts = [p for p, _ in items]
    bar = tqdm(total=sum(len(p.questions) for p in prompts), desc=f"answering ({method})",
               unit="q", disable=not progress)
    groups = _pack(prompts, max_batch, max_batch_tokens, max_new_tokens) if method == "fast" else [[k] for k in range(len(items))]
    answers: dict[tuple[int, int], list[int]] = {}  # (item, question) -> generated ids
    logprobs: dict[tuple[int, int], list[float]] = {}  # their tokens' log-probabilities (one_type_per_entity)
    for group in groups:
        if method == "fast":
            outs = engine.answer_many([prompts[k] for k in group], [texts[k] for k in group])
            if one_type_per_entity:
                for k, lps in zip(group, engine.last_logprobs):
                    logprobs.update(((k, j), lp) for j, lp in enumerate(lps))
        else:
            outs = [[engine.answer_naive(prompts[k].prefix + q, official) for q in prompts[k].questions]
                    for k in group]
        for k, ids_k in zip(group, outs):
            answers.update(((k, j), ids) for j, ids in enumerate(ids_k))
            bar.update(len(prompts[k].questions))
    bar.close()
    stops = {key: engine.stop_reason(ids) for key, ids in answers.items()}
    loops = [key for key, stop in stops.items() if stop == "loop"]
    if loops:  # decode the loops on to their own end, so no score depends on the stop
        bar = tqdm(total=len(loops), desc="finishing loops", unit="q", disable=not progress)
        done = engine.finish_loops([prompts[k].prefix + prompts[k].questions[j] for k, j in loops],
                                   [answers[key] for key in loops], on_batch=bar.update,
                                   passages=[texts[k] for k, _ in loops],
                                   logprobs=[logprobs[key] for key in loops] if one_type_per_entity else None)
        bar.close()
        answers.update(zip(loops, done))
    decoded = {key: engine.decode(ids) for key, ids in answers.items()}
    if one_type_per_entity:
        decoded = _one_type(engine.tokenizer, answers, logprobs, decoded, window_of)
    for (k, j), ids in answers.items():
        text, capped = decoded[(k, j)], len(ids) >= max_new_tokens and ids[-1] not in engine.stop_ids
        for i in items[k][1][j]:
            raws[i].append((k, text, stops[(k, j)], capped))
    engine.stats.questions = len(questions)
    return [_merge(q, [a[1:] for a in sorted(r)]) for q, r in zip(questions, raws)], engine.stats


def _one_type(tokenizer, answers: dict, logprobs: dict, decoded: dict, window_of: Sequence[int]) -> dict:
    """The answer texts after :func:`unerlib.typechoice.keep_one_type`, window by window."""
    from .typechoice import entity_scores, filtered_answer, keep_one_type

    piece = TokenText(tokenizer)
    by_window: dict[int, list[tuple[int, int]]] = {}
    for key in answers:
        by_window.setdefault(window_of[key[0]], []).append(key)
    out = dict(decoded)
    for keys in by_window.values():
        scored = [entity_scores(decoded[key], [piece(t) for t in answers[key]], logprobs[key]) for key in keys]
        for key, sc, kept in zip(keys, scored, keep_one_type(scored)):
            out[key] = filtered_answer(decoded[key], sc, kept)
    return out


def _merge(question: Question, answers: list[tuple[str, str, bool]]) -> Prediction:
    """One prediction from the answers of a passage's windows, ``(raw, stop, cap_hit)`` in
    window order; the stop reason is the first of cap, loop, unparseable, end found among
    them, and a cap hit in any window is a cap hit."""
    stops = {stop for _, stop, _ in answers}
    stop = next((s for s in ("cap", "loop", "unparseable") if s in stops), "end")
    cap_hit = any(c for _, _, c in answers)
    if len(answers) == 1:
        raw = answers[0][0]
        return Prediction(question.id, question.type, raw, parse_entities(raw), stop=stop, cap_hit=cap_hit)
    merged: dict[str, None] = {}
    for raw, _, _ in answers:
        for ent in parse_entities(raw):
            merged.setdefault(ent)
    return Prediction(question.id, question.type, json.dumps(list(merged), ensure_ascii=False),
                      list(merged), windows=len(answers), stop=stop, cap_hit=cap_hit)


# --------------------------------------------------------------------------- evaluation data


def load_questions(data: str, limit: int | None = None, root: str | os.PathLike | None = None) -> list[Question]:
    """Questions with gold answers from a UniNER evaluation JSON file or a registered dataset
    (its official file when there is one, else its test split converted); ``name:split``
    asks for one split (``wfb_1k:dev``).

    ``limit`` keeps the first N distinct passages with all their types.
    """
    from .data import data_dir
    from .readers_conversation import iter_uniner_conversations

    path = Path(data)
    if path.suffix == ".json" or path.exists():
        rows = list(iter_uniner_conversations(path))
    else:
        from .convert import to_uniner
        from .registry import dataset_types, get_spec, load_dataset

        name, _, split = data.partition(":")
        spec = get_spec(name)
        if not split and "test" in spec.official:
            rows = list(iter_uniner_conversations(data_dir(root) / spec.official["test"]))
        else:
            split = split or ("test" if "test" in spec.splits else next(iter(spec.splits)))
            records = load_dataset(name, split, root)
            rows = list(conversation_rows(to_uniner(records, dataset_types(name, records), data), data))
    questions = [Question(qid, passage, typ, gold) for qid, passage, typ, gold in rows]
    if limit:
        keep = {p for p, _ in group_by_passage(questions)[:limit]}
        questions = [q for q in questions if q.passage in keep]
    return questions


def prediction_line(p: Prediction) -> dict[str, Any]:
    """One line of a predictions file: ``id``, ``type``, ``prediction`` (the raw answer),
    ``stop`` (why it ended) and ``cap_hit``."""
    return {"id": p.id, "type": p.type, "prediction": p.raw, "stop": p.stop, "cap_hit": p.cap_hit or p.stop == "cap"}


def write_predictions(predictions: Sequence[Prediction], path: str | os.PathLike) -> Path:
    """JSON lines ``{"id", "type", "prediction"}``, the input of ``uner score``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for p in predictions:
            fh.write(json.dumps(prediction_line(p), ensure_ascii=False) + "\n")
    return path


def evaluate(student, data: str, limit: int | None = None, out: str | os.PathLike | None = None,
             max_new_tokens: int = 64, backend: str = "hf", progress: bool = True,
             root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Zero-shot evaluation on one set: predictions (written to ``out`` when given) scored
    with the official metric; returns the metric with ``by_type`` and token statistics."""
    from .metrics import score, score_by_type

    questions = load_questions(data, limit, root)
    if not questions:
        raise DataError(f"no questions in {data!r}")
    preds, stats = predict(student, questions, max_new_tokens=max_new_tokens, backend=backend, progress=progress)
    if out is not None:
        write_predictions(preds, out)
    raws = [p.raw for p in preds]
    golds = [q.gold or "[]" for q in questions]
    result = score(raws, golds)
    result["by_type"] = score_by_type(raws, golds, [q.type for q in questions])
    result["answers"] = answer_health(raws, [p.stop for p in preds], golds, [p.cap_hit for p in preds])
    result["tokens"] = stats.tokens
    result["passages"] = stats.passages
    result["max_new_tokens"] = max_new_tokens
    return result


def answer_health(raws: Sequence[str], stops: Sequence[str], golds: Sequence[str] | None = None,
                  cap_hits: Sequence[bool] | None = None) -> dict[str, int]:
    """Counts over the answers of an evaluation: ``answers``; ``parse_failures`` (answers
    not opening with a JSON list, scored empty); ``cap_hits`` (answers that reached
    ``max_new_tokens``: the ``cap_hits`` flags, else stop reason ``cap``); ``loop_stops``
    (answers that repeated a block of list items, set aside and decoded to their end, see
    :mod:`unerlib.decoder`) and ``loops_capped`` (those of them that reached the cap);
    ``empty`` (answers ``[]``) and, with ``golds``, ``gold_empty`` (gold answers ``[]``)."""
    from .metrics import official_response, opens_with_list, parse_official

    if len(raws) != len(stops):
        raise ValueError(f"{len(raws)} answers for {len(stops)} stop reasons")
    caps = list(cap_hits) if cap_hits is not None else [s == "cap" for s in stops]
    if len(caps) != len(raws):
        raise ValueError(f"{len(raws)} answers for {len(caps)} cap-hit flags")
    readable = [opens_with_list(r) for r in raws]
    health = {"answers": len(raws), "parse_failures": readable.count(False),
              "cap_hits": sum(caps), "loop_stops": sum(s == "loop" for s in stops),
              "loops_capped": sum(s == "loop" and c for s, c in zip(stops, caps)),
              "empty": sum(ok and not parse_official(official_response(r)) for ok, r in zip(readable, raws))}
    if golds is not None:
        health["gold_empty"] = sum(not parse_official(g) for g in golds)
    return health
