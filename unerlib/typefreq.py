"""Entity-type frequency (paper, Section 2 and Table 1): how mentions spread over types.

The paper reports that the top 1% of its types cover about three quarters of the
mentions and the remaining 90% only a small share (the figures: :mod:`unerlib.paper`,
``PAPER_BANDS`` and ``PAPER_TOTALS``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Sequence

from .paper import PAPER_BANDS, PAPER_TOTALS  # noqa: F401 (re-exported: notebooks import them from here)


def type_counts(data: Sequence[dict[str, Any]]) -> Counter:
    """Mentions per type in Pile-NER-type data (every entity of every answer counts)."""
    counts: Counter = Counter()
    for item in data:
        conv = item["conversations"]
        for q, a in zip(conv[2::2], conv[3::2]):
            m = re.match(r"^What describes (.*) in the text\?$", q["value"])
            if m:
                try:
                    n = len(json.loads(a["value"]))
                except json.JSONDecodeError:
                    n = 0
                if n:
                    counts[m.group(1)] += n
    return counts


def head_tail_table(counts: Counter, examples: int = 5):
    """The paper's table: for the top 1% of types, the next 9% and the rest, the number
    of types, their share of mentions and example types."""
    import pandas as pd

    ranked = [t for t, _ in counts.most_common()]
    total = sum(counts.values()) or 1
    n = len(ranked)
    cut1, cut10 = max(1, round(n * 0.01)), max(1, round(n * 0.10))
    bands = {"top 1%": ranked[:cut1], "top 1%-10%": ranked[cut1:cut10], "rest (90%)": ranked[cut10:]}
    rows = []
    for band, types in bands.items():
        mentions = sum(counts[t] for t in types)
        rows.append({"band": band, "types": len(types), "mentions": mentions,
                     "share of mentions (%)": round(100 * mentions / total, 1),
                     "paper (%)": PAPER_BANDS[band], "examples": ", ".join(types[:examples])})
    return pd.DataFrame(rows)


def mix_table(mixes: dict[str, Counter]):
    """One row per type mix (e.g. teacher-source mixes): types, mentions, the share of
    mentions held by the top 1% and top 10% of types, and the types seen once."""
    import pandas as pd

    rows = []
    for name, counts in mixes.items():
        ranked = [n for _, n in counts.most_common()]
        total = sum(ranked) or 1
        cut1, cut10 = max(1, round(len(ranked) * 0.01)), max(1, round(len(ranked) * 0.10))
        rows.append({"mix": name, "types": len(ranked), "mentions": sum(ranked),
                     "top 1% share (%)": round(100 * sum(ranked[:cut1]) / total, 1),
                     "top 10% share (%)": round(100 * sum(ranked[:cut10]) / total, 1),
                     "types seen once": sum(1 for n in ranked if n == 1)})
    return pd.DataFrame(rows)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def canonical_type(name: str) -> str:
    """Lower case, folded whitespace, last word singular: the key that merges variants."""
    words = " ".join(name.split()).lower().split(" ")
    words[-1] = _singular(words[-1])
    return " ".join(words)


def normalisation_stats(counts: Counter) -> dict[str, Any]:
    """How many type names differ only in case or by a plural, and the merged inventory."""
    by_lower: dict[str, set[str]] = {}
    by_canon: dict[str, set[str]] = {}
    for t in counts:
        by_lower.setdefault(" ".join(t.split()).lower(), set()).add(t)
        by_canon.setdefault(canonical_type(t), set()).add(t)
    case_groups = {k: sorted(v) for k, v in by_lower.items() if len(v) > 1}
    plural_groups = {k: sorted(v) for k, v in by_canon.items() if len(v) > 1}
    return {"types": len(counts), "after case folding": len(by_lower), "after plural merging": len(by_canon),
            "case variants": case_groups, "plural or case variants": plural_groups}


def merge_variants(counts: Counter) -> dict[str, str]:
    """Map each type name to the most frequent spelling among its case/plural variants."""
    groups: dict[str, list[str]] = {}
    for t, _ in counts.most_common():
        groups.setdefault(canonical_type(t), []).append(t)
    return {t: names[0] for names in groups.values() for t in names}
