"""Distillation data against F1: the headline recipe trained on teacher data of several
sizes, each student scored on the seven zero-shot sets with intervals, so a reader sees
whether more teacher passages still pay at this student size."""

from __future__ import annotations

import os
from typing import Sequence

from .runs import Headline
from .stats import DEFAULT_RESAMPLES


def parse_sizes(spec: str) -> list[int]:
    """``"250,500,1000"`` -> ``[250, 500, 1000]`` (sorted, distinct, each at least 1)."""
    try:
        sizes = sorted({int(s) for s in spec.split(",") if s.strip()})
    except ValueError:
        raise ValueError(f"scaling sizes must be a comma list of passage counts, not {spec!r}") from None
    if not sizes or sizes[0] < 1:
        raise ValueError(f"scaling sizes must be positive passage counts, not {spec!r}")
    return sizes


def run_scaling(run: Headline, sizes: Sequence[int], limit: int | None, progress: bool = True,
                root: str | os.PathLike | None = None):
    """One student per teacher-data size (notebook 03's recipe, its teacher and seed; the
    size equal to notebook 03's is its student), scored on the seven sets. Returns the rows
    of :func:`unerlib.evaluation.evaluate_sets` with ``passages`` and ``adapter``."""
    import pandas as pd

    from .evaluation import evaluate_sets
    from .experiments import build_student

    p = run.params
    frames = []
    for size in sizes:
        data_path = run.teacher_data(size, progress=progress, root=root)
        adapter = build_student(data_path, negatives=p["negatives"], n_negatives=p["n_negatives"], seed=p["seed"],
                                progress=progress, root=root, **run.train_options())
        scores = evaluate_sets(p["student"], adapter, limit=limit, progress=progress, root=root,
                               **run.inference_options())
        frames.append(scores.assign(passages=size, adapter=adapter.name))
    return pd.concat(frames, ignore_index=True)


def scaling_table(long, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
    """One row per size: passages, the student, its seven-set average F1 with the 95%
    interval (``avg``, ``low``, ``high`` and as text)."""
    import pandas as pd

    from .intervals import average_interval

    rows = []
    for size, group in long.groupby("passages", sort=True):
        est = average_interval(group, "f1", n_resamples, seed)
        rows.append({"passages": int(size), "student": group["adapter"].iloc[0], "avg": est.value,
                     "low": est.low, "high": est.high, "average F1": str(est)})
    return pd.DataFrame(rows)


def step_differences(long, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
    """The paired difference of each size against the next smaller one (same sentences)."""
    import pandas as pd

    from .intervals import paired
    from .stats import verdict

    sizes = sorted(long["passages"].unique())
    rows = []
    for small, big in zip(sizes, sizes[1:]):
        est = paired(long[long.passages == big], long[long.passages == small], "f1", n_resamples, seed)
        rows.append({"step": f"{small} -> {big}", "difference": est.value, "low": est.low, "high": est.high,
                     "verdict": {"supported": "more data helps", "contradicted": "more data hurts",
                                 "not resolved at this size": "not resolved at this size"}[verdict(est)]})
    return pd.DataFrame(rows, columns=["step", "difference", "low", "high", "verdict"])
