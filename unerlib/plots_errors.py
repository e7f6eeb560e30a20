"""Figures of the error-analysis chapter (notebook 10): titled, labelled, one idea each."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .errors import ERROR_KINDS

#: One colour per error kind, fixed so every figure reads the same.
KIND_COLOURS: dict[str, str] = {"wrong type": "tab:purple", "wrong boundary": "tab:orange",
                                "hallucinated": "tab:red", "spurious": "tab:olive", "missed": "tab:gray"}


def plot_error_kinds(counts, share: bool = True, title: str = "Errors of the tuned student by kind"):
    """Horizontal stacked bars, one per set (rows of :func:`unerlib.errors.error_counts`),
    one segment per error kind: the share of that set's errors (``share``) or the count.
    The number of errors is written at the end of each bar."""
    import numpy as np

    sets = list(counts.index)
    totals = counts[list(ERROR_KINDS)].sum(axis=1).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(sets) + 1.8))
    left = np.zeros(len(sets))
    for kind in ERROR_KINDS:
        vals = counts[kind].to_numpy(dtype=float)
        if share:
            vals = np.divide(100 * vals, totals, out=np.zeros_like(vals), where=totals > 0)
        ax.barh(sets, vals, left=left, color=KIND_COLOURS[kind], label=kind)
        left += vals
    end = left.max() if len(left) and left.max() > 0 else 1.0
    for y, (x, n) in enumerate(zip(left, totals)):
        ax.text(x + end * 0.01, y, f"{int(n)}", va="center", fontsize=8)
    ax.set_xlim(0, end * 1.1)
    ax.set_xlabel(("share of the set's errors (%)" if share else "errors (entities)")
                  + "; the number of errors at each bar's end")
    ax.set_ylabel("zero-shot set")
    ax.set_title(title)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, title="kind")
    fig.tight_layout()
    return fig


def plot_type_intervals(types, title: str = "The weakest entity types: F1 with 95% bootstrap intervals"):
    """Horizontal points with error bars, one row per (set, type) of ``types`` (rows of
    :func:`unerlib.errors.type_scores_with_intervals` with a ``dataset`` column), labelled
    with the type, its set and its gold count, in the table's order from the top."""
    import numpy as np

    labels = [f"{t} ({d}, {g} gold)" for t, d, g in zip(types["type"], types["dataset"], types["gold"])]
    f1 = types["f1"].to_numpy(dtype=float)
    low = np.clip(f1 - types["f1_low"].to_numpy(dtype=float), 0, None)
    high = np.clip(types["f1_high"].to_numpy(dtype=float) - f1, 0, None)
    y = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.5))
    ax.errorbar(f1, y, xerr=[low, high], fmt="o", color="tab:blue", ecolor="tab:gray", capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlim(-2, 102)
    ax.set_xlabel("F1 (%), official metric, with its 95% interval over resampled sentences")
    ax.set_ylabel("entity type (set, gold entities)")
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig
