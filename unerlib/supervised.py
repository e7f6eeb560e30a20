"""Supervised multi-task training (the paper's in-domain table): gold passages of the train
splits as Pile-NER-type records, cached, and our scores beside the paper's."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from .artifacts import artifact_dir, is_done, mark_done
#: the paper's in-domain supervised table and its dataset names in our registry (the numbers
#: live in :mod:`unerlib.paper`; re-exported here for the notebooks and tests)
from .paper import PAPER_SUPERVISED, PAPER_SUPERVISED_SOURCE, PAPER_SUPERVISED_SYSTEMS, PAPER_TO_REGISTRY  # noqa: F401
from .registry import REGISTRY, dataset_role, load_dataset
from .student import EMBEDDED

def supervised_sets(spec: str | Sequence[str] = "all") -> list[str]:
    """Registered datasets with both a ``train`` and a ``test`` split (duplicates of another
    corpus left out), in the paper's domain order; ``spec`` is ``"all"`` or a comma list."""
    from .experiments import select_datasets
    from .registry import DOMAINS

    names = [n for d in DOMAINS for n, s in REGISTRY.items()
             if s.domain == d and "train" in s.splits and "test" in s.splits and dataset_role(n) != "duplicate"]
    return select_datasets(spec, names, "supervised training (datasets with train and test splits)")


def supervised_record(record, types: Sequence[str], source: str, rng) -> dict[str, Any]:
    """One gold-labelled passage as a Pile-NER-type record: every type of its dataset is
    asked (in an order shuffled by ``rng``), answered with its gold entities or ``[]``."""
    from .convert import conversation, gold_answer
    from .instructions import ACK

    order = list(types)
    rng.shuffle(order)
    turns = [{"from": "human", "value": f"Text: {record.text}"}, {"from": "gpt", "value": ACK}]
    for typ in order:
        turns.extend(conversation("", record.text, typ, gold_answer(record, typ))["conversations"][2:])
    return {"id": record.id, "source": source, "teacher": "gold (supervised)", "conversations": turns}


def sample_supervised(name: str, n: int, seed: int = 0, max_tokens: int = 128, count_tokens=None,
                      exclude_texts: set[str] | None = None,
                      root: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Up to ``n`` passages of a dataset's train split with at least one mention, chunked
    to ``max_tokens``, drawn with ``seed``, none equal (case and spacing folded) to a text
    of ``exclude_texts``; as Pile-NER-type records (see :func:`supervised_record`)."""
    import random

    from .construct import chunk_record, whitespace_tokens
    from .registry import dataset_types

    records = load_dataset(name, "train", root)
    types = dataset_types(name, records)
    count = count_tokens or whitespace_tokens
    rng = random.Random(f"{seed}:{name}")
    chunks = [c for r in records for c in chunk_record(r, max_tokens, count)]
    rng.shuffle(chunks)
    excluded = exclude_texts or set()
    seen: set[str] = set()
    out = []
    for rec in chunks:
        key = " ".join(rec.text.split()).lower()
        if not rec.mentions or not key or key in seen or key in excluded:
            continue
        seen.add(key)
        out.append(supervised_record(rec, types, name, rng))
        if len(out) >= n:
            break
    return out


def build_supervised_data(datasets: Sequence[str], passages_per_dataset: int = 50, seed: int = 0,
                          max_tokens: int = 128, student: str = EMBEDDED, progress: bool = True,
                          root: str | os.PathLike | None = None,
                          data_root: str | os.PathLike | None = None) -> tuple[Path, dict[str, Any]]:
    """Gold training data from the train splits of ``datasets`` in the Pile-NER-type schema,
    cached under ``artifacts/supervised_data/`` by its parameters.

    Returns the path of ``data.json`` (the input of :func:`build_student`) and a summary:
    passages, entities and types overall and ``by_dataset``. Passages equal to a sentence
    of one of the datasets' test splits are left out.
    """
    from tqdm.auto import tqdm

    datasets = supervised_sets(datasets)
    if passages_per_dataset < 1:
        raise ValueError(f"passages_per_dataset must be at least 1, not {passages_per_dataset}")
    params = {"datasets": list(datasets), "passages_per_dataset": passages_per_dataset, "seed": seed,
              "max_tokens": max_tokens, "student": student}
    folder = artifact_dir("supervised_data", params, root)
    if not is_done(folder):
        from .experiments import token_counter

        count = token_counter(student)
        data, by_dataset, all_types = [], {}, set()
        for name in tqdm(datasets, desc="supervised data", unit="dataset", disable=not progress):
            tests = {" ".join(r.text.split()).lower() for r in load_dataset(name, "test", data_root)}
            items = sample_supervised(name, passages_per_dataset, seed, max_tokens, count, tests, data_root)
            answers = [json.loads(a["value"]) for item in items for a in item["conversations"][3::2]]
            types = {q["value"] for item in items for q in item["conversations"][2::2]}
            by_dataset[name] = {"passages": len(items), "entities": sum(len(a) for a in answers),
                                "questions": len(answers), "types": len(types)}
            all_types |= types
            data.extend(items)
        summary = {"passages": len(data), "entities": sum(v["entities"] for v in by_dataset.values()),
                   "types": len(all_types), "by_dataset": by_dataset}
        from .artifacts import write_json_atomic

        write_json_atomic(folder / "data.json", data, ensure_ascii=False)
        write_json_atomic(folder / "summary.json", summary, indent=1)
        mark_done(folder)
    return folder / "data.json", json.loads((folder / "summary.json").read_text())


def supervised_comparison(scores, system: str = "ours"):
    """The paper's supervised table beside our scores: one row per dataset of the paper
    (its order) then each of ours it lacks; columns ``BERT-base``, ``InstructUIE-11B``,
    ``UniNER-7B`` (the paper's F1), ``{system} F1`` (official metric) and ``{system} span F1``.
    Cells without a score are NaN; ``registry`` names our corpus where there is one."""
    import pandas as pd

    ours = scores.set_index("dataset")
    to_paper = {v: k for k, v in PAPER_TO_REGISTRY.items()}
    rows = []
    for paper_name, values in PAPER_SUPERVISED.items():
        reg = PAPER_TO_REGISTRY.get(paper_name)
        row = {"dataset": paper_name, "registry": reg or "", **dict(zip(PAPER_SUPERVISED_SYSTEMS, values))}
        row[f"{system} F1"] = float(ours["f1"][reg]) if reg in ours.index else float("nan")
        row[f"{system} span F1"] = float(ours["span_f1"][reg]) if reg in ours.index else float("nan")
        rows.append(row)
    for reg in ours.index:
        if reg not in to_paper:
            rows.append({"dataset": reg, "registry": reg, **{s: float("nan") for s in PAPER_SUPERVISED_SYSTEMS},
                         f"{system} F1": float(ours["f1"][reg]), f"{system} span F1": float(ours["span_f1"][reg])})
    table = pd.DataFrame(rows)
    if "f1_low" in ours.columns:  # our F1 with its 95% interval, as text for reading
        from .stats import Estimate

        for m, name in (("f1", "F1"), ("span_f1", "span F1")):
            table[f"{system} {name} ± 95%"] = [str(Estimate(ours[m][r], ours[f"{m}_low"][r], ours[f"{m}_high"][r]))
                                               if r in ours.index else "" for r in table["registry"]]
    return table


def comparison_long(comparison, system: str = "ours", rows: str = "ours"):
    """The comparison table as long rows (dataset, system, f1) for
    :func:`unerlib.plots.plot_scores`: the datasets we score (``rows="ours"``), those both
    the paper and we score (``"shared"``) or all (``"all"``); missing scores stay NaN."""
    import pandas as pd

    columns = [*PAPER_SUPERVISED_SYSTEMS, f"{system} F1"]
    keep = {"ours": comparison[f"{system} F1"].notna(), "shared": comparison[columns].notna().all(axis=1),
            "all": comparison["dataset"].notna()}
    if rows not in keep:
        raise ValueError(f"rows must be one of {sorted(keep)}, not {rows!r}")
    table = comparison[keep[rows]]
    out = [{"dataset": r["dataset"], "system": c.replace(" F1", ""), "f1": r[c]}
           for _, r in table.iterrows() for c in columns]
    return pd.DataFrame(out, columns=["dataset", "system", "f1"])
