"""Checks that the report's shortcuts leave the answers as they were: the loop stop of the
batched decoder (:func:`loop_stop_check`) and reduced-precision decoding (:func:`quantization_check`),
each the same questions answered both ways and compared answer by answer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from .evaluation import evaluate_sets, read_predictions
from .intervals import paired
from .registry import ZERO_SHOT


def parsed_answer(line: dict[str, Any]) -> list:
    """The answer of a predictions line as the official metric reads it."""
    from .metrics import official_response, parse_official

    return parse_official(official_response(line["prediction"]))


def loop_stop_check(model: str, adapter: str | os.PathLike, data: str, limit: int, max_new_tokens: int,
                    quantize: str = "", progress: bool = True, root: str | os.PathLike | None = None,
                    empty_bias: float = 0.0, constrain_spans: bool = False,
                    one_type_per_entity: bool = False, lower_types: bool = False) -> dict[str, Any]:
    """The same questions decoded with the loop stop (loops set aside, then decoded on to
    their end) and without it: how many answers looped, how many official parsed answers
    differ, and both official F1 scores (they should be equal)."""
    runs = {flag: evaluate_sets(model, adapter, sets=[data], limit=limit, max_new_tokens=max_new_tokens,
                                progress=progress, root=root, stop_loops=flag, quantize=quantize,
                                empty_bias=empty_bias, constrain_spans=constrain_spans,
                                one_type_per_entity=one_type_per_entity, lower_types=lower_types).iloc[0]
            for flag in (True, False)}
    answers = {flag: read_predictions(Path(row["predictions"])) for flag, row in runs.items()}
    differ = [qid for qid, line in answers[True].items()
              if parsed_answer(line) != parsed_answer(answers[False][qid])]
    return {"data": data, "sentences": int(runs[True]["sentences"]), "answers": int(runs[True]["questions"]),
            "loops set aside": int(runs[True]["loop_stops"]), "cap hits without the stop": int(runs[False]["cap_hits"]),
            "parsed answers that differ": len(differ), "F1 with the stop": round(float(runs[True]["f1"]), 2),
            "F1 without": round(float(runs[False]["f1"]), 2)}


def quantization_check(model: str, adapter: str | os.PathLike, limit: int, max_new_tokens: int,
                       sets: Sequence[str] = ZERO_SHOT, progress: bool = True,
                       root: str | os.PathLike | None = None, empty_bias: float = 0.0,
                       constrain_spans: bool = False, quantize: str = "int8", one_type_per_entity: bool = False,
                       lower_types: bool = False):
    """The same questions (the first ``limit`` sentences of each set) answered by the
    float32 student and by its ``quantize`` reduced precision (int8 or bfloat16, :mod:`unerlib.quantize`): per
    set both F1 scores and the share of official parsed answers that differ, and the paired
    difference of the averages (quantized minus float32) with its 95% interval."""
    import pandas as pd

    if not quantize:
        raise ValueError("quantization_check compares a quantization with float32: name one (e.g. bf16 or int8_row)")
    runs = {q: evaluate_sets(model, adapter, sets=sets, limit=limit, max_new_tokens=max_new_tokens,
                             progress=progress, root=root, quantize=q, empty_bias=empty_bias,
                             constrain_spans=constrain_spans, one_type_per_entity=one_type_per_entity,
                             lower_types=lower_types)
            for q in ("", quantize)}
    rows = []
    for (_, a), (_, b) in zip(runs[""].iterrows(), runs[quantize].iterrows()):
        la, lb = read_predictions(Path(a["predictions"])), read_predictions(Path(b["predictions"]))
        same = sum(parsed_answer(la[k]) == parsed_answer(lb[k]) for k in la)
        rows.append({"dataset": a["dataset"], "questions": int(a["questions"]), "F1 float32": round(a["f1"], 2),
                     f"F1 {quantize}": round(b["f1"], 2), "identical parsed answers %": round(100 * same / len(la), 1)})
    return pd.DataFrame(rows), paired(runs[quantize], runs[""])
