"""The teacher's answers read back: a tolerant parser of the ``[("entity", "type"), ...]``
lists a chat LLM writes (code fences, single quotes, lists spread over lines, stray prose),
and the writer the offline teachers use to answer in the same format."""

from __future__ import annotations

import ast
import json
import re
import warnings
from typing import Any, Iterable

_MAX_CANDIDATES = 64



def format_teacher_output(pairs: Iterable[tuple[str, str]]) -> str:
    """Render pairs as the teacher answers: ``[("entity", "type"), ("entity 2", "type 2")]``.

    Strings are double-quoted with JSON escaping (``\\"``, ``\\\\``, ``\\n``), which Python
    reads back identically, so :func:`parse_teacher_output` round-trips the output.
    """
    items = ", ".join(
        f"({json.dumps(str(e), ensure_ascii=False)}, {json.dumps(str(t), ensure_ascii=False)})"
        for e, t in pairs
    )
    return f"[{items}]"


_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\r?\n?(.*?)(?:```|\Z)", re.S)
_QSTR = r"""(?P<{q}>["'])(?P<{v}>.{{0,300}}?)(?P={q})"""
_SCAN = re.compile(
    r"[(\[]\s*" + _QSTR.format(q="q1", v="a") + r"\s*,\s*" + _QSTR.format(q="q2", v="b") + r"\s*,?\s*[)\]]"
)
_ESCAPE = re.compile(r"\\(.)", re.S)


def _match_close(text: str, start: int) -> int:
    """Index of the bracket closing the ``[`` at ``start`` (quote-aware), or -1 if none."""
    depth, quote, i = 0, "", start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0:
                return i if ch == "]" else -1
        i += 1
    return -1


def _literal_eval(text: str) -> Any:
    """``ast.literal_eval`` without its warnings (invalid escapes such as ``"\\y"``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.literal_eval(text)


def _literal(span: str) -> Any:
    """The value of a list literal, read as JSON, else as Python; raises when neither works."""
    try:
        return json.loads(span)
    except ValueError:
        return _literal_eval(span)


def _to_pairs(value: Any) -> tuple[list[tuple[str, str]], int] | None:
    """The (entity, type) pairs of a parsed list and how many items were not pairs;
    ``None`` when ``value`` is not a list. Strings are stripped; numbers become strings."""
    if not isinstance(value, (list, tuple)):
        return None
    pairs, skipped = [], 0
    for item in value:
        if (
            isinstance(item, (list, tuple))
            and len(item) == 2
            and all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in item)
            and str(item[0]).strip()
            and str(item[1]).strip()
        ):
            pairs.append((str(item[0]).strip(), str(item[1]).strip()))
        else:
            skipped += 1
    return pairs, skipped


def _unquote(quote: str, body: str) -> str:
    """A scanned string literal's value: Python escapes when valid, else only ``\\x -> x``."""
    try:
        value = _literal_eval(quote + body + quote)
        if isinstance(value, str):
            return value
    except Exception:
        pass
    return _ESCAPE.sub(r"\1", body)


def _scan(text: str) -> tuple[list[tuple[str, str]], int]:
    """Tolerant fallback: every complete ``("a", "b")`` or ``["a", "b"]`` in ``text``, and the
    index where the last one ends (0 when none)."""
    pairs, end = [], 0
    for m in _SCAN.finditer(text):
        a, b = _unquote(m["q1"], m["a"]).strip(), _unquote(m["q2"], m["b"]).strip()
        if a and b:
            pairs.append((a, b))
            end = m.end()
    return pairs, end


def _parse(text: str) -> tuple[list[tuple[str, str]], str | None]:
    body = text.strip()
    if not body:
        return [], "empty"
    fences = [m.group(1) for m in _FENCE.finditer(body) if "[" in m.group(1) or "(" in m.group(1)]
    for chunk in fences + [body]:
        starts = [i for i, ch in enumerate(chunk) if ch == "["][:_MAX_CANDIDATES]
        pos = 0
        for start in starts:
            if start < pos:
                continue  # inside a list already read
            close = _match_close(chunk, start)
            if close == -1:
                break  # cut off (or unbalanced): the scanner decides below
            try:
                got = _to_pairs(_literal(chunk[start : close + 1]))
            except Exception:
                break  # a list, but not valid Python/JSON: the scanner decides below
            if got is not None and (got[0] or got[1] == 0):
                pairs, skipped = got
                return pairs, ("skipped_items" if skipped else None)
            pos = close + 1  # e.g. a "[1]" citation in prose: look further
    first = body.find("[")
    tail = body[first + 1 :] if first != -1 else body  # the opening bracket itself is no pair
    pairs, end = _scan(tail)
    cut = first != -1 and "]" not in tail[end:]  # the list never closes after the last pair
    if pairs:
        return pairs, ("truncated_recovered" if cut else "scanned")
    if first == -1:
        return [], "no_list"
    return [], ("truncated" if cut else "unreadable")


def parse_teacher_output(text: str) -> tuple[list[tuple[str, str]], str | None]:
    """Read the teacher's answer into ``(pairs, reason)``; never raises.

    The answer should be a list of ``("entity", "type")`` tuples (the format asked by the
    prompt, Zhou et al., 2023, Section 2.1). Also read: single or double quotes with escapes,
    JSON lists of 2-element lists, a list inside prose or a code fence, trailing commas,
    items that are not pairs (dropped, reason ``"skipped_items"``), a list cut off by the
    token limit (complete tuples kept, ``"truncated_recovered"``), and lists Python cannot
    read (tolerant regex scan, ``"scanned"``). ``reason`` is ``None`` for a clean answer,
    else one of :data:`REASONS`. Entity and type strings are stripped of outer whitespace.
    """
    try:
        if not isinstance(text, str):
            return [], "empty"
        return _parse(text)
    except Exception:  # the contract is "never raises": count it instead
        return [], "parser_error"
