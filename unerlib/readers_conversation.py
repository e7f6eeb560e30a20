"""Readers of conversation-style files: the UniNER (Pile-NER) conversations and the SLIMER
files, whose answers are entity strings, not character spans. Each answer is placed in its
passage by :func:`find_spans` (every occurrence; ``(-1, -1)`` where a string is absent), so
the records are those of :mod:`unerlib.data`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from .data import DataError, Mention, Record, _load_json, _open, _require


def find_spans(text: str, entity: str) -> list[tuple[int, int]]:
    """Every character span where ``entity`` occurs verbatim in ``text``."""
    if not entity:
        return []
    spans, start = [], text.find(entity)
    while start != -1:
        spans.append((start, start + len(entity)))
        start = text.find(entity, start + 1)
    return spans


def _answers_to_mentions(text: str, typ: str, answer: str) -> list[Mention]:
    try:
        items = json.loads(answer)
    except json.JSONDecodeError:
        items = []
    out = []
    used: dict[str, int] = {}  # a repeated answer string takes the next occurrence
    for ent in items if isinstance(items, list) else []:
        ent = str(ent)
        spans = find_spans(text, ent)
        k = used.get(ent, 0)
        used[ent] = k + 1
        s, e = spans[min(k, len(spans) - 1)] if spans else (-1, -1)
        out.append(Mention(ent, typ, s, e))
    return out


def _group(path: Path, rows: Iterable[tuple[str, str, str]]) -> list[Record]:
    """Group (passage, type, JSON answer) rows into one record per passage, in first-seen order."""
    by_text: dict[str, Record] = {}
    for text, typ, answer in rows:
        rec = by_text.get(text)
        if rec is None:
            rec = by_text[text] = Record(f"{path.stem}-{len(by_text)}", text, [], ())
        rec.types = tuple(rec.types or ()) + (typ,)
        rec.mentions.extend(_answers_to_mentions(text, typ, answer))
    for rec in by_text.values():
        rec.mentions.sort(key=lambda m: (m.start, m.end))
    return list(by_text.values())


_QUESTION = re.compile(r"^What describes (.*) in the text\?$")


def conversation_rows(data: Any, source: str | os.PathLike) -> Iterator[tuple[str, str, str, str]]:
    """Yield ``(id, passage, type, answer)`` for each question of UniNER conversation records."""
    path = Path(source)
    _require(isinstance(data, list), path, "top level", "expected a list of conversations")
    for i, item in enumerate(data):
        conv = item.get("conversations") if isinstance(item, dict) else None
        _require(isinstance(conv, list) and len(conv) >= 4, path, f"record {i}", "expected 'conversations' with 4+ turns")
        _require(all(isinstance(t, dict) and isinstance(t.get("value"), str) for t in conv), path, f"record {i}",
                 "every turn must be an object with a string 'value'")
        first = conv[0]["value"]
        _require(first.startswith("Text: "), path, f"record {i}", "first turn does not start with 'Text: '")
        passage = first[len("Text: "):]
        _require(len(conv) % 2 == 0, path, f"record {i}", "a question without its answer (odd number of turns)")
        for q, a in zip(conv[2::2], conv[3::2]):
            m = _QUESTION.match(q["value"])
            _require(m is not None, path, f"record {i}", f"not a type question: {q['value']!r}")
            yield str(item.get("id", i)), passage, m.group(1), a["value"]


def iter_uniner_conversations(path: str | os.PathLike) -> Iterator[tuple[str, str, str, str]]:
    """Yield ``(id, passage, type, answer)`` for each question of a UniNER conversation JSON file."""
    return conversation_rows(_load_json(Path(path)), path)


def read_uniner_json(path: str | os.PathLike) -> list[Record]:
    """Read the UniNER conversation JSON (official eval files, Pile-NER-type) into one record
    per distinct passage; each answer string is located in the passage (first occurrence)."""
    path = Path(path)
    return _group(path, ((p, t, a) for _id, p, t, a in iter_uniner_conversations(path)))


def read_slimer_jsonl(path: str | os.PathLike) -> list[Record]:
    """Read the SLIMER Pile-NER JSON lines (``input``, ``tagName``, ``output``) into one
    record per distinct passage."""
    path = Path(path)
    rows = []
    with _open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                row = (obj["input"], obj["tagName"], obj["output"])
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise DataError(f"{path}:{lineno}: not a Pile-NER row ({type(err).__name__}: {err})") from None
            if not all(isinstance(x, str) for x in row):
                raise DataError(f"{path}:{lineno}: 'input', 'tagName' and 'output' must be strings")
            rows.append(row)
    return _group(path, rows)


def read_slimer_type_examples(path: str | os.PathLike) -> list[Record]:
    """Read SLIMER's ``sentences_per_ne_type.json`` (type -> example Pile sentences with
    their entities of that type) into one record per (sentence, type), ``types`` = (type,)."""
    path = Path(path)
    data = _load_json(path)
    _require(isinstance(data, dict), path, "top level", "expected a dict keyed by type")
    records = []
    for typ, examples in data.items():
        _require(isinstance(examples, list), path, f"type {typ!r}", "expected a list of examples")
        for j, ex in enumerate(examples):
            _require(isinstance(ex, dict) and "sentence" in ex, path, f"type {typ!r} example {j}", "no 'sentence'")
            _require(isinstance(ex["sentence"], str)
                     and isinstance(ex.get("target_words_in_it", []), list)
                     and all(isinstance(w, str) for w in ex.get("target_words_in_it", [])),
                     path, f"type {typ!r} example {j}", "'sentence' must be a string and 'target_words_in_it' "
                     "a list of strings")
            text = ex["sentence"]
            mentions = []
            for ent in dict.fromkeys(ex.get("target_words_in_it", [])):
                mentions.extend(Mention(ent, typ, s, e) for s, e in (find_spans(text, ent) or [(-1, -1)]))
            mentions.sort(key=lambda m: (m.start, m.end))
            records.append(Record(f"{path.stem}-{len(records)}", text, mentions, (typ,)))
    return records
