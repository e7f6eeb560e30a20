"""Entities in a passage, found by a student and shown as highlighted HTML (for the
exploration notebook): ask each type, locate the answers in the text, colour them by type."""

from __future__ import annotations

import html
from typing import Any, Sequence

#: Background colours for entity types, in order of first use (light, readable under text).
PALETTE: tuple[str, ...] = ("#ffd54f", "#81d4fa", "#a5d6a7", "#f48fb1", "#ce93d8", "#ffab91",
                            "#80cbc4", "#e6ee9c", "#b0bec5", "#bcaaa4")


def parse_types(types: str | Sequence[str]) -> list[str]:
    """Entity types from a comma list (or a sequence), stripped, repeats dropped; at least one."""
    from .data import DataError

    items = types.split(",") if isinstance(types, str) else list(types)
    out = list(dict.fromkeys(t.strip() for t in items if t.strip()))
    if not out:
        raise DataError("no entity type given: write them as a comma list, e.g. 'person, location'")
    return out


def type_colors(types: Sequence[str]) -> dict[str, str]:
    """One palette colour per type, in order (the palette repeats after ten types)."""
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(types)}


def find_entities(student, passage: str, types: str | Sequence[str], max_new_tokens: int = 64):
    """Ask the student about every type and locate each answer in the passage.

    A DataFrame with one row per occurrence: ``type``, ``text``, ``start``, ``end``
    (character offsets, None when the answer is not in the text) and ``verbatim`` (False
    for a case-insensitive match or no match); types with no entity have no row.
    """
    import pandas as pd

    from .data import DataError
    from .inference import Question, entity_offsets, predict

    if not passage.strip():
        raise DataError("the passage is empty: write some text in the parameters cell")
    wanted = parse_types(types)
    questions = [Question(f"explore/{i}", passage, t) for i, t in enumerate(wanted)]
    preds, _stats = predict(student, questions, max_new_tokens=max_new_tokens, progress=False)
    rows = []
    for pred in preds:
        for off in entity_offsets(passage, pred.entities):
            rows.append({"type": pred.type, "text": off["text"], "start": off["start"], "end": off["end"],
                         "verbatim": off.get("verbatim", True)})
    table = pd.DataFrame(rows, columns=["type", "text", "start", "end", "verbatim"])
    return table.sort_values(["start", "type"], na_position="last", kind="stable").reset_index(drop=True)


def _non_overlapping(entities: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans with offsets, longest first at each start, dropping any that overlaps one kept."""
    spans = [e for e in entities if e.get("start") is not None and e.get("end") is not None]
    spans.sort(key=lambda e: (e["start"], -(e["end"] - e["start"])))
    kept: list[dict[str, Any]] = []
    for e in spans:
        if e["start"] < e["end"] and all(e["end"] <= k["start"] or e["start"] >= k["end"] for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: e["start"])


def highlight_html(passage: str, entities: Sequence[dict[str, Any]] | Any, types: Sequence[str] | None = None) -> str:
    """The passage as HTML with each entity in a ``<mark>`` coloured by its type and
    labelled with it, then a legend of the types (with their counts).

    ``entities`` holds dicts (or DataFrame rows) with ``type``, ``start``, ``end``. Where
    spans overlap, the earlier and then longer one is marked (every span stays in the
    table beside it). ``types`` fixes the legend order and lists types with no entity.
    """
    if hasattr(entities, "to_dict"):
        entities = entities.to_dict("records")
    ents = [dict(e) for e in entities]
    for e in ents:  # pandas gives NaN for a missing offset
        for key in ("start", "end"):
            v = e.get(key)
            e[key] = None if v is None or v != v else int(v)
    order = list(dict.fromkeys([*(types or []), *(e["type"] for e in ents)]))
    colors = type_colors(order)
    parts, pos = [], 0
    for e in _non_overlapping(ents):
        parts.append(html.escape(passage[pos:e["start"]]))
        label = html.escape(e["type"])
        parts.append(f'<mark style="background:{colors[e["type"]]};padding:0 2px;border-radius:3px" '
                     f'title="{label}">{html.escape(passage[e["start"]:e["end"]])}'
                     f'<sup style="font-size:0.65em;margin-left:2px">{label}</sup></mark>')
        pos = e["end"]
    parts.append(html.escape(passage[pos:]))
    counts = {t: sum(1 for e in ents if e["type"] == t and e["start"] is not None) for t in order}
    legend = " ".join(f'<span style="background:{colors[t]};padding:1px 6px;margin-right:4px;border-radius:3px">'
                      f"{html.escape(t)} ({counts[t]})</span>" for t in order)
    return ('<div class="uner-highlight">'
            f'<p style="line-height:2;font-size:1.05em">{"".join(parts)}</p>'
            f'<p style="font-size:0.85em"><b>Types:</b> {legend or "none"}</p></div>')
