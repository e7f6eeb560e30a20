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
    """Mentions per type against the type's frequency rank, on log-log axes; ``counts`` is
    one Counter, or a dict of named Counters (one series each, e.g. source mixes)."""
    series = counts if counts and all(hasattr(v, "values") for v in counts.values()) else {"": counts}
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, one in series.items():
        freqs = sorted(one.values(), reverse=True)
        ax.loglog(range(1, len(freqs) + 1), freqs, marker=".", linestyle="none", label=name or None)
    if len(series) > 1:
        ax.legend()
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


def error_bars(sub, keys, value: str = "f1"):
    """``yerr`` for bars of ``sub`` (indexed by ``keys``): the distances from ``value`` to
    ``{value}_low`` and ``{value}_high``, or None when the table has no interval."""
    import numpy as np

    if f"{value}_low" not in sub.columns:
        return None
    rows = [(sub[value][k] - sub[f"{value}_low"][k], sub[f"{value}_high"][k] - sub[value][k])
            if k in sub.index else (np.nan, np.nan) for k in keys]
    return np.clip(np.array(rows, dtype=float).T, 0, None)


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
        ax.bar(x + k * width - 0.4 + width / 2, vals, width, label=system,
               yerr=error_bars(sub, groups, value), capsize=2, error_kw={"elinewidth": 0.8})
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylabel(ylabel + (" with 95% intervals" if f"{value}_low" in table.columns else ""))
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_ablation(ours, paper, title: str = "Negative sampling: zero-shot F1 by strategy", intervals=None):
    """Two panels of grouped bars (one group per set plus the average, one bar per
    strategy): the paper's UniNER-7B rows and ours. Both tables: index strategy, columns the
    paper's set names and ``Avg``. ``intervals`` (columns strategy, column, low, high) adds
    95% error bars to ours."""
    import numpy as np

    columns = list(paper.columns)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, table, name in zip(axes, (paper, ours), ("paper (UniNER-7B)", "ours")):
        strategies = list(table.index)
        width = 0.8 / max(len(strategies), 1)
        x = np.arange(len(columns))
        for k, strategy in enumerate(strategies):
            vals = [table.loc[strategy, c] for c in columns]
            yerr = None
            if intervals is not None and name == "ours":
                iv = intervals[intervals.strategy == strategy].set_index("column")
                yerr = np.clip(np.array([(v - iv["low"][c], iv["high"][c] - v) for v, c in zip(vals, columns)]).T, 0, None)
            ax.bar(x + k * width - 0.4 + width / 2, vals, width, label=strategy, yerr=yerr, capsize=2,
                   error_kw={"elinewidth": 0.8})
        ax.set_xticks(x)
        ax.set_xticklabels(columns, rotation=30, ha="right")
        ax.set_title(name)
        ax.set_xlabel("zero-shot set")
    axes[0].set_ylabel("F1 (%)")
    axes[1].legend(title="negatives", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_summary(summary, references: dict[str, float] | None = None,
                 title: str = "Seven-set average F1 of every student on record"):
    """Horizontal bars of ``Avg`` per student (with its 95% interval where the summary has
    ``Avg low``/``Avg high``), with published averages as dashed lines."""
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * len(summary) + 1.5)))
    labels = [f"{s} (limit {lim})" for s, lim in zip(summary["student"], summary["limit"])]
    xerr = None
    if "Avg low" in summary.columns and summary["Avg low"].notna().all():
        xerr = [(summary["Avg"] - summary["Avg low"]).clip(lower=0), (summary["Avg high"] - summary["Avg"]).clip(lower=0)]
    ax.barh(labels, summary["Avg"], color="tab:blue", xerr=xerr, capsize=3)
    for k, (name, value) in enumerate((references or {}).items()):
        ax.axvline(value, linestyle="--", color=f"C{k + 1}", label=f"{name} {value:.1f}")
    ax.set_xlabel("average F1 over the seven zero-shot sets (%)")
    ax.set_ylabel("student")
    ax.set_title(title)
    if references:
        ax.legend(fontsize=8, loc="lower right")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def plot_run_times(times, title: str = "Wall-clock time per notebook"):
    """Horizontal bars of seconds per notebook of the latest report run."""
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.4 * len(times) + 1.5)))
    ax.barh(times["notebook"], times["seconds"] / 60, color="tab:gray")
    ax.set_xlabel("minutes")
    ax.set_ylabel("notebook")
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def plot_domain_scores(domains, value: str = "f1", title: str = "Zero-shot F1 by domain (official metric)",
                       ylabel: str = "mean F1 over the domain's datasets (%)"):
    """Grouped bars, one group per domain of the paper and one bar per system; a domain
    without data is labelled "no data" instead of being dropped."""
    import numpy as np

    groups = list(dict.fromkeys(domains["domain"]))
    systems = list(dict.fromkeys(domains["system"]))
    width = 0.8 / max(len(systems), 1)
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(groups) + 2), 4))
    x = np.arange(len(groups))
    for k, system in enumerate(systems):
        sub = domains[domains["system"] == system].set_index("domain")
        vals = [float(sub[value][g]) if g in sub.index else np.nan for g in groups]
        ax.bar(x + k * width - 0.4 + width / 2, vals, width, label=system,
               yerr=error_bars(sub, groups, value), capsize=2, error_kw={"elinewidth": 0.8})
    has = domains.groupby("domain", sort=False)["has data"].any()
    top = np.nanmax(domains[value].to_numpy(dtype=float)) if domains[value].notna().any() else 0.0
    for i, g in enumerate(groups):
        if not has.get(g, False):
            ax.text(i, max(top, 1.0) * 0.05, "no data", ha="center", va="bottom", rotation=90,
                    fontsize=8, color="grey")
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.set_ylim(0, max(top * 1.15, 5.0))
    ax.set_xlabel("domain")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_entity_counts(entities, types, title: str = "Entities found per type"):
    """Horizontal bars: entity occurrences found in the passage for each type asked
    (types with none found are shown at zero)."""
    from matplotlib.ticker import MaxNLocator

    counts = entities["type"].value_counts() if len(entities) else {}
    values = [int(counts.get(t, 0)) for t in types]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(types) + 1.3))
    ax.barh(list(types)[::-1], values[::-1], color="tab:purple")
    ax.set_xlabel("occurrences in the passage")
    ax.set_ylabel("entity type")
    ax.set_title(title)
    ax.set_xlim(0, max(values + [1]) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def plot_scaling(table, title: str = "Seven-set average F1 against teacher passages"):
    """Average F1 with its 95% interval against the number of teacher passages (log x)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(table["passages"], table["avg"], yerr=[(table["avg"] - table["low"]).clip(lower=0),
                                                       (table["high"] - table["avg"]).clip(lower=0)],
                marker="o", capsize=4)
    ax.set_xscale("log")
    ax.set_xticks(list(table["passages"]))
    ax.set_xticklabels([str(p) for p in table["passages"]])
    ax.set_xlabel("teacher passages (log scale)")
    ax.set_ylabel("average F1 over the seven sets (%), 95% interval")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_campaign(table, title: str = "Validation average F1 per configuration"):
    """Left: each configuration's validation average F1 with its 95% interval; right: its
    share of empty answers beside gold's (the share of questions whose answer is ``[]``)."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    y = range(len(table))
    ax.errorbar(table["F1"], y, xerr=[(table["F1"] - table["F1 low"]).clip(lower=0),
                                      (table["F1 high"] - table["F1"]).clip(lower=0)], fmt="o", capsize=4)
    ax.set_yticks(list(y))
    ax.set_yticklabels(table["config"])
    ax.invert_yaxis()
    ax.set_xlabel("validation average F1 (%), 95% interval")
    ax.set_title(title)
    bx.barh([i - 0.2 for i in y], table["empty answers %"], height=0.4, label="student")
    bx.barh([i + 0.2 for i in y], table["gold empty %"], height=0.4, label="gold")
    bx.set_yticks(list(y))
    bx.set_yticklabels(table["config"])
    bx.invert_yaxis()
    bx.set_xlabel("answers that are [] (% of questions)")
    bx.set_title("Saying 'none': student against gold")
    bx.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_empty_auc(table, title: str = "Does the student's 'none' depend on the type?"):
    """Each configuration's AUC of its empty-answer probability against gold emptiness, with
    its 95% interval; 0.5 (chance) marked."""
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(table) + 1.5))
    y = range(len(table))
    ax.errorbar(table["AUC"], y, xerr=[(table["AUC"] - table["AUC low"]).clip(lower=0),
                                       (table["AUC high"] - table["AUC"]).clip(lower=0)], fmt="o", capsize=4)
    ax.axvline(0.5, color="grey", linestyle="--", label="chance")
    ax.set_yticks(list(y))
    ax.set_yticklabels(table["config"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("AUC of P(empty answer) against gold's empty answers, 95% interval")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
