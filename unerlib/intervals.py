"""Intervals and reading tables over the rows of :func:`unerlib.evaluation.evaluate_sets`:
the per-sentence counts each row's interval resamples, the average over sets and the paired
difference of two systems (bootstrap, :mod:`unerlib.stats`), and the tables and sentences the
chapters print."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .evaluation import CAP_MARGIN
from .stats import DEFAULT_RESAMPLES, Estimate, bootstrap_mean, paired_difference



def count_sets(scores, metric: str = "f1") -> list[np.ndarray]:
    """The per-sentence counts of each row of :func:`evaluate_sets` output (``metric``
    ``f1`` or ``span_f1``), read from its ``metrics.json``; a row read back from a results
    file carries its official-metric counts in a ``counts`` column instead (a string of
    space-separated integers, three a sentence: correct, predicted, gold)."""
    field = {"f1": "sentence_counts", "span_f1": "span_sentence_counts"}[metric]
    out = []
    for _, row in scores.iterrows():
        carried = row.get("counts") if metric == "f1" else None
        if isinstance(carried, str):
            out.append(np.array(carried.split(), dtype=np.int64).reshape(-1, 3))
            continue
        m = json.loads((Path(row["predictions"]).parent / "metrics.json").read_text())
        out.append(np.array(m[field], dtype=np.int64).reshape(-1, 3))
    return out


def untuned_sentences(eval_limit: int | None, untuned_limit: int | None) -> int | None:
    """How many of an evaluation's first sentences the untuned baseline answers: ``untuned_limit``
    (0 or ``None``: all of ``eval_limit``), never more than ``eval_limit`` (0 or ``None``: every sentence)."""
    if (eval_limit or 0) < 0 or (untuned_limit or 0) < 0:
        raise ValueError(f"sentence limits must be 0 (all) or positive, got {eval_limit} and {untuned_limit}")
    if not untuned_limit:
        return eval_limit
    return min(untuned_limit, eval_limit) if eval_limit else untuned_limit


def average_interval(scores, metric: str = "f1", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Estimate:
    """The mean F1 over the rows' sets with its bootstrap interval (sets resampled one by one)."""
    return bootstrap_mean(count_sets(scores, metric), n_resamples, seed)


def paired(scores_a, scores_b, metric: str = "f1", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Estimate:
    """Mean F1 of system a minus system b over the sets both scored, paired bootstrap over
    sentences (both systems answered the same questions)."""
    b = scores_b.set_index("dataset")
    a = scores_a[scores_a["dataset"].isin(b.index)]
    if a.empty:
        raise ValueError("the two systems share no dataset")
    return paired_difference(count_sets(a, metric), count_sets(b.loc[list(a["dataset"])].reset_index(), metric),
                             n_resamples, seed)


def paired_by_set(scores_a, scores_b, metric: str = "f1", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
    """One paired difference (a minus b) per shared dataset: dataset, diff, low, high."""
    import pandas as pd

    rows = []
    b = scores_b.set_index("dataset")
    for _, row in scores_a.iterrows():
        if row["dataset"] in b.index:
            est = paired(row.to_frame().T, b.loc[[row["dataset"]]].reset_index(), metric, n_resamples, seed)
            rows.append({"dataset": row["dataset"], "diff": est.value, "low": est.low, "high": est.high})
    return pd.DataFrame(rows, columns=["dataset", "diff", "low", "high"])


def with_interval(value: float, low: float, high: float) -> str:
    """``"17.1 ± 2.3"``: the value and the half-width of its interval."""
    return str(Estimate(value, low, high))


def interval_table(scores, metric: str = "f1", index: str = "system"):
    """A table for reading: one row per ``index`` value (e.g. system), one column per
    dataset and ``average``, each cell ``F1 ± half-width`` (95% bootstrap)."""
    import pandas as pd

    rows = {}
    for key, group in scores.groupby(index, sort=False):
        cells = {r["dataset"]: with_interval(r[metric], r[f"{metric}_low"], r[f"{metric}_high"])
                 for _, r in group.iterrows()}
        cells["average"] = str(average_interval(group, metric))
        rows[key] = cells
    return pd.DataFrame.from_dict(rows, orient="index")


def answer_counts(scores, index: str = "system"):
    """Per ``index`` value and dataset: questions, answers that reached the cap, loops (and
    loops that reached the cap), parse failures, and empty answers against empty gold answers
    (counts and % of answers)."""
    cols = ["questions", "cap_hits", "loop_stops", "loops_capped", "parse_failures", "empty", "gold_empty"]
    table = scores[[index, "dataset", *cols]].copy()
    for c in cols[1:]:
        table[f"{c} %"] = (100 * table[c] / table["questions"]).round(2)
    return table.reset_index(drop=True)


def difference_sentence(diff: Estimate, better: str, worse: str, what: str = "average F1") -> str:
    """A paired difference in words: its value, 95% interval and whether it is resolved."""
    from .stats import verdict

    words = {"supported": f"{better} scores higher", "contradicted": f"{better} scores lower",
             "not resolved at this size": "the difference is not resolved at this size"}[verdict(diff)]
    return (f"{better} minus {worse}: **{diff.value:+.1f}** {what}, 95% paired bootstrap interval "
            f"[{diff.low:+.1f}, {diff.high:+.1f}]: {words}.")


def answers_sentence(scores, max_new_tokens: int | str) -> str:
    """How many answers looped, hit the token cap, or fail to parse (the caps the rows
    used, from their ``max_new_tokens`` column when there is one)."""
    n = int(scores["questions"].sum())
    caps = sorted({int(c) for c in scores["max_new_tokens"].dropna()}) if "max_new_tokens" in scores else []
    if len(caps) > 1:
        max_new_tokens = (f"{caps[0]} to {caps[-1]} (each set's longest gold answer over its whole split, "
                          f"in student tokens, plus {CAP_MARGIN})")
    elif caps:
        max_new_tokens = caps[0]
    cap, loop, bad = (int(scores[c].sum()) for c in ("cap_hits", "loop_stops", "parse_failures"))
    loop_cap = int(scores["loops_capped"].sum()) if "loops_capped" in scores else 0
    share = lambda k: f"{k:,} ({100 * k / max(n, 1):.2f}%)"  # noqa: E731
    return (f"Of {n:,} answers, {share(loop)} looped (one block of list items repeated three times; "
            f"each was taken out of its batch and decoded on to its own end afterwards, so it scores as "
            f"without any stop), {share(cap)} reached the cap of {max_new_tokens} new tokens "
            f"({loop_cap:,} of them loops, whose list never closes), and {share(bad)} do not open with "
            f"a JSON list (parse failures, scored empty; unclosed loops and cap hits among them).")
