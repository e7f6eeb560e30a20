"""Readers of token-span corpora with fine or free-form types (``MANIFEST.md`` section 6).

* FIGER gold and 1k-WFB-g (HAnDS): JSON lines ``{"tokens": [...], "mentions": [{"start",
  "end" (exclusive), "labels": ["/organization", "/organization/sports_team"]}]}``. A mention
  carries its whole label path, so it is gold for every label on it (``organization`` and
  ``sports team``), as a hierarchical type set asks.
* The GLiNER example data: a JSON list ``{"tokenized_text": [...], "ner": [[start, end
  (inclusive), label], ...]}``.

The passage joins the tokens with single spaces; labels stay raw here (the registry names
them, see :func:`figer_type`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .data import DataError, Mention, Record, _is_int, _load_json, _open, _require, join_tokens


def _record(path: Path, where: str, rid: str, tokens: Any, spans: list[tuple[Any, Any, Any]]) -> Record:
    """A record from tokens and (first token, last token exclusive, label) triples."""
    _require(isinstance(tokens, list) and all(isinstance(t, str) for t in tokens), path, where,
             "'tokens' must be a list of strings")
    text, starts, ends = join_tokens(tokens)
    mentions = []
    for s, e, label in spans:
        _require(_is_int(s) and _is_int(e), path, where, f"span bounds must be integers: {s!r}, {e!r}")
        _require(0 <= s < e <= len(tokens), path, where,
                 f"span {s}-{e} outside the sentence ({len(tokens)} tokens)")
        _require(isinstance(label, str) and label.strip() != "", path, where, f"label must be a string: {label!r}")
        a, b = starts[s], ends[e - 1]
        mentions.append(Mention(text[a:b], label, a, b))
    mentions.sort(key=lambda m: (m.start, m.end))
    return Record(rid, text, mentions)


def read_token_spans_json(path: str | os.PathLike, max_depth: int | None = None) -> list[Record]:
    """Read FIGER-style JSON lines (FIGER gold, 1k-WFB-g): one mention per label of each
    span, ``end`` exclusive; a malformed line raises :class:`DataError` with its number.
    ``max_depth`` keeps only labels at most that deep in their path (1: ``/person``, not
    ``/person/actor``): the coarse view of a hierarchy."""
    path = Path(path)
    records = []
    with _open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"line {lineno}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}: line {lineno}: not JSON ({err.msg})") from None
            _require(isinstance(item, dict) and "tokens" in item, path, where, "no 'tokens'")
            mentions = item.get("mentions", [])
            _require(isinstance(mentions, list), path, where, "'mentions' must be a list")
            spans = []
            for m in mentions:
                _require(isinstance(m, dict) and all(k in m for k in ("start", "end", "labels")), path, where,
                         f"mention needs 'start', 'end' and 'labels': {m!r}")
                _require(isinstance(m["labels"], list) and m["labels"], path, where,
                         f"'labels' must be a non-empty list: {m!r}")
                spans.extend((m["start"], m["end"], label) for label in dict.fromkeys(m["labels"])
                             if max_depth is None or label.strip("/").count("/") < max_depth)
            records.append(_record(path, where, f"{path.stem}-{len(records)}", item["tokens"], spans))
    return records


def read_gliner_json(path: str | os.PathLike) -> list[Record]:
    """Read GLiNER training JSON: ``{"tokenized_text", "ner": [[start, end (inclusive),
    label]]}`` per record; a malformed record raises :class:`DataError` with its index."""
    path = Path(path)
    data = _load_json(path)
    _require(isinstance(data, list), path, "top level", "expected a list of records")
    records = []
    for i, item in enumerate(data):
        where = f"record {i}"
        _require(isinstance(item, dict) and "tokenized_text" in item, path, where, "no 'tokenized_text'")
        ner = item.get("ner", [])
        _require(isinstance(ner, list) and all(isinstance(x, list) and len(x) == 3 for x in ner), path, where,
                 "'ner' must be a list of [start, end, label]")
        spans = [(s, e + 1 if _is_int(e) else e, label) for s, e, label in ner]
        records.append(_record(path, where, f"{path.stem}-{i}", item["tokenized_text"], spans))
    return records


def figer_type(label: str) -> str:
    """A FIGER label path's natural name: its last part, underscores as spaces
    (``/organization/sports_team`` -> ``sports team``, ``/person`` -> ``person``)."""
    return label.strip("/").split("/")[-1].replace("_", " ")
