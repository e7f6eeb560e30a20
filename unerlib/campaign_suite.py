"""The campaign's validation suite: the sets and sentences each configuration is scored on,
the suites of earlier rounds, where the empty-answer check looks, and what the first
sentences of each set hold (a suite's first N sentences must be a sample of its split)."""

from __future__ import annotations

from typing import Sequence

#: the validation sets scored by default (``name:split`` -> sentences, all their types). The
#: fine views (33 and 43 types) ask many questions a sentence; the coarse views of the same
#: corpora (6 and 15 types, as the zero-shot sets ask) are cheap, so they get more sentences.
#: 1k-WFB-g (116 types a sentence) is registered for validation but too costly per sentence.
#: Since round 12 the MultiCoNER II views read a seeded sample of the dev sentences (the first
#: ones of the file are mostly person names) and the fine one 100 sentences instead of 40;
#: ``SUITES["first"]`` is the suite of rounds 1-12. Since round 16 the coarse MultiCoNER II sample is
#: asked a second time with its type names in title case ("Creative Work"), as one zero-shot file
#: (MIT Restaurant's) spells its types and no teacher passage does; ``SUITES["second"]`` is the
#: suite of rounds 12-15, without that view.
_SECOND: dict[str, int] = {"multiconer2_sample:dev": 100, "figer_gold:test": 40,
                           "multiconer2_coarse_sample:dev": 200, "figer_gold_coarse:test": 100}
VALIDATION_SETS: dict[str, int] = {**_SECOND, "multiconer2_coarse_titled:dev": 200}
SUITES: dict[str, dict[str, int]] = {
    "current": VALIDATION_SETS,
    "second": _SECOND,
    "first": {"multiconer2:dev": 40, "figer_gold:test": 40, "multiconer2_coarse:dev": 200,
              "figer_gold_coarse:test": 100},
}


def suite_sizes(sets: dict[str, int] | Sequence[str] = VALIDATION_SETS, limit: int | None = None) -> dict[str, int]:
    """Sentences per validation set: ``limit`` for every set when given (0: every sentence),
    else each set's own size (a plain list of sets without ``limit`` takes 30 sentences each)."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be a number of sentences (0: all of them), got {limit}")
    sizes = dict(sets) if isinstance(sets, dict) else dict.fromkeys(sets, 30)
    return {name: n if limit is None else limit for name, n in sizes.items()}


#: where the campaign asks whether a student's "none" depends on the type (:mod:`unerlib.emptiness`):
#: one coarse validation view and its first sentences
EMPTY_CHECK: tuple[str, int] = ("multiconer2_coarse_sample:dev", 100)
#: the empty-answer check of each suite of :data:`SUITES`
EMPTY_CHECKS: dict[str, tuple[str, int]] = {"current": EMPTY_CHECK, "second": EMPTY_CHECK,
                                            "first": ("multiconer2_coarse:dev", 100)}


def empty_check_size(limit: int | None = None, suite: str = "current") -> tuple[str, int]:
    """The empty-answer check of ``suite`` (:data:`EMPTY_CHECKS`), at most ``limit`` sentences
    when the suite is cut to that many (``None`` or 0: its own size)."""
    name, n = EMPTY_CHECKS[suite]
    return (name, min(n, limit)) if limit else (name, n)


def suite_table(sets: dict[str, int] | None = None, root=None):
    """For each set of a suite (default: the current one): its sentences, questions, gold
    mentions, the most frequent gold type and that type's share of the mentions."""
    from collections import Counter

    import pandas as pd

    from .inference import load_questions
    from .metrics import parse_entities

    rows = []
    for data, n in (sets or VALIDATION_SETS).items():
        questions = load_questions(data, n or None, root)
        mentions = Counter({q.type: 0 for q in questions})
        for q in questions:
            mentions[q.type] += len(parse_entities(q.gold or "[]"))
        top, count = mentions.most_common(1)[0]
        total = sum(mentions.values())
        rows.append({"set": data, "sentences": len({q.passage for q in questions}), "questions": len(questions),
                     "gold mentions": total, "most frequent type": top,
                     "its share %": round(100 * count / total, 1) if total else 0.0})
    return pd.DataFrame(rows)
