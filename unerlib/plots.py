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


def plot_sources(by_source: dict[str, int], title: str = "Teacher passages by source"):
    """Horizontal bars: passages each source contributed to the instruction data."""
    items = sorted(by_source.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(items) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color="tab:green")
    ax.set_xlabel("passages with at least one entity")
    ax.set_ylabel("source")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_rank_frequency(counts, title: str = "Entity types: rank against frequency"):
    """Mentions per type against the type's frequency rank, on log-log axes."""
    freqs = sorted(counts.values(), reverse=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(range(1, len(freqs) + 1), freqs, marker=".", linestyle="none")
    ax.set_xlabel("type rank (log)")
    ax.set_ylabel("mentions of the type (log)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_loss(curve, title: str = "Training loss (answer tokens only)"):
    """The training loss per optimizer step."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(curve["step"], curve["loss"], marker="o", markersize=3)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_scores(table, value: str = "f1", group: str = "dataset", hue: str = "system",
                title: str = "Zero-shot F1 (official metric)", ylabel: str = "F1 (%)"):
    """Grouped bars: one group per dataset (or domain), one bar per system."""
    import numpy as np

    groups = list(dict.fromkeys(table[group]))
    systems = list(dict.fromkeys(table[hue]))
    width = 0.8 / max(len(systems), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(groups) + 2), 4))
    x = np.arange(len(groups))
    for k, system in enumerate(systems):
        sub = table[table[hue] == system].set_index(group)
        vals = [float(sub[value].get(g, np.nan)) if g in sub.index else np.nan for g in groups]
        ax.bar(x + k * width - 0.4 + width / 2, vals, width, label=system)
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
