"""Files in, files out: the input formats of ``uner predict --input`` (``.txt``, one text a
line; ``.jsonl``, ``{"text": ..., "id": ...}`` a line) and :func:`predict_file`, which writes
one JSON line of spans per input line and, after a kill, goes on from the last line written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from .api import check_labels
from .data import DataError

if TYPE_CHECKING:
    from .api import UniNER


INPUT_FORMATS = {".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def input_format(path: str | os.PathLike) -> str:
    """``txt`` (one text per line) or ``jsonl`` (``{"text": ..., "id": ...}`` per line), by suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in INPUT_FORMATS:
        raise DataError(f"--input {path}: unknown format {suffix or '(no suffix)'!r}; use a .txt file "
                        f"(one text per line) or a .jsonl file ({{\"text\": ..., \"id\": ...}} per line)")
    return INPUT_FORMATS[suffix]


def check_input(path: str | os.PathLike) -> str:
    """The format of an input file that exists and is readable (else :class:`DataError`)."""
    fmt = input_format(path)
    if not Path(path).is_file():
        raise DataError(f"--input {path}: no such file")
    return fmt


def read_input(path: str | os.PathLike) -> Iterator[tuple[int, Any, str | None, str | None]]:
    """``(line number, id, text, error)`` for every line of an input file (numbered from 1).

    A bad line (not UTF-8, not JSON, no string ``"text"``, empty text) comes with
    ``text=None`` and the reason in ``error``. Blank lines of a ``.txt`` file are skipped
    silently (no text, no error: they separate paragraphs).
    """
    fmt = input_format(path)
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise DataError(f"cannot read --input {path}: {err.strerror or err}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                yield number, None, None, f"not UTF-8 ({err.reason} at byte {err.start})"
                continue
            if fmt == "txt":
                if line.strip():
                    yield number, None, line, None
                continue
            if not line.strip():
                yield number, None, None, "blank line (expected a JSON object)"
                continue
            try:
                obj = json.loads(line)
            except ValueError as err:
                yield number, None, None, f"not JSON ({err})"
                continue
            if not isinstance(obj, dict):
                yield number, None, None, f"expected a JSON object with a \"text\" field, got {type(obj).__name__}"
                continue
            text, ident = obj.get("text"), obj.get("id")
            if not isinstance(text, str):
                reason = "no \"text\" field" if "text" not in obj else f"\"text\" is {type(text).__name__}, not a string"
                yield number, ident, None, reason
            elif not text.strip():
                yield number, ident, None, "empty \"text\""
            else:
                yield number, ident, text, None


def finished_lines(out: str | os.PathLike) -> dict[int, Any]:
    """Input line numbers (with their ids) already written to ``out``. A last line left
    half-written by an interrupted run is cut off, so that it is redone."""
    path = Path(out)
    if not path.is_file():
        return {}
    data = path.read_bytes()
    done: dict[int, Any] = {}
    good = 0  # bytes of complete, readable lines
    for raw in data.splitlines(keepends=True):
        try:
            rec = json.loads(raw.decode("utf-8"))
            line = rec["line"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            rec = None
        if rec is None or not raw.endswith(b"\n"):
            if good + len(raw) == len(data):  # the interrupted last line
                break
            raise DataError(f"--out {path}: line {len(done) + 1} is not a record of uner predict; "
                            f"choose another --out or remove that file")
        done[int(line)] = rec.get("id")
        good += len(raw)
    if good < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return done


def predict_file(ner: "UniNER", input: str | os.PathLike, out: str | os.PathLike, labels: Sequence[str],
                 batch_lines: int = 32, progress: bool = True,
                 on_bad_line: Callable[[int, str], None] | None = None) -> dict[str, Any]:
    """Entities of every line of ``input`` appended to ``out`` as JSON lines
    ``{"line", "id"?, "entities": [{"start", "end", "text", "label"}, ...]}``, flushed line
    by line, ``batch_lines`` lines at a time through :meth:`UniNER.batch_predict_entities`.

    Lines already in ``out`` (by line number) are not redone, so an interrupted run
    resumes. A bad line is reported through ``on_bad_line(line_number, reason)`` and
    skipped. Returns counts: ``lines``, ``written``, ``already_done``, ``skipped``.
    """
    from tqdm.auto import tqdm

    labels = check_labels(labels)
    if batch_lines < 1:
        raise ValueError(f"batch_lines must be positive, got {batch_lines}")
    check_input(input)
    if Path(out).expanduser().resolve() == Path(input).expanduser().resolve():
        raise DataError("--out must not be the --input file")
    done = finished_lines(out)
    with open(input, "rb") as fh:
        total = sum(1 for _ in fh)
    counts = {"lines": total, "written": 0, "already_done": 0, "skipped": 0}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=total, desc="predicting", unit="line", disable=not progress)
    with open(out, "a", encoding="utf-8") as sink:
        pending: list[tuple[int, Any, str]] = []

        def flush() -> None:
            if not pending:
                return
            results = ner.batch_predict_entities([t for _, _, t in pending], labels, progress=False)
            for (number, ident, _), spans in zip(pending, results):
                rec: dict[str, Any] = {"line": number}
                if ident is not None:
                    rec["id"] = ident
                rec["entities"] = spans
                sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
                sink.flush()
                counts["written"] += 1
            bar.update(len(pending))
            pending.clear()

        for number, ident, text, error in read_input(input):
            if number in done:
                if done[number] != ident:
                    raise DataError(f"--out {out} holds line {number} with id {done[number]!r} but the input's "
                                    f"line {number} has id {ident!r}: it belongs to another input; use a new --out")
                counts["already_done"] += 1
                bar.update(1)
                continue
            if error is not None:
                counts["skipped"] += 1
                if on_bad_line is not None:
                    on_bad_line(number, error)
                bar.update(1)
                continue
            if text is None:  # a blank line of a .txt file
                bar.update(1)
                continue
            pending.append((number, ident, text))
            if len(pending) >= batch_lines:
                flush()
        flush()
    bar.close()
    return counts
