"""The negative-sampling ablation (the paper's Table 5): one student per strategy and seed
on the same teacher data and budget, scored on the seven zero-shot sets, and the paper's
claims (none < uniform < frequency) judged from paired bootstrap intervals.

Several seeds of a strategy are pooled: their per-sentence counts are added, so a
strategy's F1 is the micro F1 over all its seeds' answers, and the paired bootstrap over
sentences resamples the same sentences for every seed and strategy. The seed spread (each
seed's own seven-set average) is shown beside it.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .paper import PAPER_NEGATIVE_SAMPLING, PAPER_SEVEN_SET_AVERAGES, seven_set_average
from .registry import ZERO_SHOT
from .stats import DEFAULT_RESAMPLES, Estimate, bootstrap_f1, bootstrap_mean, paired_difference, verdict

STRATEGIES: tuple[str, ...] = ("none", "uniform", "frequency")
#: the paper's claims, each (lower, higher): the higher strategy scores above the lower
CLAIMS: tuple[tuple[str, str], ...] = (("none", "uniform"), ("uniform", "frequency"), ("none", "frequency"))


def run_ablation(data_path: str | os.PathLike, strategies: Sequence[str] = STRATEGIES,
                 n_negatives: int = 2, seeds: Sequence[int] = (0,), limit: int | None = 50,
                 max_new_tokens: int = 256, quantize: str = "", progress: bool = True,
                 root: str | os.PathLike | None = None, empty_bias: float = 0.0, constrain_spans: bool = False,
                 one_type_per_entity: bool = False, lower_types: bool = False, **train_options: Any):
    """Train one student per (strategy, seed) and score each on the seven zero-shot sets.
    Every student and score is a cached artifact, so a run with notebook 03's parameters
    is its student. Returns the rows of :func:`unerlib.evaluation.evaluate_sets` with
    ``strategy``, ``seed`` and ``adapter`` columns."""
    import pandas as pd

    from .evaluation import evaluate_sets
    from .experiments import build_student

    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown negative sampling strategies {unknown}; choose from {list(STRATEGIES)}")
    frames = []
    for strategy in strategies:
        for seed in seeds:
            adapter = build_student(data_path, negatives=strategy, n_negatives=n_negatives, seed=seed,
                                    progress=progress, root=root, **train_options)
            scores = evaluate_sets(train_options.get("model", "smollm2-135m"), adapter, limit=limit,
                                   max_new_tokens=max_new_tokens, progress=progress, root=root, quantize=quantize,
                                   empty_bias=empty_bias, constrain_spans=constrain_spans,
                                   one_type_per_entity=one_type_per_entity, lower_types=lower_types)
            frames.append(scores.assign(strategy=strategy, seed=seed, adapter=adapter.name))
    return pd.concat(frames, ignore_index=True)


def pooled_counts(long, strategy: str, metric: str = "f1") -> list[np.ndarray]:
    """Per zero-shot set (in :data:`ZERO_SHOT` order), the per-sentence counts of a
    strategy summed over its seeds."""
    from .intervals import count_sets

    sub = long[long.strategy == strategy]
    out = []
    for name in ZERO_SHOT:
        rows = sub[sub.dataset == name]
        if rows.empty:
            raise ValueError(f"strategy {strategy!r} has no scores on {name!r}")
        out.append(np.sum(count_sets(rows, metric), axis=0))
    return out


def strategy_scores(long, metric: str = "f1", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
    """One row per strategy: F1 ± interval per set and the seven-set average (pooled
    seeds), as text for reading, plus the numeric average and its interval."""
    import pandas as pd

    from .results import PAPER_COLUMNS

    rows = []
    for strategy in dict.fromkeys(long["strategy"]):
        sets = pooled_counts(long, strategy, metric)
        row: dict[str, Any] = {"strategy": strategy}
        for name, counts in zip(ZERO_SHOT, sets):
            row[PAPER_COLUMNS[name]] = str(bootstrap_f1(counts, n_resamples, seed))
        avg = bootstrap_mean(sets, n_resamples, seed)
        row.update({"Avg": str(avg), "avg": avg.value, "avg_low": avg.low, "avg_high": avg.high,
                    "seeds": long[long.strategy == strategy]["seed"].nunique()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def strategy_intervals(long, metric: str = "f1", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
    """Long numeric table for figures: strategy, column (the paper's set names and
    ``Avg``), value, low, high (pooled seeds, 95% bootstrap)."""
    import pandas as pd

    from .results import PAPER_COLUMNS

    rows = []
    for strategy in dict.fromkeys(long["strategy"]):
        sets = pooled_counts(long, strategy, metric)
        ests = [bootstrap_f1(c, n_resamples, seed) for c in sets] + [bootstrap_mean(sets, n_resamples, seed)]
        for column, est in zip([*PAPER_COLUMNS.values(), "Avg"], ests):
            rows.append({"strategy": strategy, "column": column, **est.as_dict()})
    return pd.DataFrame(rows)


def ablation_table(long, metric: str = "f1"):
    """Point F1 (pooled seeds) beside the paper's: rows (source, strategy), the seven
    sets and ``Avg``; for the figure."""
    import pandas as pd

    from .results import PAPER_COLUMNS
    from .stats import f1_from_counts

    ours = []
    for strategy in dict.fromkeys(long["strategy"]):
        values = [f1_from_counts(c) for c in pooled_counts(long, strategy, metric)]
        ours.append({"source": "ours", "strategy": strategy,
                     **dict(zip(PAPER_COLUMNS.values(), values)), "Avg": float(np.mean(values))})
    paper = paper_ablation().reset_index().assign(source="paper (UniNER-7B)")
    return pd.concat([paper, pd.DataFrame(ours)], ignore_index=True).set_index(["source", "strategy"]).round(1)


def paper_ablation():
    """The paper's negative-sampling rows as a DataFrame (index: strategy)."""
    import pandas as pd

    from .results import PAPER_COLUMNS

    rows = []
    for strategy, values in PAPER_NEGATIVE_SAMPLING.items():
        rows.append({"strategy": strategy, **dict(zip(PAPER_COLUMNS.values(), values)),
                     "Avg": seven_set_average(values)})
    return pd.DataFrame(rows).set_index("strategy")


def claims(long, metric: str = "f1", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
    """Each of the paper's claims that this run can test: the paired difference of the
    seven-set averages (higher minus lower strategy) with its 95% interval, the verdict
    (supported, contradicted, not resolved at this size) and the paper's difference."""
    import pandas as pd

    have = set(long["strategy"])
    rows = []
    for low, high in CLAIMS:
        if {low, high} <= have:
            diff = paired_difference(pooled_counts(long, high, metric), pooled_counts(long, low, metric),
                                     n_resamples, seed)
            paper = PAPER_SEVEN_SET_AVERAGES[high] - PAPER_SEVEN_SET_AVERAGES[low]
            rows.append({"claim": f"{low} < {high}", "difference": diff.value, "low": diff.low, "high": diff.high,
                         "verdict": verdict(diff), "paper difference": round(paper, 1)})
    return pd.DataFrame(rows, columns=["claim", "difference", "low", "high", "verdict", "paper difference"])


def ablation_verdict(long, metric: str = "f1", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> str:
    """The verdict on each claim in words, generated from the paired intervals."""
    table = claims(long, metric, n_resamples, seed)
    if table.empty:
        return "The ablation ran too few strategies to test any of the paper's claims."
    sentences = []
    for _, r in table.iterrows():
        low, high = r["claim"].split(" < ")
        est = Estimate(r["difference"], r["low"], r["high"])
        sentences.append(f"- **{r['claim']}**: {high} minus {low} = {est.value:+.1f} average F1, 95% paired "
                         f"interval [{est.low:+.1f}, {est.high:+.1f}]: **{r['verdict']}** "
                         f"(the paper: {r['paper difference']:+.1f}).")
    return "\n".join(sentences)


def seed_spread(long, metric: str = "f1"):
    """Per strategy: each seed's seven-set average, and their mean, min, max and standard
    deviation (empty spread columns with one seed)."""
    import pandas as pd

    rows = []
    for strategy in dict.fromkeys(long["strategy"]):
        sub = long[long.strategy == strategy]
        per_seed = {s: float(g.groupby("dataset")[metric].first().reindex(ZERO_SHOT).mean())
                    for s, g in sub.groupby("seed")}
        values = list(per_seed.values())
        rows.append({"strategy": strategy, "seeds": len(values),
                     **{f"seed {s}": round(v, 1) for s, v in per_seed.items()},
                     "mean": round(float(np.mean(values)), 1), "min": round(min(values), 1),
                     "max": round(max(values), 1),
                     "std": round(float(np.std(values, ddof=1)), 2) if len(values) > 1 else float("nan")})
    return pd.DataFrame(rows).set_index("strategy")


def best_strategy(long, metric: str = "f1") -> str:
    """The strategy with the highest pooled seven-set average (point value)."""
    table = ablation_table(long, metric).loc["ours"]
    return str(table["Avg"].idxmax())
