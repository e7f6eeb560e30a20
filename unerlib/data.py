"""Readers for every NER file format of the shared data, into one record type.

Each reader turns a file into a list of :class:`Record`: a passage plus its mentions
(entity text, type, character span). Types are kept as the file spells them; the
registry (:mod:`unerlib.registry`) maps them to natural language.

Span decoding follows the rule of the data manifest, which covers both BIO and IOB1:
a ``B-`` tag, or an ``I-`` tag whose type differs from the previous tag's type, starts
a mention; a following ``I-`` tag of the same type continues it.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

DATA_ENV = "UNER_DATA_DIR"
_TAG = re.compile(r"^(?:O|[BIES]-.+)$")


class DataError(Exception):
    """A data file is missing or malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class Mention:
    """One entity mention: its text, type and character span ``[start, end)`` in the passage.

    ``start``/``end`` are ``-1`` when the text could not be located in the passage
    (only possible for readers of answer lists, such as the UniNER conversation JSON).
    """

    text: str
    type: str
    start: int
    end: int


@dataclass
class Record:
    """A passage with its mentions.

    ``types`` lists the types a source asked about (including those with no mention),
    when the source says so (UniNER conversation JSON, Pile-NER rows); else ``None``.
    """

    id: str
    text: str
    mentions: list[Mention] = field(default_factory=list)
    types: tuple[str, ...] | None = None


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The shared data directory: ``path`` if given, else ``$UNER_DATA_DIR``."""
    value = path if path is not None else os.environ.get(DATA_ENV)
    if not value:
        raise DataError(
            f"no data directory: set {DATA_ENV} to the folder holding MANIFEST.md "
            f"(for example {DATA_ENV}=../shared/data)"
        )
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"data directory {root} (from {DATA_ENV}) does not exist")
    return root


def _open(path: Path):
    if not path.is_file():
        raise DataError(f"data file not found: {path} (looked under {DATA_ENV}={path.parent})")
    return open(path, encoding="utf-8", newline="")


# --------------------------------------------------------------------------- tokens


def join_tokens(tokens: Sequence[str]) -> tuple[str, list[int], list[int]]:
    """The passage of ``tokens`` joined by single spaces, with each token's start and end
    character offset in it."""
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok)
        ends.append(pos)
        pos += 1
    return " ".join(tokens), starts, ends


def tokens_to_record(
    rid: str,
    tokens: Sequence[str],
    tags: Sequence[str],
    offsets: Sequence[tuple[int, int]] | None = None,
) -> Record:
    """Build a record from tokens and BIO/IOB1 tags.

    The passage joins the tokens with single spaces, or, with ``offsets`` (character
    spans in the source document), keeps the source spacing relative to the first token.
    """
    starts: list[int] = []
    ends: list[int] = []
    if offsets:
        base = offsets[0][0]
        parts: list[str] = []
        pos = 0
        for tok, (s, _e) in zip(tokens, offsets):
            gap = max(s - base - pos, 0)
            parts.append(" " * gap)
            pos += gap
            starts.append(pos)
            parts.append(tok)
            pos += len(tok)
            ends.append(pos)
        text = "".join(parts)
    else:
        text, starts, ends = join_tokens(tokens)
    mentions: list[Mention] = []
    cur_type: str | None = None
    cur_start = cur_end = -1
    prev_type: str | None = None
    for i, tag in enumerate(tags):
        prefix, _, typ = tag.partition("-")
        if tag == "O" or not typ:
            if cur_type is not None:
                mentions.append(Mention(text[cur_start:cur_end], cur_type, cur_start, cur_end))
            cur_type, prev_type = None, None
            continue
        if prefix in ("B", "S") or typ != prev_type:
            if cur_type is not None:
                mentions.append(Mention(text[cur_start:cur_end], cur_type, cur_start, cur_end))
            cur_type, cur_start = typ, starts[i]
        cur_end = ends[i]
        prev_type = typ
        if prefix in ("E", "S"):
            mentions.append(Mention(text[cur_start:cur_end], cur_type, cur_start, cur_end))
            cur_type = prev_type = None
    if cur_type is not None:
        mentions.append(Mention(text[cur_start:cur_end], cur_type, cur_start, cur_end))
    return Record(rid, text, mentions)


def read_columns(
    path: str | os.PathLike,
    *,
    token_col: int = 0,
    tag_col: int = -1,
    sep: str | None = "\t",
    ncols: int | None = None,
    offset_cols: tuple[int, int] | None = None,
    lenient_tags: bool = False,
    comment: str | None = None,
) -> list[Record]:
    """Read a token-per-line file: CoNLL, BIO/IOB1 TSV, idx-token-tag, AnEM, MIT tag-first.

    Blank or whitespace-only lines end a sentence; ``-DOCSTART-`` lines, and lines starting
    with ``comment`` (MultiCoNER's ``# id`` headers), are skipped.
    ``sep=None`` splits on runs of whitespace. A line with the wrong number of columns
    or an unknown tag raises :class:`DataError` naming the file and line, unless
    ``lenient_tags`` is set, in which case unknown tags read as ``O``.
    """
    path = Path(path)
    records: list[Record] = []
    tokens: list[str] = []
    tags: list[str] = []
    offs: list[tuple[int, int]] = []

    def flush() -> None:
        if tokens:
            rid = f"{path.stem}-{len(records)}"
            records.append(tokens_to_record(rid, tokens, tags, offs if offset_cols else None))
            tokens.clear(), tags.clear(), offs.clear()

    with _open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                flush()
                continue
            if comment is not None and line.startswith(comment):
                flush()
                continue
            cols = line.split(sep)
            if cols[0].startswith("-DOCSTART-") or (len(cols) > 1 and cols[token_col] == "-DOCSTART-"):
                flush()
                continue
            if (ncols is not None and len(cols) != ncols) or len(cols) < 2:
                raise DataError(
                    f"{path}:{lineno}: expected {ncols or 'at least 2'} columns, got {len(cols)}: {line!r}"
                )
            tag = cols[tag_col].strip()
            if not _TAG.match(tag):
                if not lenient_tags:
                    raise DataError(f"{path}:{lineno}: malformed tag {tag!r} in line {line!r}")
                tag = "O"
            tokens.append(cols[token_col])
            tags.append(tag)
            if offset_cols:
                try:
                    start, end = int(cols[offset_cols[0]]), int(cols[offset_cols[1]])
                except (ValueError, IndexError):
                    raise DataError(f"{path}:{lineno}: character offsets are not integers: {line!r}") from None
                if start < 0 or end < start or (offs and start < offs[-1][1]):
                    raise DataError(f"{path}:{lineno}: bad character offsets {start}-{end} (negative, reversed "
                                    f"or before the previous token's end): {line!r}")
                offs.append((start, end))
    flush()
    return records


def read_csv_tokens(path: str | os.PathLike, *, lenient_tags: bool = False) -> list[Record]:
    """Read the E-NER CSV: ``token,tag`` rows (CSV quoting, split on the last comma);
    an empty token or a blank line ends a segment, ``-DOCSTART-`` starts a filing."""
    path = Path(path)
    records: list[Record] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            records.append(tokens_to_record(f"{path.stem}-{len(records)}", tokens, tags))
            tokens.clear(), tags.clear()

    with _open(path) as fh:
        reader = csv.reader(fh)
        for row in reader:
            lineno = reader.line_num  # the file line where this row ends
            if not row or not "".join(row).strip():
                flush()
                continue
            if len(row) < 2:
                raise DataError(f"{path}:{lineno}: expected token,tag, got {row!r}")
            token, tag = ",".join(row[:-1]), row[-1].strip()
            if token in ("", "-DOCSTART-"):
                flush()
                continue
            if not _TAG.match(tag):
                if not lenient_tags:
                    raise DataError(f"{path}:{lineno}: malformed tag {tag!r} for token {token!r}")
                tag = "O"
            tokens.append(token)
            tags.append(tag)
    flush()
    return records


# --------------------------------------------------------------------------- JSON


def _load_json(path: Path):
    with _open(path) as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{err.lineno}: invalid JSON: {err.msg}") from None


def _require(cond: bool, path: Path, where: str, what: str) -> None:
    if not cond:
        raise DataError(f"{path}: {where}: {what}")


_MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError)


def _malformed(path: Path, where: str, err: Exception) -> DataError:
    """A record whose shape no check foresaw (a string where a list belongs, ...)."""
    return DataError(f"{path}: {where}: malformed record ({type(err).__name__}: {err})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_w2ner_json(path: str | os.PathLike) -> list[Record]:
    """Read W2NER JSON (GENIA, CADEC): ``{"sentence": [tokens], "ner": [{"index", "type"}]}``.

    A discontinuous mention keeps the text of its own tokens and the span from its first
    to its last token; nested mentions are all kept.
    """
    path = Path(path)
    data = _load_json(path)
    _require(isinstance(data, list), path, "top level", "expected a list of sentences")
    records = []
    for i, item in enumerate(data):
        try:
            records.append(_w2ner_record(path, i, item))
        except DataError:
            raise
        except _MALFORMED as err:
            raise _malformed(path, f"record {i}", err) from None
    return records


def _w2ner_record(path: Path, i: int, item: Any) -> Record:
    if True:
        _require(isinstance(item, dict) and "sentence" in item, path, f"record {i}", "no 'sentence'")
        toks = item["sentence"]
        _require(isinstance(toks, list) and all(isinstance(t, str) for t in toks), path, f"record {i}",
                 "'sentence' must be a list of token strings")
        text, starts, _ = join_tokens(toks)
        mentions = []
        for ent in item.get("ner", []):
            _require(isinstance(ent, dict), path, f"record {i}", f"entity is not an object: {ent!r}")
            idx = ent.get("index") or []
            _require(isinstance(idx, list) and all(_is_int(k) for k in idx), path, f"record {i}",
                     f"entity index must be a list of integers: {ent!r}")
            _require(bool(idx) and all(0 <= k < len(toks) for k in idx), path, f"record {i}",
                     f"entity index out of range: {ent!r}")
            _require("type" in ent, path, f"record {i}", f"entity without 'type': {ent!r}")
            start, end = starts[idx[0]], starts[idx[-1]] + len(toks[idx[-1]])
            mtext = text[start:end] if idx == list(range(idx[0], idx[-1] + 1)) else " ".join(toks[k] for k in idx)
            mentions.append(Mention(mtext, ent["type"], start, end))
        mentions.sort(key=lambda m: (m.start, m.end))
        return Record(f"{path.stem}-{i}", text, mentions)


def read_instructuie_json(path: str | os.PathLike) -> list[Record]:
    """Read InstructUIE/GLiNER JSON (MIT Movie, MIT Restaurant):
    ``{"sentence": str, "entities": [{"name", "type", "pos": [start, end]}]}``."""
    path = Path(path)
    data = _load_json(path)
    _require(isinstance(data, list), path, "top level", "expected a list of sentences")
    records = []
    for i, item in enumerate(data):
        _require(isinstance(item, dict) and "sentence" in item, path, f"record {i}", "no 'sentence'")
        _require(isinstance(item["sentence"], str), path, f"record {i}", "'sentence' must be a string")
        mentions = []
        ents = item.get("entities", [])
        _require(isinstance(ents, list), path, f"record {i}", "'entities' must be a list")
        for ent in ents:
            ok = (isinstance(ent, dict) and all(k in ent for k in ("name", "type", "pos"))
                  and isinstance(ent["pos"], list) and len(ent["pos"]) == 2)
            _require(ok, path, f"record {i}", f"entity needs 'name', 'type' and 'pos': {ent!r}")
            s, e = ent["pos"]
            _require(_is_int(s) and _is_int(e), path, f"record {i}", f"'pos' must be two integers: {ent!r}")
            _require(0 <= s <= e <= len(item["sentence"]), path, f"record {i}",
                     f"'pos' {s}-{e} outside the sentence (length {len(item['sentence'])}): {ent!r}")
            mentions.append(Mention(str(ent["name"]), str(ent["type"]), s, e))
        mentions.sort(key=lambda m: (m.start, m.end))
        records.append(Record(f"{path.stem}-{i}", item["sentence"], mentions))
    return records


def read_pubtator(path: str | os.PathLike) -> list[Record]:
    """Read PubTator (BioRED): one record per document, title and abstract joined by a
    space, mentions from the tab-separated annotation lines (relation lines skipped)."""
    path = Path(path)
    records: list[Record] = []
    pmid, title, abstract, anns = None, "", "", []

    def flush() -> None:
        nonlocal pmid, title, abstract, anns
        if pmid is not None:
            records.append(Record(pmid, f"{title} {abstract}" if abstract else title,
                                  sorted(anns, key=lambda m: (m.start, m.end))))
        pmid, title, abstract, anns = None, "", "", []

    with _open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                flush()
                continue
            if "|t|" in line[:40] or "|a|" in line[:40]:
                doc, kind, body = line.split("|", 2)
                if pmid is not None and doc != pmid:
                    flush()
                pmid = doc
                if kind == "t":
                    title = body
                else:
                    abstract = body
                continue
            cols = line.split("\t")
            if len(cols) >= 5 and cols[1].lstrip("-").isdigit():
                if not cols[2].lstrip("-").isdigit():
                    raise DataError(f"{path}:{lineno}: mention end offset is not an integer: {line!r}")
                start, end = int(cols[1]), int(cols[2])
                if pmid is None or cols[0] != pmid:
                    raise DataError(f"{path}:{lineno}: mention of document {cols[0]!r} outside its document "
                                    f"(current: {pmid!r}): {line!r}")
                if start < 0 or end < start:
                    raise DataError(f"{path}:{lineno}: bad offsets {start}-{end}: {line!r}")
                text = f"{title} {abstract}"
                if text[start:end] != cols[3]:
                    raise DataError(f"{path}:{lineno}: mention {cols[3]!r} does not match the text at {start}-{end}")
                anns.append(Mention(cols[3], cols[4], start, end))
            elif len(cols) >= 4:
                continue  # relation line
            else:
                raise DataError(f"{path}:{lineno}: not a PubTator line: {line!r}")
    flush()
    return records


READERS = {
    "columns": read_columns,
    "csv_tokens": read_csv_tokens,
    "w2ner_json": read_w2ner_json,
    "instructuie_json": read_instructuie_json,
    "pubtator": read_pubtator,
}

from .readers_conversation import read_slimer_jsonl, read_slimer_type_examples, read_uniner_json  # noqa: E402
from .readers_typed import read_gliner_json, read_token_spans_json  # noqa: E402 (they use this module)

READERS.update({"uniner_json": read_uniner_json, "slimer_jsonl": read_slimer_jsonl,
                "slimer_types_json": read_slimer_type_examples,
                "token_spans_json": read_token_spans_json, "gliner_json": read_gliner_json})
