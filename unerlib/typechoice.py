"""One type per entity: a decoding option that keeps each entity under one type of a passage.

A weak student answers most questions about a passage with the same entity, whatever the
type asked (``"Eli Lilly"`` as a company, a drink, a symptom...), so most of its answers
are false positives. With ``one_type_per_entity`` the predictor scores each entity of each
answer by the log-probability the student gave its answer up to that entity's first
token (the choice to answer at all, and to name this entity), and an entity named under
several types of one passage window is kept only under the type where that score is
highest. Entities are matched as the official metric compares them (normalised text).
This is our extension, not the paper's method: a mention has one type in the evaluation
sets, and the option is chosen (or not) on the validation suite like any other setting.
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Sequence


def entity_scores(raw: str, pieces: Sequence[str], logprobs: Sequence[float]) -> list[tuple[str, float]]:
    """Each entity of an answer (as :func:`unerlib.inference.parse_entities` reads it) with
    the summed log-probability of the answer's tokens up to the one holding the entity's
    first character. ``pieces`` are the answer's tokens as text (``raw`` is their join)."""
    from .inference import parse_entities

    entities = parse_entities(raw)
    if not entities:
        return []
    ends = list(accumulate(len(p) for p in pieces))
    cum = list(accumulate(logprobs)) or [0.0]
    out: list[tuple[str, float]] = []
    pos = 0
    for ent in entities:
        needle = json.dumps(ent, ensure_ascii=False)
        at = raw.find(needle, pos)
        if at < 0:  # written differently (escapes): the whole answer's score
            out.append((ent, cum[-1]))
            continue
        first = at + 1  # the string's first character
        token = next((i for i, e in enumerate(ends) if e > first), len(cum) - 1)
        out.append((ent, cum[min(token, len(cum) - 1)]))
        pos = at + len(needle)
    return out


def keep_one_type(answers: Sequence[Sequence[tuple[str, float]]]) -> list[list[str]]:
    """For the scored answers of one passage (one per type asked), the entities each answer
    keeps: an entity (normalised as the official metric does) stays only in the answer
    where its score is highest (the first such answer on a tie)."""
    from .metrics import normalize_answer

    best: dict[str, tuple[float, int]] = {}
    for a, scored in enumerate(answers):
        for ent, score in scored:
            key = normalize_answer(ent)
            if key not in best or score > best[key][0]:
                best[key] = (score, a)
    return [[ent for ent, _ in scored if best[normalize_answer(ent)][1] == a]
            for a, scored in enumerate(answers)]


def filtered_answer(raw: str, scored: Sequence[tuple[str, float]], kept: Sequence[str]) -> str:
    """The answer text after the filter: ``raw`` itself when it keeps every entity, else the
    kept entities as a JSON list (written as the student writes lists, after a space)."""
    if len(kept) == len(scored):
        return raw
    return " " + json.dumps(list(kept), ensure_ascii=False)
