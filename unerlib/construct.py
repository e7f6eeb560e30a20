"""Data construction (paper, Section 2): sample passages, send them to a teacher, and keep
its ``(entity, type)`` answers as instruction data in the Pile-NER-type schema.

The schema is the conversation JSON of the public ``Universal-NER/Pile-NER-type`` data:
one record per passage, the passage turn, the acknowledgement turn, then one question per
entity type the teacher found, answered with the JSON list of its entities. Two fields are
ours: ``source`` (the corpus a passage came from) and ``teacher``.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .convert import conversation
from .data import DataError, Mention, Record
from .instructions import ACK

#: Where each kind of source's annotations come from, for the report.
ORIGIN = {"pile_ner_types": "ChatGPT (Pile-NER sample, replayed)",
          "pile_ner_sample": "ChatGPT (Pile-NER sample, replayed)"}


def origin(source: str) -> str:
    """Who labelled a source's passages: ChatGPT (replayed), an LLM teacher, or humans."""
    if source in ORIGIN:
        return ORIGIN[source]
    return "human labels (gold corpus)" if not source.startswith(("file:", "hf:")) else "LLM teacher"


def whitespace_tokens(text: str) -> int:
    """A tokenizer-free length (words); pass a student tokenizer's count for the paper's rule."""
    return len(text.split())


def chunk_record(record: Record, max_tokens: int, count_tokens: Callable[[str], int]) -> list[Record]:
    """Cut a passage into windows of at most ``max_tokens`` tokens at spaces; a mention that
    crosses a window edge goes with the window holding its start and is clipped to it."""
    if count_tokens(record.text) <= max_tokens:
        return [record]
    words, bounds, pos = record.text.split(" "), [], 0
    for w in words:
        bounds.append((pos, pos + len(w)))
        pos += len(w) + 1
    windows, start_word, used = [], 0, 0
    for i, w in enumerate(words):
        n = count_tokens(" " + w) if i else count_tokens(w)
        if i > start_word and used + n > max_tokens:
            windows.append((start_word, i))
            start_word, used = i, 0
        used += n
    windows.append((start_word, len(words)))
    out = []
    for k, (a, b) in enumerate(windows):
        s, e = bounds[a][0], bounds[b - 1][1]
        text = record.text[s:e]
        mentions = [Mention(text[m.start - s:min(m.end, e) - s], m.type, m.start - s, min(m.end, e) - s)
                    for m in record.mentions if s <= m.start < e]
        out.append(Record(f"{record.id}#{k}", text, mentions, record.types))
    return out


class ExcludedTexts:
    """Texts a passage must neither equal nor contain (evaluation sentences), compared
    after folding case and whitespace. A text of at least ``ANCHOR`` words is also found
    inside a longer passage, through an index on its first words."""

    ANCHOR = 5

    def __init__(self, texts: Iterable[str]):
        self.exact: set[str] = set()
        self.by_anchor: dict[tuple[str, ...], list[str]] = {}
        for text in texts:
            key = " ".join(text.split()).lower()
            if not key:
                continue
            self.exact.add(key)
            words = key.split(" ")
            if len(words) >= self.ANCHOR:
                self.by_anchor.setdefault(tuple(words[:self.ANCHOR]), []).append(key)

    def overlaps(self, key: str) -> bool:
        """Whether a folded passage equals or contains an excluded text."""
        if key in self.exact:
            return True
        words = key.split(" ")
        for i in range(len(words) - self.ANCHOR + 1):
            for text in self.by_anchor.get(tuple(words[i:i + self.ANCHOR]), ()):
                if text in key:
                    return True
        return False


def sample_passages(
    sources: Sequence[str],
    n: int,
    seed: int = 0,
    max_tokens: int = 256,
    count_tokens: Callable[[str], int] = whitespace_tokens,
    exclude_texts: Iterable[str] = (),
    root: str | os.PathLike | None = None,
    weights: dict[str, int] | None = None,
) -> list[Record]:
    """Up to ``n`` distinct passages drawn round-robin from ``sources`` (registered corpus
    names use their non-test splits; ``file:PATH`` reads JSON lines or text; ``hf:NAME``
    reads a Hugging Face dataset), chunked to ``max_tokens``, deduplicated, seeded.

    Round-robin over shuffled sources keeps every corpus (and so its types) represented
    instead of letting the largest corpus fill the sample; ``weights`` gives a source
    several draws per round (default 1).
    """
    rng = random.Random(seed)
    excluded = ExcludedTexts(exclude_texts)
    pools: list[list[Record]] = []
    for source in sources:
        records = [c for r in read_source(source, root) for c in chunk_record(r, max_tokens, count_tokens)]
        rng.shuffle(records)
        pools.append(records)
    seen: set[str] = set()
    out: list[Record] = []
    cursors = [0] * len(pools)
    while len(out) < n and any(c < len(p) for c, p in zip(cursors, pools)):
        for k, pool in enumerate(pools):
            for _draw in range((weights or {}).get(sources[k], 1)):
                while cursors[k] < len(pool):
                    rec = pool[cursors[k]]
                    cursors[k] += 1
                    key = " ".join(rec.text.split()).lower()
                    if key and key not in seen and not excluded.overlaps(key):
                        seen.add(key)
                        out.append(rec)
                        break
                if len(out) >= n:
                    return out
    return out


def read_source(source: str, root: str | os.PathLike | None = None) -> list[Record]:
    """Passages of one source, ids prefixed by the source name (see :func:`sample_passages`)."""
    if source.startswith("file:"):
        return read_text_file(source[5:])
    if source.startswith("hf:"):
        return read_hf_dataset(source[3:])
    from .registry import get_spec, load_dataset

    spec = get_spec(source)
    splits = [s for s in spec.splits if s not in ("test", "github_test")] or list(spec.splits)
    return [r for split in splits for r in load_dataset(source, split, root)]


def read_text_file(path: str | os.PathLike, text_field: str = "text") -> list[Record]:
    """Passages from JSON lines (``{"text": ...}``) or plain text (blank-line paragraphs)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"passage file not found: {path}")
    raw = path.read_text(encoding="utf-8")
    if path.suffix in (".jsonl", ".json"):
        texts = []
        for lineno, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    texts.append(json.loads(line)[text_field])
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise DataError(f"{path}:{lineno}: expected a JSON object with {text_field!r}") from None
    else:
        texts = [" ".join(p.split()) for p in raw.split("\n\n")]
    return [Record(f"file:{path.name}/{i}", t, [], None) for i, t in enumerate(texts) if t.strip()]


def read_hf_dataset(spec: str, text_field: str = "text", limit: int = 100_000) -> list[Record]:
    """Passages from a Hugging Face dataset ``NAME[:SPLIT]`` (needs the hub or its cache)."""
    from datasets import load_dataset

    name, _, split = spec.partition(":")
    ds = load_dataset(name, split=split or "train", streaming=True)
    out = []
    for i, row in enumerate(ds):
        if i >= limit:
            break
        out.append(Record(f"hf:{name}/{i}", row[text_field], [], None))
    return out


@dataclass
class ConstructionSummary:
    """What a construction run produced and what it cost."""

    passages: int = 0
    entities: int = 0
    types: int = 0
    parse_failures: Counter = field(default_factory=Counter)
    by_source: Counter = field(default_factory=Counter)
    teacher: dict[str, Any] = field(default_factory=dict)
    sent: int = 0  # passages given to the teacher
    failed: int = 0  # passages with no answer yet (asked again by the next run)
    refused: int = 0  # passages the teacher refused (a final answer)
    first_errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every passage has an answer or a recorded final refusal."""
        return self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {"passages": self.passages, "entities": self.entities, "types": self.types,
                "parse_failures": dict(self.parse_failures), "by_source": dict(self.by_source),
                "teacher": self.teacher, "sent": self.sent, "failed": self.failed, "refused": self.refused,
                "complete": self.complete, "first_errors": self.first_errors}


def clean_type(name: str) -> str:
    """A teacher's type name, trimmed and lower-cased (acronyms such as DNA kept)."""
    name = " ".join(name.strip().strip("\"'").split())
    return name if name.isupper() and len(name) <= 5 else name.lower()


def to_pile_ner(answers: Sequence[Any], sources: dict[str, str]) -> tuple[list[dict[str, Any]], ConstructionSummary]:
    """Teacher answers -> Pile-NER-type records (one per passage with at least one entity)
    and a summary. ``sources`` maps passage id -> source name."""
    summary = ConstructionSummary()
    out, all_types = [], set()
    for ans in answers:
        if ans.reason and not ans.pairs:
            summary.parse_failures[ans.reason] += 1
        by_type: dict[str, list[str]] = {}
        for entity, typ in ans.pairs:
            if entity.strip() and typ.strip():
                by_type.setdefault(clean_type(typ), []).append(entity.strip())
        if not by_type:
            continue
        source = sources.get(ans.passage_id, "unknown")
        turns = [{"from": "human", "value": f"Text: {ans.passage}"}, {"from": "gpt", "value": ACK}]
        for typ, ents in by_type.items():
            qa = conversation("", ans.passage, typ, ents)["conversations"][2:]
            turns.extend(qa)
        out.append({"id": ans.passage_id, "source": source, "teacher": ans.source, "conversations": turns})
        summary.passages += 1
        summary.entities += sum(len(v) for v in by_type.values())
        summary.by_source[source] += 1
        all_types.update(by_type)
    summary.types = len(all_types)
    return out, summary


#: Default share of passages that may stay without an answer before construction stops.
MAX_FAILURE_SHARE = 0.05


class ConstructionError(DataError):
    """Too many passages got no answer from the teacher; the message gives the share and the
    first errors."""


def construct(passages: Sequence[Record], teacher, progress: bool = True,
              max_failure_share: float | None = MAX_FAILURE_SHARE) -> tuple[list[dict[str, Any]], ConstructionSummary]:
    """Send passages to a teacher and build the instruction data (Pile-NER-type schema).

    A passage whose request failed, or whose reply was empty or cut by the token limit, has
    no answer (``summary.failed``; the OpenAI teacher does not cache it, so the next run asks
    again); ``summary.complete`` is true when none is missing. Above ``max_failure_share``
    (``None``: no limit) a :class:`ConstructionError` names the share and the first errors.
    """
    from .teacher import is_failed

    sources = {p.id: p.id.split("/")[0] for p in passages}
    answers = teacher.annotate(list(passages), progress=progress)
    failed = [a for a in answers if is_failed(a)]
    first = [f"{a.passage_id}: {a.reason}" for a in failed[:3]]
    share = len(failed) / len(answers) if answers else 0.0
    if max_failure_share is not None and share > max_failure_share:
        raise ConstructionError(
            f"{len(failed)} of {len(answers)} passages ({share:.1%}) got no answer from the teacher, above the "
            f"allowed {max_failure_share:.1%}; first errors: {'; '.join(first)}. Answered passages are cached: "
            f"run again to ask only the others")
    data, summary = to_pile_ner(answers, sources)
    summary.sent, summary.failed, summary.first_errors = len(answers), len(failed), first
    summary.refused = sum(1 for a in answers if a.reason == "refused")
    if hasattr(teacher, "summary"):
        summary.teacher = teacher.summary()
    return data, summary


def dry_run(passages: Sequence[Record], teacher, count_tokens: Callable[[str], int] | None = None) -> dict[str, Any]:
    """What :func:`construct` would send and cost, sending nothing: the teacher's
    ``estimate`` (offline teachers cost nothing) and each passage's id and length."""
    if hasattr(teacher, "estimate"):
        est = teacher.estimate(list(passages), count_tokens=count_tokens)
    else:
        est = {"model": getattr(teacher, "name", "?"), "passages": len(passages), "requests": 0, "cached": 0,
               "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0, "estimated": True}
    est["passage_list"] = [{"id": p.id, "chars": len(p.text)} for p in passages]
    return est


def format_dry_run(est: dict[str, Any], show: int = 20) -> str:
    """A dry run for the terminal: the first ``show`` passages, then tokens and cost."""
    lines = [f"{p['id']}\t{p['chars']} chars" for p in est["passage_list"][:show]]
    if len(est["passage_list"]) > show:
        lines.append(f"... and {len(est['passage_list']) - show} more")
    lines.append(f"dry run ({est['model']}): {est['passages']} passages, {est['requests']} requests to send, "
                 f"{est['cached']} cached; about {est['prompt_tokens']} prompt + {est['completion_tokens']} "
                 f"completion tokens; estimated cost {est['cost']:.4f} "
                 f"(at {est.get('price_in_per_m', 0.0)}/{est.get('price_out_per_m', 0.0)} per million "
                 f"input/output tokens); nothing was sent")
    return "\n".join(lines)


def source_digest(source: str, root: str | os.PathLike | None = None) -> str:
    """A content hash of one passage source: a ``file:`` source's bytes, a registered
    corpus's files (its non-test splits), or the name of an ``hf:`` dataset."""
    import hashlib

    from .artifacts import file_digest

    if source.startswith("file:"):
        path = Path(source[5:])
        if not path.is_file():
            raise DataError(f"passage file not found: {path}")
        return file_digest(path)
    if source.startswith("hf:"):
        return source
    from .registry import dataset_files, get_spec

    spec = get_spec(source)
    splits = [s for s in spec.splits if s not in ("test", "github_test")] or list(spec.splits)
    h = hashlib.sha256()
    for split in splits:
        for path in dataset_files(source, split, root):
            h.update(f"{split}:{path.name}:{file_digest(path)}\n".encode())
    return h.hexdigest()


def load_pile_ner(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read instruction data in the Pile-NER-type schema (ours, or the public release)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"instruction data not found: {path}")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or (data and "conversations" not in data[0]):
        raise DataError(f"{path}: not Pile-NER-type data (a list of {{'conversations': [...]}})")
    return data
