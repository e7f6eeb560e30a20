"""The teacher of targeted distillation: an LLM that annotates raw passages with entities.

UniversalNER (Zhou et al., 2023, Section 2.1) prompts ChatGPT (``gpt-3.5-turbo-0301``) with one
system message and one user message per passage and reads back a list of
``("entity", "entity type")`` tuples; those pairs become the instruction-tuning data of the
student. This module holds that prompt, a tolerant parser of the answers, and three teachers
with one interface, ``annotate(passages) -> list[TeacherAnswer]``:

- :class:`CorpusTeacher` (offline default): answers from the human labels of a corpus,
  rendered exactly as the LLM would answer, so they go through the same parser;
- :class:`ReplayTeacher`: answers recorded earlier (the released ChatGPT annotations);
- :class:`OpenAITeacher`: the paper's path, any OpenAI-compatible endpoint, with a
  concurrency limit, retries with backoff, a persistent SQLite response cache (a killed run
  restarts without re-sending anything already answered), token and cost accounting.

The API key is read from the environment only, at request time; it is never an argument,
never kept on an object, never written to the cache or to a log.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import logging
import math
import os
import random
import re
import sqlite3
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from .data import Record

log = logging.getLogger(__name__)

SYSTEM = "You are a helpful information extraction system."
"""System message of the data-construction prompt (Zhou et al., 2023, Section 2.1)."""

USER_TEMPLATE = (
    "Given a passage, your task is to extract all entities and identify their entity types. "
    'The output should be in a list of tuples of the following format: '
    '[("entity 1", "type of entity 1"), ... ].'
    "\n\n"
    "Passage: {input_passage}"
)
"""User message of the data-construction prompt (Zhou et al., 2023, Section 2.1)."""

DEFAULT_MODEL = "gpt-3.5-turbo-0301"
"""The teacher model of the paper (Section 2.1); override with ``UNER_TEACHER_MODEL``."""

API_KEY_ENV = "OPENAI_API_KEY"

REASONS = {
    "empty": "the answer is blank",
    "no_list": "no list and no tuple in the answer",
    "unreadable": "a list is there but no (entity, type) pair could be read from it",
    "truncated": "the list is cut off before its first complete tuple",
    "truncated_recovered": "the list is cut off; the complete tuples before the cut are kept",
    "scanned": "not a valid Python/JSON list; the pairs were read by the tolerant scanner",
    "skipped_items": "a valid list, but some items were not (entity, type) pairs and were dropped",
    "parser_error": "the parser failed unexpectedly (never expected; counted, never raised)",
    "unknown_passage": "the replay teacher has no answer for this passage",
    "request_failed": "every request failed (reason reads 'request_failed: <error class>')",
    "no_reply": "the endpoint answered with an empty message (not cached; the next run asks again)",
    "cut_by_length": "the answer was cut by the token limit, finish_reason 'length' (not cached; the next run "
                     "asks again: raise max_tokens)",
    "refused": "the endpoint refused the passage (finish_reason 'content_filter' or a refusal); recorded as "
               "the passage's final answer, never asked again",
}

#: Reasons of an answer that is missing (not cached, asked again by the next run).
FAILED_REASONS = ("request_failed", "no_reply", "cut_by_length")


def is_failed(answer: "TeacherAnswer") -> bool:
    """Whether ``answer`` is a failure (no answer yet: the next run asks again), as opposed
    to an answer (clean or not) or a recorded final refusal."""
    return bool(answer.reason) and answer.reason.split(":", 1)[0] in FAILED_REASONS
"""Reason codes of :attr:`TeacherAnswer.reason` (``None`` means a clean answer)."""

_RETRY_STATUS = frozenset({408, 409, 429})

#: Completion/prompt token ratio assumed by :meth:`OpenAITeacher.estimate` when the cache
#: holds no answer to measure it on (a passage of entities answers with about half its length).
COMPLETION_RATIO = 0.5
#: Tokens a chat message costs beyond its content (role and separators), for estimates.
MESSAGE_OVERHEAD = 4


def approx_tokens(text: str) -> int:
    """A tokenizer-free token count for estimates: one token per 4 characters (English)."""
    return math.ceil(len(text) / 4)
_MAX_CANDIDATES = 64


# --------------------------------------------------------------------------- prompt


def build_messages(passage: str) -> list[dict[str, str]]:
    """The chat messages sent for one passage: the paper's system and user prompt."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER_TEMPLATE.format(input_passage=passage)},
    ]


# --------------------------------------------------------------------------- parsing


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


# --------------------------------------------------------------------------- answers


@dataclass
class TeacherAnswer:
    """One passage's answer: the raw text, the pairs read from it, and where it came from.

    ``reason`` is ``None`` for a clean answer, else a code of :data:`REASONS`; ``usage``
    holds ``prompt_tokens`` and ``completion_tokens`` (zero for offline teachers);
    ``cached`` is true when the answer came from the response cache, with no request.
    """

    passage_id: str
    passage: str
    output: str
    pairs: list[tuple[str, str]]
    reason: str | None
    source: str
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    cached: bool = False


def make_answer(
    record: Record, output: str, source: str, usage: Mapping[str, int] | None = None, cached: bool = False
) -> TeacherAnswer:
    """Parse ``output`` and wrap it as the answer for ``record``."""
    pairs, reason = parse_teacher_output(output)
    usage = {"prompt_tokens": int((usage or {}).get("prompt_tokens", 0) or 0),
             "completion_tokens": int((usage or {}).get("completion_tokens", 0) or 0)}
    return TeacherAnswer(record.id, record.text, output, pairs, reason, source, usage, cached)


class Teacher(Protocol):
    """What every teacher offers: a name and ``annotate``."""

    name: str

    def annotate(self, passages: Sequence[Record], progress: bool = ...) -> list[TeacherAnswer]: ...


def _bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="passage")


class CorpusTeacher:
    """The offline "gold-corpus teacher": answers from a corpus's human labels.

    The mentions of each record (types already in natural language) are rendered in order of
    appearance, each distinct (entity, type) once, with :func:`format_teacher_output`, so the
    answer text is what an LLM teacher would return and is read by the same parser.
    """

    name = "corpus"

    def __init__(self) -> None:
        self._passages = 0

    def summary(self) -> dict[str, Any]:
        """Totals since this teacher was made (no requests, no cost)."""
        return {"teacher": self.name, "passages": self._passages, "requests": 0, "cost": 0.0}

    def answer_text(self, record: Record) -> str:
        """The answer the teacher gives for ``record``."""
        order = sorted(record.mentions, key=lambda m: (m.start < 0, m.start, m.end))
        pairs = dict.fromkeys((m.text, m.type) for m in order)
        return format_teacher_output(pairs)

    def annotate(self, passages: Sequence[Record], progress: bool = False) -> list[TeacherAnswer]:
        """One answer per passage, in input order."""
        out = []
        self._passages += len(passages)
        with _bar(len(passages), progress, "corpus teacher") as bar:
            for rec in passages:
                out.append(make_answer(rec, self.answer_text(rec), self.name))
                bar.update(1)
        return out

    def __repr__(self) -> str:
        return "CorpusTeacher()"


class ReplayTeacher:
    """Answers recorded earlier, looked up by passage text (the released ChatGPT annotations).

    A passage with no recorded answer gets an empty answer with reason ``"unknown_passage"``.
    """

    name = "replay"

    def __init__(self, outputs: Mapping[str, str]) -> None:
        self.outputs = dict(outputs)
        self._passages = self._unknown = 0

    def summary(self) -> dict[str, Any]:
        """Totals since this teacher was made: passages, those with no recorded answer."""
        return {"teacher": self.name, "passages": self._passages, "unknown": self._unknown,
                "requests": 0, "cost": 0.0}

    def annotate(self, passages: Sequence[Record], progress: bool = False) -> list[TeacherAnswer]:
        """One answer per passage, in input order."""
        out = []
        self._passages += len(passages)
        with _bar(len(passages), progress, "replay teacher") as bar:
            for rec in passages:
                if rec.text in self.outputs:
                    out.append(make_answer(rec, self.outputs[rec.text], self.name))
                else:
                    self._unknown += 1
                    out.append(TeacherAnswer(rec.id, rec.text, "", [], "unknown_passage", self.name))
                bar.update(1)
        return out

    def __repr__(self) -> str:
        return f"ReplayTeacher(<{len(self.outputs)} recorded answers>)"


# --------------------------------------------------------------------------- cache


class ResponseCache:
    """Persistent cache of teacher responses in SQLite: key -> raw output text and usage.

    Each :meth:`put` commits at once, so a run killed midway keeps every answer it received.
    Only model output and token counts are stored (never credentials). Thread-safe.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, output TEXT NOT NULL,"
                " prompt_tokens INTEGER, completion_tokens INTEGER)"
            )
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(responses)")]
            if "finish" not in columns:  # caches written before refusals were recorded
                self._db.execute("ALTER TABLE responses ADD COLUMN finish TEXT")
            self._db.commit()

    @staticmethod
    def key(request: Mapping[str, Any]) -> str:
        """sha256 of the canonical JSON of the request (model, messages, parameters)."""
        blob = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def get(self, key: str) -> tuple[str, dict[str, int]] | None:
        """The cached ``(output, usage)`` for ``key``, or ``None`` (also for a blank output
        that is not a recorded refusal: an old cache's empty reply is asked again)."""
        entry = self.get_entry(key)
        return None if entry is None else entry[:2]

    def get_entry(self, key: str) -> tuple[str, dict[str, int], str | None] | None:
        """The cached ``(output, usage, finish)`` for ``key`` (``finish`` is ``"refused"``
        for a recorded refusal, else ``None``), or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT output, prompt_tokens, completion_tokens, finish FROM responses WHERE key = ?", (key,)
            ).fetchone()
        if row is None or (not (row[0] or "").strip() and row[3] != "refused"):
            return None
        return row[0], {"prompt_tokens": row[1] or 0, "completion_tokens": row[2] or 0}, row[3]

    def put(self, key: str, output: str, usage: Mapping[str, int], model: str = "", finish: str | None = None) -> None:
        """Store one answer (or, with ``finish="refused"``, a final refusal) and commit."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, model, output, prompt_tokens, completion_tokens, finish)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, output, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
                 finish),
            )
            self._db.commit()

    def usage_totals(self) -> tuple[int, int, int]:
        """``(answers, prompt_tokens, completion_tokens)`` summed over the cached answers."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens) FROM responses").fetchone()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"


# --------------------------------------------------------------------------- OpenAI


def _env(name: str, cast: Callable[[str], Any], default: Any) -> Any:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return cast(value)
    except ValueError:
        raise TeacherSettingError(f"environment variable {name}={value!r} is not a valid {cast.__name__}") from None


def _retryable(err: BaseException) -> bool:
    import openai

    if isinstance(err, (openai.APIConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True  # includes openai.APITimeoutError
    if isinstance(err, openai.APIStatusError):
        return err.status_code in _RETRY_STATUS or err.status_code >= 500
    return False


def _retry_after(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = float(headers.get("retry-after"))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


class TeacherError(RuntimeError):
    """The teacher cannot run (for example, no API key in the environment)."""


class TeacherSettingError(TeacherError, ValueError):
    """A teacher setting (argument or environment variable) has an invalid value."""


class OpenAITeacher:
    """The paper's teacher: an OpenAI-compatible chat endpoint through the ``openai`` package.

    Arguments left out come from the environment: ``UNER_TEACHER_MODEL`` (else
    :data:`DEFAULT_MODEL`), ``UNER_TEACHER_BASE_URL`` or ``OPENAI_BASE_URL``,
    ``UNER_TEACHER_TEMPERATURE`` (0), ``UNER_TEACHER_MAX_TOKENS`` (unset),
    ``UNER_TEACHER_TIMEOUT`` (60 s per request), ``UNER_TEACHER_CONCURRENCY`` (8),
    ``UNER_TEACHER_MAX_RETRIES`` (6). The API key is read from the environment variable named
    by ``api_key_env`` when requests are sent; it is not an argument and is not stored.

    Failed requests (429, 408/409, 5xx, timeouts, connection errors) are retried with
    exponential backoff plus jitter (``backoff_base * 2**attempt``, at least ``Retry-After``,
    at most ``backoff_max``); the client's own retries are off. Answers go to ``cache``
    (a :class:`ResponseCache` or a path) as they arrive; a passage whose requests all fail is
    not cached and comes back with reason ``"request_failed: <error class>"``; an empty reply
    (``"no_reply"``) or one cut by the token limit (``finish_reason == "length"``,
    ``"cut_by_length"``) is not cached either: the next run asks again. A refusal
    (``finish_reason == "content_filter"`` or a ``refusal`` message) is cached as the
    passage's final answer (reason ``"refused"``). :meth:`estimate` is the dry run: tokens
    and cost of what would be sent, sending nothing; ``price_input_per_m`` and
    ``price_output_per_m`` are the price table (per million tokens) of the cost.
    """

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        max_retries: int | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        cache: ResponseCache | str | os.PathLike | None = None,
        api_key_env: str = API_KEY_ENV,
        price_input_per_m: float = 0.0,
        price_output_per_m: float = 0.0,
        params: Mapping[str, Any] | None = None,
        **unexpected: Any,
    ) -> None:
        if "api_key" in unexpected:
            raise TypeError(
                f"OpenAITeacher takes no api_key argument: the key is read only from the "
                f"environment variable {api_key_env} (or the one named by api_key_env)"
            )
        if unexpected:
            raise TypeError(f"OpenAITeacher got unexpected keyword arguments: {', '.join(sorted(unexpected))}")
        self.model = model or os.environ.get("UNER_TEACHER_MODEL") or DEFAULT_MODEL
        self.base_url = base_url or os.environ.get("UNER_TEACHER_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None
        self.temperature = float(temperature if temperature is not None else _env("UNER_TEACHER_TEMPERATURE", float, 0.0))
        self.max_tokens = max_tokens if max_tokens is not None else _env("UNER_TEACHER_MAX_TOKENS", int, None)
        self.timeout = float(timeout if timeout is not None else _env("UNER_TEACHER_TIMEOUT", float, 60.0))
        self.concurrency = int(concurrency if concurrency is not None else _env("UNER_TEACHER_CONCURRENCY", int, 8))
        self.max_retries = int(max_retries if max_retries is not None else _env("UNER_TEACHER_MAX_RETRIES", int, 6))
        if self.concurrency < 1 or self.max_retries < 0 or self.timeout <= 0:
            raise TeacherSettingError(f"teacher settings: concurrency must be >= 1 (got {self.concurrency}), "
                                      f"max_retries >= 0 (got {self.max_retries}) and timeout > 0 (got {self.timeout})")
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.cache = cache if isinstance(cache, ResponseCache) or cache is None else ResponseCache(cache)
        self.api_key_env = api_key_env
        self.price_input_per_m = float(price_input_per_m)
        self.price_output_per_m = float(price_output_per_m)
        self.params = dict(params or {})
        self._rng = random.Random()
        self._stats = dict.fromkeys(
            ("passages", "requests", "answered", "cached", "retries", "failures", "refused", "prompt_tokens",
             "completion_tokens"), 0
        )
        self._stats_lock = threading.Lock()

    # -- requests ---------------------------------------------------------------------

    def request(self, passage: str) -> dict[str, Any]:
        """The request body for one passage (model, messages, temperature, max_tokens, params);
        its canonical JSON is the cache key."""
        body: dict[str, Any] = {"model": self.model, "messages": build_messages(passage), "temperature": self.temperature}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        body.update(self.params)
        return body

    def _api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:
            raise TeacherError(
                f"no API key: set the environment variable {self.api_key_env} "
                f"(the teacher reads the key only from the environment)"
            )
        return key

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for k, v in deltas.items():
                self._stats[k] += v

    def _delay(self, attempt: int, err: BaseException) -> float:
        delay = self.backoff_base * 2**attempt + self._rng.uniform(0, self.backoff_base)
        after = _retry_after(err)
        if after is not None:
            delay = max(delay, after)
        return min(delay, self.backoff_max)

    async def _ask(self, client: Any, sem: asyncio.Semaphore, body: dict[str, Any], pid: str):
        """Send one request with retries; ``(output, usage)`` or the last error."""
        err: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._count(retries=1)
                delay = self._delay(attempt - 1, err)
                log.info("teacher: passage %s: %s, retry %d in %.2fs", pid, type(err).__name__, attempt, delay)
                await asyncio.sleep(delay)
            async with sem:
                self._count(requests=1)
                try:
                    resp = await asyncio.wait_for(
                        client.chat.completions.create(**body, timeout=self.timeout), self.timeout + 1.0
                    )
                except Exception as exc:
                    err = exc
                    if not _retryable(exc):
                        break
                    continue
            usage = getattr(resp, "usage", None)
            usage_d = {"prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
                       "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0)}
            choices = getattr(resp, "choices", None) or []
            message = choices[0].message if choices else None
            content = message.content if message else None
            finish = getattr(choices[0], "finish_reason", None) if choices else None
            if finish == "content_filter" or (message is not None and getattr(message, "refusal", None)):
                finish = "refused"
            return (content or ""), usage_d, finish
        log.warning("teacher: passage %s failed: %s", pid, type(err).__name__)
        return err

    async def _run(self, passages: Sequence[Record], bar: Any, on_answer: Callable[[TeacherAnswer], None] | None):
        import openai

        results: list[TeacherAnswer | None] = [None] * len(passages)
        groups: dict[str, list[int]] = {}
        bodies: dict[str, dict[str, Any]] = {}
        for i, rec in enumerate(passages):
            body = self.request(rec.text)
            key = ResponseCache.key(body)
            groups.setdefault(key, []).append(i)
            bodies[key] = body

        def finish(key: str, output: str, usage: Mapping[str, int], cached: bool, reason: str | None = None) -> None:
            for n, i in enumerate(groups[key]):
                ans = make_answer(passages[i], output, self.name, usage if n == 0 else None, cached)
                if reason is not None:
                    ans.reason = reason
                    if reason in ("cut_by_length", "no_reply", "refused"):
                        ans.pairs = []  # a cut, empty or refused reply gives no data
                results[i] = ans
                bar.update(1)
                if on_answer is not None:
                    on_answer(ans)

        hits = {key: self.cache.get_entry(key) if self.cache is not None else None for key in groups}
        todo = [key for key, hit in hits.items() if hit is None]
        api_key = self._api_key() if todo else ""  # fail before anything when a request is needed
        for key, hit in hits.items():
            if hit is not None:
                self._count(cached=len(groups[key]))
                finish(key, hit[0], hit[1], True, "refused" if hit[2] == "refused" else None)
        if todo:
            sem = asyncio.Semaphore(self.concurrency)
            async with openai.AsyncOpenAI(
                api_key=api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
            ) as client:

                async def one(key: str) -> None:
                    got = await self._ask(client, sem, bodies[key], passages[groups[key][0]].id)
                    if isinstance(got, BaseException):
                        self._count(failures=len(groups[key]))
                        finish(key, "", {}, False, f"request_failed: {type(got).__name__}")
                        return
                    output, usage, end = got
                    self._count(**usage)  # paid for, answer or not
                    if end == "refused":
                        if self.cache is not None:
                            self.cache.put(key, output, usage, self.model, finish="refused")
                        self._count(refused=len(groups[key]))
                        finish(key, output, usage, False, "refused")
                        return
                    failure = ("cut_by_length" if end == "length" else
                               "no_reply" if not output.strip() else None)
                    if failure is not None:  # not an answer: not cached, asked again next run
                        log.warning("teacher: passage %s: %s", passages[groups[key][0]].id, failure)
                        self._count(failures=len(groups[key]))
                        finish(key, output, usage, False, failure)
                        return
                    if self.cache is not None:
                        self.cache.put(key, output, usage, self.model)
                    self._count(answered=len(groups[key]))
                    finish(key, output, usage, False)

                tasks = [asyncio.ensure_future(one(k)) for k in todo]
                try:
                    await asyncio.gather(*tasks)
                finally:
                    for t in tasks:
                        t.cancel()
        return results

    def annotate(
        self,
        passages: Sequence[Record],
        progress: bool = True,
        on_answer: Callable[[TeacherAnswer], None] | None = None,
    ) -> list[TeacherAnswer]:
        """Annotate every passage (cached answers first, then requests), in input order.

        Runs its own event loop; called inside a running loop (Jupyter), it runs in a worker
        thread. ``on_answer`` is called with each answer as it arrives (after it is cached).
        Raises :class:`TeacherError` when requests are needed and no key is in the environment.
        """
        passages = list(passages)
        if any(self.cache is None or self.cache.get_entry(ResponseCache.key(self.request(r.text))) is None
               for r in passages):
            self._api_key()  # no key and requests to send: fail before anything starts
        self._count(passages=len(passages))

        def run() -> list[TeacherAnswer]:
            with _bar(len(passages), progress, f"teacher {self.model}") as bar:
                return asyncio.run(self._run(passages, bar, on_answer))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    # -- accounting -------------------------------------------------------------------

    def cost(self) -> float:
        """Estimated cost of the tokens of the requests sent (cached answers are free)."""
        with self._stats_lock:
            return (self._stats["prompt_tokens"] * self.price_input_per_m
                    + self._stats["completion_tokens"] * self.price_output_per_m) / 1e6

    def summary(self) -> dict[str, Any]:
        """Totals since this teacher was made: passages, requests sent (retries included),
        answered, cached hits, retries, failures, prompt/completion tokens of sent requests,
        estimated cost."""
        with self._stats_lock:
            out: dict[str, Any] = {"model": self.model, **self._stats}
        out["cost"] = self.cost()
        return out

    def estimate(self, passages: Sequence[Record], count_tokens: Callable[[str], int] | None = None) -> dict[str, Any]:
        """What annotating ``passages`` would send and cost, without sending anything (a dry run).

        Prompt tokens are counted with ``count_tokens`` over the system and user messages
        (default: :func:`approx_tokens`, 4 characters a token) plus
        :data:`MESSAGE_OVERHEAD` per message; completion tokens are estimated with the
        completion/prompt ratio of the answers already cached, else :data:`COMPLETION_RATIO`,
        capped by ``max_tokens``. Passages already answered in the cache cost nothing.
        The cost uses the price table of this teacher (per million tokens)."""
        count = count_tokens or approx_tokens
        keys: dict[str, Record] = {}
        for rec in passages:
            keys.setdefault(ResponseCache.key(self.request(rec.text)), rec)
        cached = {k for k in keys if self.cache is not None and self.cache.get_entry(k) is not None}
        ratio = COMPLETION_RATIO
        if self.cache is not None:
            n, p_tok, c_tok = self.cache.usage_totals()
            if n and p_tok:
                ratio = c_tok / p_tok
        prompt = completion = 0
        for key, rec in keys.items():
            if key in cached:
                continue
            p_n = sum(count(m["content"]) + MESSAGE_OVERHEAD for m in build_messages(rec.text))
            c_n = math.ceil(p_n * ratio)
            if self.max_tokens is not None:
                c_n = min(c_n, int(self.max_tokens))
            prompt += p_n
            completion += c_n
        cost = (prompt * self.price_input_per_m + completion * self.price_output_per_m) / 1e6
        return {"model": self.model, "passages": len(passages), "requests": len(keys) - len(cached),
                "cached": len(cached), "prompt_tokens": prompt, "completion_tokens": completion,
                "price_in_per_m": self.price_input_per_m, "price_out_per_m": self.price_output_per_m,
                "cost": cost, "estimated": True}

    # -- batch API --------------------------------------------------------------------

    def batch_file(self, passages: Sequence[Record], path: str | os.PathLike) -> Path:
        """Write the OpenAI Batch API request file (JSON lines, ``custom_id`` = passage id)."""
        path = Path(path)
        seen: set[str] = set()
        lines = []
        for rec in passages:
            if rec.id in seen:
                raise ValueError(f"duplicate passage id {rec.id!r}: custom_id must be unique in a batch")
            seen.add(rec.id)
            lines.append(json.dumps({"custom_id": rec.id, "method": "POST", "url": "/v1/chat/completions",
                                     "body": self.request(rec.text)}, ensure_ascii=False))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return (
            f"OpenAITeacher(model={self.model!r}, base_url={self.base_url!r}, temperature={self.temperature}, "
            f"max_tokens={self.max_tokens}, timeout={self.timeout}, concurrency={self.concurrency}, "
            f"max_retries={self.max_retries}, cache={self.cache!r}, api_key_env={self.api_key_env!r})"
        )


# --------------------------------------------------------------------------- factory

TEACHERS: dict[str, type] = {"corpus": CorpusTeacher, "replay": ReplayTeacher, "openai": OpenAITeacher}


def make_teacher(kind: str, **kwargs: Any) -> Teacher:
    """A teacher by kind: ``"corpus"``, ``"replay"`` (``outputs=``) or ``"openai"``."""
    if kind not in TEACHERS:
        raise ValueError(f"unknown teacher kind {kind!r}; choose one of: {', '.join(sorted(TEACHERS))}")
    return TEACHERS[kind](**kwargs)
