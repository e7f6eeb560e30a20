"""Pairs of campaign configurations: the paired difference of two configurations' validation
averages, in a table and in words, and the spread between two training draws of one recipe
(the paired interval resamples questions, not training)."""

from __future__ import annotations

from typing import Any, Sequence

from .campaign_configs import PAIRS


def pair_table(scores, pairs: Sequence[tuple[str, str]] = PAIRS):
    """For each pair of :data:`PAIRS` whose both configurations were scored: the paired
    difference of their validation averages (first minus second) with its interval and verdict."""
    import pandas as pd

    from .intervals import paired
    from .stats import verdict

    rows, scored = [], set(scores["config"])
    for a, b in pairs:
        if a in scored and b in scored:
            diff = paired(scores[scores["config"] == a], scores[scores["config"] == b])
            rows.append({"config": a, "against": b, "difference": round(diff.value, 2), "diff low": round(diff.low, 2),
                         "diff high": round(diff.high, 2), "verdict": verdict(diff)})
    return pd.DataFrame(rows, columns=["config", "against", "difference", "diff low", "diff high", "verdict"])


#: the settings that change how a student decodes, not the student itself
DECODING_KEYS: tuple[str, ...] = ("max_new_tokens", "quantize", "empty_bias", "constrain_spans", "one_type_per_entity",
                                  "lower_types")


def _differ(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    """The settings two configurations (overrides of one base) give different values."""
    return {k for k in {*a, *b} if a.get(k) != b.get(k)}


def training_spread(pairs: Sequence[dict[str, Any]], configs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The largest difference between two draws of one recipe: among the pairs whose
    configurations differ in ``seed`` alone, the one of largest absolute difference (its row),
    or ``None`` without such a pair. The paired interval resamples questions, not training: a
    difference between two trained students inside this spread may be another draw of training."""
    draws = [r for r in pairs if r["config"] in configs and r["against"] in configs
             and _differ(configs[r["config"]], configs[r["against"]]) == {"seed"}]
    return max(draws, key=lambda r: abs(r["difference"]), default=None)


def pair_sentence(pairs: Sequence[dict[str, Any]], configs: dict[str, dict[str, Any]] | None = None) -> str:
    """:func:`pair_table`'s rows (as the results JSON holds them) in words. With the
    configurations, a pair of two draws of one recipe says so, and a pair of two differently
    trained students whose difference lies within :func:`training_spread` says that too."""
    spread = training_spread(pairs, configs) if configs else None
    words = []
    for r in pairs:
        text = (f"`{r['config']}` minus `{r['against']}`: {r['difference']:+.2f} validation average F1, "
                f"paired 95% interval [{r['diff low']:+.2f}, {r['diff high']:+.2f}] ({r['verdict']}")
        changed = _differ(configs[r["config"]], configs[r["against"]]) if configs and {
            r["config"], r["against"]} <= set(configs) else set()
        if changed == {"seed"}:
            text += "; two draws of one recipe"
        elif spread and changed - set(DECODING_KEYS) and abs(r["difference"]) <= abs(spread["difference"]):
            text += (f"; within the {abs(spread['difference']):.2f} F1 between two draws of one recipe, "
                     f"`{spread['config']}` and `{spread['against']}`")
        words.append(text + ").")
    return " ".join(words)


def view_gap(per_set: Sequence[dict[str, Any]], view: str, plain: str):
    """For each configuration scored on both sets of a results file's ``per_set`` rows: its F1
    on ``view`` minus its F1 on ``plain``, two views of the same sentences and gold that spell
    the type names differently (the title-cased MultiCoNER II sample against the lower-case one),
    paired over sentences, with its verdict; what the spelling alone costs each student."""
    import pandas as pd

    from .intervals import count_sets
    from .stats import paired_difference, verdict

    counts = {(r["config"], r["dataset"]): r for r in per_set if isinstance(r.get("counts"), str)}
    rows = []
    for config in dict.fromkeys(r["config"] for r in per_set):
        if (config, view) in counts and (config, plain) in counts:
            a, b = count_sets(pd.DataFrame([counts[config, view], counts[config, plain]]))
            diff = paired_difference([a], [b])
            rows.append({"config": config, f"F1 {plain}": counts[config, plain]["f1"],
                         f"F1 {view}": counts[config, view]["f1"], "difference": round(diff.value, 2),
                         "diff low": round(diff.low, 2), "diff high": round(diff.high, 2), "verdict": verdict(diff)})
    return pd.DataFrame(rows, columns=["config", f"F1 {plain}", f"F1 {view}", "difference", "diff low", "diff high",
                                       "verdict"])
