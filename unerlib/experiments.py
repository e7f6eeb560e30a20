"""The report's stages, each cached under the artifacts directory by its parameters:
teacher data, tuned students, zero-shot evaluations. Notebooks and the CLI call these, so
two notebooks asking for the same thing build it once."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from .artifacts import artifact_dir, is_done, mark_done
from .registry import REGISTRY, TEACHER_SOURCES, dataset_role, load_dataset, source_weight, split_weights
from .student import EMBEDDED


def evaluation_texts(root: str | os.PathLike | None = None) -> set[str]:
    """Every sentence of every evaluation dataset (zero-shot, validation and evaluation-only, all
    splits), for keeping them out of the teacher data."""
    texts = set()
    for name, spec in REGISTRY.items():
        if dataset_role(name) in ("zero-shot", "validation", "evaluation", "duplicate"):
            for split in spec.splits:
                texts.update(r.text for r in load_dataset(name, split, root))
    return texts


def token_counter(model: str = EMBEDDED):
    """A function counting the student tokenizer's tokens in a text."""
    from .student import load_tokenizer

    tok = load_tokenizer(model)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def build_teacher_data(teacher: str = "corpus", n_passages: int = 2000, seed: int = 0, max_tokens: int = 256,
                       sources: Sequence[str] = TEACHER_SOURCES, teacher_model: str | None = None,
                       base_url: str | None = None, student: str = EMBEDDED, progress: bool = True,
                       root: str | os.PathLike | None = None,
                       data_root: str | os.PathLike | None = None,
                       build: bool = True, max_failure_share: float | None = 0.05,
                       price_in: float = 0.0, price_out: float = 0.0) -> tuple[Path, dict[str, Any]]:
    """Sample passages, annotate them with a teacher, save Pile-NER-type data (cached).

    Returns the path of ``data.json`` and the construction summary. The key holds the
    parameters and a content hash of every input (the source corpora's files, a ``file:``
    source's bytes, the evaluation files kept out). The OpenAI teacher's responses are also
    cached per request in ``artifacts/teacher_cache.sqlite``. The artifact is marked done
    only when every passage has an answer or a recorded refusal: otherwise ``data.json``
    holds what was answered and the next call asks the teacher again for the rest only.
    Above ``max_failure_share`` passages without an answer it raises
    :class:`unerlib.construct.ConstructionError`. With ``build=False`` a missing artifact is
    an error instead of being built. ``price_in``/``price_out`` (per million tokens) only
    feed the summary's cost.
    """
    from .artifacts import artifacts_root, building, file_digest, write_json_atomic
    from .construct import construct, sample_passages, source_digest
    from .registry import dataset_files
    from .teacher import make_teacher

    import hashlib

    excluded = hashlib.sha256()
    for name, spec in REGISTRY.items():
        if dataset_role(name) in ("zero-shot", "validation", "evaluation", "duplicate"):
            for split in spec.splits:
                for path in dataset_files(name, split, data_root):
                    digest = file_digest(path) if path.is_file() else "missing"
                    excluded.update(f"{name}:{split}:{digest}\n".encode())
    params = {"teacher": teacher, "n_passages": n_passages, "seed": seed, "max_tokens": max_tokens,
              "sources": list(sources), "teacher_model": teacher_model, "base_url": base_url, "student": student,
              "inputs": {src: source_digest(source_weight(src)[0], data_root) for src in sources},
              "excluded": excluded.hexdigest()}
    folder = artifact_dir("teacher_data", params, root)
    if not is_done(folder):
        _require_built(folder, "teacher data", build)
        with building(folder, all_ranks=True):
            if not is_done(folder):  # another process may have built it while we waited
                names, weights = split_weights(sources)
                passages = sample_passages(names, n_passages, seed=seed, max_tokens=max_tokens,
                                           count_tokens=token_counter(student),
                                           exclude_texts=evaluation_texts(root=data_root),
                                           root=data_root, weights=weights)
                kwargs: dict[str, Any] = {}
                if teacher == "openai":
                    kwargs = {"model": teacher_model, "base_url": base_url,
                              "cache": artifacts_root(root) / "teacher_cache.sqlite",
                              "price_input_per_m": price_in, "price_output_per_m": price_out}
                data, summary = construct(passages, make_teacher(teacher, **kwargs), progress=progress,
                                          max_failure_share=max_failure_share)
                write_json_atomic(folder / "data.json", data, ensure_ascii=False)
                write_json_atomic(folder / "summary.json", summary.as_dict(), indent=1)
                if summary.complete:
                    mark_done(folder)
                else:
                    import warnings

                    warnings.warn(f"teacher data {folder}: {summary.failed} of {summary.sent} passages got no "
                                  f"answer (first: {'; '.join(summary.first_errors)}); the artifact is not marked "
                                  f"done, run again to ask the teacher for them", stacklevel=2)
    return folder / "data.json", json.loads((folder / "summary.json").read_text())


def build_student(data_path: str | os.PathLike, negatives: str = "frequency", n_negatives: int = 2,
                  seed: int = 0, merge_type_variants: bool = True, lowercase: float = 0.0, titlecase: float = 0.0,
                  progress: bool = True,
                  root: str | os.PathLike | None = None, build: bool = True, **train_options: Any) -> Path:
    """Conversations with negative sampling, tokenized, then a tuned student (cached).

    ``train_options`` are :class:`unerlib.train.TrainConfig` fields; ``lowercase`` the share
    of conversations written in lower case (:func:`unerlib.instructions.lowercase_share`), ``titlecase``
    the share asking their types in title case (:func:`unerlib.instructions.titlecase_share`). The key holds the
    sha256 of the data file's bytes (two files in one folder give two students) and the
    format version of students. Returns the adapter (or model) directory; a killed run
    resumes from its checkpoints; a second process waits for the first and reuses its
    student. Under ``accelerate launch`` every rank trains and rank 0 alone writes. With
    ``build=False`` a student not trained yet is an error (for notebooks that reuse
    notebook 03's).
    """
    from .artifacts import building, file_digest, is_main_process
    from .construct import load_pile_ner
    from .instructions import build_conversations, check_share, lowercase_share, titlecase_share, tokenize_conversation
    from .student import load_student
    from .hardware import bf16_training
    from .train import TrainConfig, config_key, train, train_device
    from .typefreq import merge_variants, type_counts

    config = TrainConfig(seed=seed, **train_options)
    # bf16 autocast only where the hardware makes it fast (float32 elsewhere): the key says which ran
    config = replace(config, bf16=config.bf16 and bf16_training(train_device()))
    for share in (lowercase, titlecase):  # before the artifact is keyed
        check_share(share)
    data_path = Path(data_path)
    if not data_path.is_file():
        from .data import DataError

        raise DataError(f"instruction data not found: {data_path}")
    data_key = file_digest(data_path)
    params = {"data": data_key, "negatives": negatives, "n_negatives": n_negatives,
              "merge_type_variants": merge_type_variants, "train": config_key(config),
              **({"lowercase": lowercase} if lowercase else {}),  # students cached before an option keep their key
              **({"titlecase": titlecase} if titlecase else {})}
    folder = artifact_dir("students", params, root)
    if is_done(folder):
        return folder
    _require_built(folder, "tuned student", build)
    with building(folder):
        if is_done(folder):  # built by another process while we waited
            return folder
        data = load_pile_ner(data_path)
        tmap = merge_variants(type_counts(data)) if merge_type_variants else None
        convs = build_conversations(data, negatives, n_negatives, seed, tmap)
        if lowercase:
            convs = lowercase_share(convs, lowercase, seed)
        if titlecase:
            convs = titlecase_share(convs, titlecase, seed)
        student = load_student(config.model, device=train_device())
        examples = [p for c in convs
                    for p in tokenize_conversation(student.tokenizer, c, config.max_length, config.train_ack)]
        note = (f"Data: {len(data)} passages of teacher data `{data_path.name}` (sha256 {data_key[:12]}), "
                f"negatives `{negatives}` ({n_negatives} per passage)"
                + (f", {lowercase:.0%} of the conversations in lower case" if lowercase else "")
                + (f", {titlecase:.0%} asking their types in title case" if titlecase else "") + ".")
        train(config, examples, folder, student=student, progress=progress, data_note=note)
        if is_main_process():
            mark_done(folder)
    return folder


def _require_built(folder: Path, what: str, build: bool) -> None:
    """Raise when an artifact is missing and may not be built here."""
    if not build:
        from .data import DataError

        raise DataError(f"no cached {what} for these parameters ({folder}); run notebook 03_training "
                        f"with the same parameters first (this notebook reuses it and never trains)")


from .evaluation import evaluate_sets, score_predictions  # noqa: E402,F401  (the evaluation stage lives there)


# --------------------------------------------------------------------------- domain breakdown


def select_datasets(spec: str | Sequence[str], allowed: Sequence[str], purpose: str) -> list[str]:
    """``"all"`` (every name of ``allowed``, in its order) or a comma list of names, each
    checked: an unregistered name, or one not in ``allowed``, is a :class:`DataError`
    listing the valid names."""
    from .data import DataError

    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else [str(n).strip() for n in spec]
    names = [n for n in names if n]
    if names == ["all"]:
        return list(allowed)
    if not names:
        raise DataError(f"no dataset given for {purpose}; use 'all' or a comma list of: {', '.join(allowed)}")
    for name in names:
        if name not in REGISTRY:
            raise DataError(f"unknown dataset {name!r}; valid for {purpose}: {', '.join(allowed)}")
        if name not in allowed:
            raise DataError(f"dataset {name!r} ({dataset_role(name)}) is not valid for {purpose}; "
                            f"valid: {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def zero_shot_sets(spec: str | Sequence[str] = "all") -> list[str]:
    """Registered datasets that are not a training source of the student (the roles
    ``zero-shot`` and ``evaluation``), in the paper's domain order; ``spec`` is ``"all"`` or
    a comma list of them."""
    from .registry import DOMAINS

    names = [n for d in DOMAINS for n, s in REGISTRY.items()
             if s.domain == d and dataset_role(n) in ("zero-shot", "evaluation")]
    return select_datasets(spec, names, "the zero-shot breakdown (datasets no student trains on)")


def with_domains(scores):
    """``scores`` (rows of :func:`evaluate_sets`, with a ``system`` column) plus each
    dataset's ``domain`` and ``role``."""
    return scores.assign(domain=[REGISTRY[n].domain for n in scores["dataset"]],
                         role=[dataset_role(n) for n in scores["dataset"]])


def _with_interval_text(table, values: Sequence[str]):
    """``table`` with each metric of ``values`` as ``F1 ± half-width`` text where its
    ``_low``/``_high`` columns exist (NaN stays NaN)."""
    from .stats import Estimate

    table = table.copy()
    for v in values:
        if f"{v}_low" in table.columns:
            table[v] = [str(Estimate(x, lo, hi)) if x == x else x
                        for x, lo, hi in zip(table[v], table[f"{v}_low"], table[f"{v}_high"])]
    return table


def dataset_breakdown(scores, values: Sequence[str] = ("f1", "span_f1"), intervals: bool = False):
    """One row per dataset (domain order), one column per (metric, system): e.g.
    ``f1 tuned``, ``span_f1 untuned``; with ``intervals``, cells read ``F1 ± half-width``."""
    table = with_domains(scores)
    if intervals:
        table = _with_interval_text(table, values)
    wide = table.pivot_table(index=["domain", "dataset"], columns="system", values=list(values), sort=False,
                             aggfunc="first")
    wide.columns = [f"{metric} {system}" for metric, system in wide.columns]
    return wide.reset_index()


def domain_breakdown(scores, values: Sequence[str] = ("f1", "span_f1")):
    """Long table, one row per (domain, system) for every domain of the paper: the mean of
    the per-dataset scores, the number of datasets and their names. A domain without data
    keeps its rows, with NaN scores, 0 datasets and ``has data`` False."""
    import pandas as pd

    from .registry import DOMAINS

    table = with_domains(scores)
    systems = list(dict.fromkeys(table["system"]))
    rows = []
    for domain in DOMAINS:
        for system in systems:
            sub = table[(table["domain"] == domain) & (table["system"] == system)]
            row = {"domain": domain, "system": system, "datasets": len(sub),
                   "dataset names": ", ".join(sub["dataset"]), "has data": not sub.empty}
            row.update({v: float(sub[v].mean()) if not sub.empty else float("nan") for v in values})
            if "f1_low" in sub.columns:  # intervals: the domain's datasets resampled one by one
                from .intervals import average_interval

                for v in values:
                    est = average_interval(sub, v) if not sub.empty else None
                    row[f"{v}_low"] = est.low if est else float("nan")
                    row[f"{v}_high"] = est.high if est else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def domain_summary(domains, values: Sequence[str] = ("f1", "span_f1")):
    """The per-domain table for reading: one row per domain, its datasets, then one column
    per (metric, system), ``F1 ± half-width`` where the table has intervals; missing
    domains keep their row (NaN)."""
    domains = _with_interval_text(domains, values)
    wide = domains.pivot_table(index="domain", columns="system", values=list(values), sort=False, dropna=False,
                               aggfunc="first")
    wide.columns = [f"{metric} {system}" for metric, system in wide.columns]
    first = domains.drop_duplicates("domain").set_index("domain")[["datasets", "dataset names"]]
    return first.join(wide).reindex(list(dict.fromkeys(domains["domain"]))).reset_index()


def weakest_datasets(scores, system: str = "tuned", n: int = 3, value: str = "f1") -> list[str]:
    """The ``n`` datasets on which ``system`` scores lowest (ties by name)."""
    sub = scores[scores["system"] == system]
    if sub.empty:
        raise ValueError(f"no rows for system {system!r}; systems: {sorted(set(scores['system']))}")
    return list(sub.sort_values([value, "dataset"])["dataset"].head(n))


def type_breakdown(scores, datasets: Sequence[str], system: str = "tuned"):
    """Per-type official scores of ``system`` on ``datasets``, read from the cached
    ``metrics.json`` of each evaluation: questions, gold and predicted entities, P/R/F1 (%)."""
    import pandas as pd

    sub = scores[(scores["system"] == system) & scores["dataset"].isin(list(datasets))]
    rows = []
    for _, row in sub.iterrows():
        folder = Path(row["predictions"]).parent
        metrics = json.loads((folder / "metrics.json").read_text())
        intervals = {}
        if "f1_low" in sub.columns:  # an evaluate_sets row: per-type intervals from its answers
            from .errors import load_evaluation, type_scores_with_intervals

            limit = json.loads((folder / "params.json").read_text())["limit"]
            questions, raws, _ = load_evaluation(row["dataset"], row["predictions"], limit)
            intervals = type_scores_with_intervals(questions, raws).set_index("type")
        for typ, m in metrics.get("by_type", {}).items():
            rows.append({"dataset": row["dataset"], "type": typ, "questions": m["n"], "gold": m["n_gold"],
                         "predicted": m["n_pred"], "precision": 100 * m["precision"],
                         "recall": 100 * m["recall"], "f1": 100 * m["f1"],
                         **({"f1_low": intervals["f1_low"][typ], "f1_high": intervals["f1_high"][typ]}
                            if len(intervals) else {})})
    columns = ["dataset", "type", "questions", "gold", "predicted", "precision", "recall", "f1"]
    columns += ["f1_low", "f1_high"] if rows and "f1_low" in rows[0] else []
    table = pd.DataFrame(rows, columns=columns)
    order = {name: i for i, name in enumerate(datasets)}
    return table.sort_values(["dataset", "f1", "type"], key=lambda c: c.map(order) if c.name == "dataset" else c,
                             ).reset_index(drop=True)


# the supervised stage moved to :mod:`unerlib.supervised`; its names stay importable from here
from .paper import PAPER_SUPERVISED, PAPER_SUPERVISED_SOURCE, PAPER_SUPERVISED_SYSTEMS, PAPER_TO_REGISTRY  # noqa: E402,F401
from .supervised import (build_supervised_data, comparison_long, sample_supervised, supervised_comparison,  # noqa: E402,F401
                         supervised_record, supervised_sets)
