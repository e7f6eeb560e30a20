"""Conversion to the UniNER evaluation format: one conversation per (sentence, type).

The format of the official ``src/eval/test_data/*.json`` files of UniversalNER: the
passage turn, the ``I've read this text.`` turn, one question ``What describes {type} in
the text?`` and its gold answer, a JSON list of the entity strings of that type in order
of appearance, repeats kept (the official metric drops repeats when it parses). Each sentence is asked about every type of its dataset, in an order
shuffled per sentence (seeded here, so conversions are reproducible).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from .data import Record

ACK = "I've read this text."


def question(entity_type: str) -> str:
    """The paper's per-type question."""
    return f"What describes {entity_type} in the text?"


def gold_answer(record: Record, entity_type: str) -> list[str]:
    """Entity strings of one type in order of appearance, repeats kept (the official gold list)."""
    return [m.text for m in sorted(record.mentions, key=lambda m: (m.start, m.end)) if m.type == entity_type]


def conversation(cid: str, passage: str, entity_type: str, answer: list[str]) -> dict[str, Any]:
    """One UniNER evaluation record."""
    return {
        "id": cid,
        "conversations": [
            {"from": "human", "value": f"Text: {passage}"},
            {"from": "gpt", "value": ACK},
            {"from": "human", "value": question(entity_type)},
            {"from": "gpt", "value": json.dumps(answer, ensure_ascii=False)},
        ],
    }


def to_uniner(
    records: list[Record],
    types: list[str],
    prefix: str,
    seed: int = 0,
    drop_sentence_final: bool = False,
) -> list[dict[str, Any]]:
    """Convert records to UniNER evaluation records, one per (sentence, type).

    ``types`` is the dataset's type list; each sentence asks about all of them, shuffled
    per sentence with ``seed``. Ids are ``{prefix}_{i}`` as in the official files.

    ``drop_sentence_final`` reproduces a quirk of the official CrossNER files: an entity
    that closes its sentence (ends on the last token) is missing from their gold lists,
    the mark of a BIO decoder that never flushes its last span. Off by default: our gold
    keeps it.
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for rec in records:
        if drop_sentence_final:
            rec = Record(rec.id, rec.text, [m for m in rec.mentions if m.end != len(rec.text)], rec.types)
        order = list(types)
        rng.shuffle(order)
        for t in order:
            out.append(conversation(f"{prefix}_{len(out)}", rec.text, t, gold_answer(rec, t)))
    return out


def write_json(items: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write a JSON list, creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
