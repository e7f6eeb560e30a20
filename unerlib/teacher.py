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

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

from .data import Record
from .teacher_parse import _MAX_CANDIDATES, format_teacher_output, parse_teacher_output  # noqa: F401 (re-exported)

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


# --------------------------------------------------------------------------- prompt


def build_messages(passage: str) -> list[dict[str, str]]:
    """The chat messages sent for one passage: the paper's system and user prompt."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER_TEMPLATE.format(input_passage=passage)},
    ]


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


# --------------------------------------------------------------------------- factory

# the OpenAI teacher lives in its own module (it imports the names above); re-exported here
from .teacher_openai import (OpenAITeacher, ResponseCache, TeacherError, TeacherSettingError,  # noqa: E402,F401
                             _env, _retry_after, _retryable)

TEACHERS: dict[str, type] = {"corpus": CorpusTeacher, "replay": ReplayTeacher, "openai": OpenAITeacher}


def make_teacher(kind: str, **kwargs: Any) -> Teacher:
    """A teacher by kind: ``"corpus"``, ``"replay"`` (``outputs=``) or ``"openai"``."""
    if kind not in TEACHERS:
        raise ValueError(f"unknown teacher kind {kind!r}; choose one of: {', '.join(sorted(TEACHERS))}")
    return TEACHERS[kind](**kwargs)
