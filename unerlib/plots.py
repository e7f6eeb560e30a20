"""Figures for the report: titled, labelled, one idea each (matplotlib)."""

from __future__ import annotations

import matplotlib.pyplot as plt


def plot_domains(domains, title: str = "Shared NER data by domain"):
    """Horizontal bars of mentions per domain (log scale), the dataset count at each bar;
    a domain without data is marked "no data" rather than dropped."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    order = domains.iloc[::-1]
    values = [max(v, 0) for v in order["mentions"]]
    bars = ax.barh(order["domain"], [v if v > 0 else 1 for v in values],
                   color=["tab:blue" if has else "lightgrey" for has in order["has data"]])
    for bar, n, has in zip(bars, order["datasets"], order["has data"]):
        label = f"{n} dataset{'s' if n != 1 else ''}" if has else "no data"
        ax.text(bar.get_width() * 1.08, bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("entity mentions (all splits, log scale)")
    ax.set_ylabel("domain")
    ax.set_title(title)
    ax.set_xlim(1, max(values + [10]) * 20)
    fig.tight_layout()
    return fig
