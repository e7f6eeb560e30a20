"""The report's stages, each cached under the artifacts directory by its parameters:
teacher data, tuned students, zero-shot evaluations. Notebooks and the CLI call these, so
two notebooks asking for the same thing build it once."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from .artifacts import artifact_dir, is_done, mark_done
from .registry import REGISTRY, SOURCE_WEIGHTS, TEACHER_SOURCES, ZERO_SHOT, dataset_role, load_dataset
from .student import EMBEDDED


def evaluation_texts(root: str | os.PathLike | None = None) -> set[str]:
    """Every sentence of every evaluation dataset (zero-shot and evaluation-only, all
    splits), for keeping them out of the teacher data."""
    texts = set()
    for name, spec in REGISTRY.items():
        if dataset_role(name) in ("zero-shot", "evaluation", "duplicate"):
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
                       build: bool = True) -> tuple[Path, dict[str, Any]]:
    """Sample passages, annotate them with a teacher, save Pile-NER-type data (cached).

    Returns the path of ``data.json`` and the construction summary. The OpenAI teacher's
    responses are also cached per request in ``artifacts/teacher_cache.sqlite``. With
    ``build=False`` a missing artifact is an error instead of being built.
    """
    from .artifacts import artifacts_root
    from .construct import construct, sample_passages
    from .teacher import make_teacher

    params = {"teacher": teacher, "n_passages": n_passages, "seed": seed, "max_tokens": max_tokens,
              "sources": list(sources), "teacher_model": teacher_model, "base_url": base_url, "student": student}
    folder = artifact_dir("teacher_data", params, root)
    if not is_done(folder):
        _require_built(folder, "teacher data", build)
        passages = sample_passages(sources, n_passages, seed=seed, max_tokens=max_tokens,
                                   count_tokens=token_counter(student), exclude_texts=evaluation_texts(root=data_root),
                                   root=data_root, weights=SOURCE_WEIGHTS)
        kwargs: dict[str, Any] = {}
        if teacher == "openai":
            kwargs = {"model": teacher_model, "base_url": base_url,
                      "cache": artifacts_root(root) / "teacher_cache.sqlite"}
        data, summary = construct(passages, make_teacher(teacher, **kwargs), progress=progress)
        (folder / "data.json").write_text(json.dumps(data, ensure_ascii=False))
        (folder / "summary.json").write_text(json.dumps(summary.as_dict(), indent=1))
        mark_done(folder)
    return folder / "data.json", json.loads((folder / "summary.json").read_text())


def build_student(data_path: str | os.PathLike, negatives: str = "frequency", n_negatives: int = 2,
                  seed: int = 0, merge_type_variants: bool = True, progress: bool = True,
                  root: str | os.PathLike | None = None, build: bool = True, **train_options: Any) -> Path:
    """Conversations with negative sampling, tokenized, then a tuned student (cached).

    ``train_options`` are :class:`unerlib.train.TrainConfig` fields. Returns the adapter
    (or model) directory; a killed run resumes from its checkpoints. With ``build=False``
    a student not trained yet is an error (for notebooks that reuse notebook 03's).
    """
    from .construct import load_pile_ner
    from .instructions import build_conversations, tokenize_conversation
    from .student import load_student
    from .train import TrainConfig, train
    from .typefreq import merge_variants, type_counts

    config = TrainConfig(seed=seed, **train_options)
    data_key = Path(data_path).parent.name
    params = {"data": data_key, "negatives": negatives, "n_negatives": n_negatives,
              "merge_type_variants": merge_type_variants, "train": asdict(config)}
    folder = artifact_dir("students", params, root)
    if is_done(folder):
        return folder
    _require_built(folder, "tuned student", build)
    data = load_pile_ner(data_path)
    tmap = merge_variants(type_counts(data)) if merge_type_variants else None
    convs = build_conversations(data, negatives, n_negatives, seed, tmap)
    student = load_student(config.model)
    examples = [p for c in convs for p in tokenize_conversation(student.tokenizer, c, config.max_length, config.train_ack)]
    note = (f"Data: {len(data)} passages of teacher data `{data_key}`, negatives `{negatives}` "
            f"({n_negatives} per passage).")
    train(config, examples, folder, student=student, progress=progress, data_note=note)
    mark_done(folder)
    return folder


def _require_built(folder: Path, what: str, build: bool) -> None:
    """Raise when an artifact is missing and may not be built here."""
    if not build:
        from .data import DataError

        raise DataError(f"no cached {what} for these parameters ({folder}); run notebook 03_training "
                        f"with the same parameters first (this notebook reuses it and never trains)")


def evaluate_sets(model: str = EMBEDDED, adapter: str | os.PathLike | None = None,
                  sets: Sequence[str] = ZERO_SHOT, limit: int | None = 50, max_new_tokens: int = 64,
                  progress: bool = True, root: str | os.PathLike | None = None,
                  data_root: str | os.PathLike | None = None):
    """Zero-shot scores per set, cached per (student, set, limit); a DataFrame with one row
    per set and the predictions under the artifacts directory.

    ``precision``/``recall``/``f1`` are the official string metric; ``span_precision``/
    ``span_recall``/``span_f1`` the exact span metric (:func:`unerlib.metrics.span_score`),
    added to a cached ``metrics.json`` that lacks them.
    """
    import pandas as pd

    from .inference import evaluate

    student = None
    rows = []
    for name in sets:
        params = {"model": model, "adapter": str(adapter) if adapter else None, "data": name,
                  "limit": limit, "max_new_tokens": max_new_tokens}
        folder = artifact_dir("evaluations", params, root)
        if not is_done(folder):
            if student is None:
                from .student import load_student
                student = load_student(model, str(adapter) if adapter else None)
            result = evaluate(student, name, limit=limit, out=folder / "predictions.jsonl",
                              max_new_tokens=max_new_tokens, progress=progress, root=data_root)
            result["span"] = span_metrics(name, folder / "predictions.jsonl", limit, data_root)
            _write_json(folder / "metrics.json", result)
            mark_done(folder)
        result = json.loads((folder / "metrics.json").read_text())
        if "span" not in result:
            result["span"] = span_metrics(name, folder / "predictions.jsonl", limit, data_root)
            _write_json(folder / "metrics.json", result)
        span = result["span"]
        rows.append({"dataset": name, "precision": 100 * result["precision"], "recall": 100 * result["recall"],
                     "f1": 100 * result["f1"], "span_precision": 100 * span["precision"],
                     "span_recall": 100 * span["recall"], "span_f1": 100 * span["f1"],
                     "questions": result["n"], "predictions": str(folder / "predictions.jsonl")})
    return pd.DataFrame(rows)


def _write_json(path: Path, obj: Any) -> None:
    """Write JSON through a temporary file, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


def span_metrics(data: str, predictions: str | os.PathLike, limit: int | None = None,
                 root: str | os.PathLike | None = None) -> dict[str, float]:
    """The span metric of a predictions file (JSON lines ``{"id", "prediction"}``) against
    the questions :func:`unerlib.inference.load_questions` gives for ``data`` and ``limit``."""
    from .data import DataError
    from .inference import load_questions
    from .metrics import load_predictions, span_score

    questions = load_questions(data, limit, root)
    preds = load_predictions(predictions)
    missing = [q.id for q in questions if q.id not in preds]
    if missing:
        raise DataError(f"{predictions}: no prediction for {len(missing)} of {len(questions)} questions "
                        f"of {data!r} (first: {missing[0]!r})")
    return span_score([q.passage for q in questions], [q.type for q in questions],
                      [preds[q.id] for q in questions], [q.gold or "[]" for q in questions])


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


def dataset_breakdown(scores, values: Sequence[str] = ("f1", "span_f1")):
    """One row per dataset (domain order), one column per (metric, system): e.g.
    ``f1 tuned``, ``span_f1 untuned``."""
    table = with_domains(scores)
    wide = table.pivot_table(index=["domain", "dataset"], columns="system", values=list(values), sort=False)
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
            rows.append(row)
    return pd.DataFrame(rows)


def domain_summary(domains, values: Sequence[str] = ("f1", "span_f1")):
    """The per-domain table for reading: one row per domain, its datasets, then one column
    per (metric, system); missing domains keep their row."""
    wide = domains.pivot_table(index="domain", columns="system", values=list(values), sort=False, dropna=False)
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
        metrics = json.loads((Path(row["predictions"]).parent / "metrics.json").read_text())
        for typ, m in metrics.get("by_type", {}).items():
            rows.append({"dataset": row["dataset"], "type": typ, "questions": m["n"], "gold": m["n_gold"],
                         "predicted": m["n_pred"], "precision": 100 * m["precision"],
                         "recall": 100 * m["recall"], "f1": 100 * m["f1"]})
    columns = ["dataset", "type", "questions", "gold", "predicted", "precision", "recall", "f1"]
    table = pd.DataFrame(rows, columns=columns)
    order = {name: i for i, name in enumerate(datasets)}
    return table.sort_values(["dataset", "f1", "type"], key=lambda c: c.map(order) if c.name == "dataset" else c,
                             ).reset_index(drop=True)


# --------------------------------------------------------------------------- supervised multi-task

#: The paper's in-domain supervised table: F1 on the 20 datasets of InstructUIE (Wang et
#: al., 2023a), as (BERT-base, InstructUIE-11B, UniNER-7B). Zhou et al., UniversalNER,
#: arXiv:2308.03279v2 (ICLR 2024) Table 2 ("Table 4" in arXiv v1); BERT-base numbers are
#: quoted there from Wang et al., InstructUIE from the authors' re-evaluation. Column
#: averages 80.09 / 81.16 / 84.78 as the paper prints them.
PAPER_SUPERVISED: dict[str, tuple[float, float, float]] = {
    "ACE05": (87.30, 79.94, 86.69), "AnatEM": (85.82, 88.52, 88.65), "bc2gm": (80.90, 80.69, 82.42),
    "bc4chemd": (86.72, 87.62, 89.21), "bc5cdr": (85.28, 89.02, 89.34), "Broad Twitter": (58.61, 80.27, 81.25),
    "CoNLL03": (92.40, 91.53, 93.30), "FabNER": (64.20, 78.38, 81.87), "FindVehicle": (87.13, 87.56, 98.30),
    "GENIA": (73.3, 75.71, 77.54), "HarveyNER": (82.26, 74.69, 74.21), "MIT Movie": (88.78, 89.58, 90.17),
    "MIT Restaurant": (81.02, 82.59, 82.35), "MultiNERD": (91.25, 90.26, 93.73), "ncbi": (80.20, 86.21, 86.96),
    "OntoNotes": (91.11, 88.64, 89.91), "PolyglotNER": (75.65, 53.31, 65.67), "TweetNER7": (56.49, 65.95, 65.77),
    "WikiANN": (70.60, 64.47, 84.91), "wikiNeural": (82.78, 88.27, 93.28),
}
PAPER_SUPERVISED_SYSTEMS: tuple[str, ...] = ("BERT-base", "InstructUIE-11B", "UniNER-7B")
PAPER_SUPERVISED_SOURCE = ("Zhou et al. 2023, UniversalNER (arXiv:2308.03279v2), Table 2 / Table 4 in v1: "
                           "F1 on the 20 datasets of InstructUIE, in-domain supervised")
#: Paper dataset name -> our registry name, where the shared data holds the corpus.
PAPER_TO_REGISTRY: dict[str, str] = {
    "AnatEM": "anatem", "bc2gm": "bc2gm", "bc5cdr": "bc5cdr", "Broad Twitter": "broad_twitter",
    "CoNLL03": "conll2003", "GENIA": "genia", "MIT Movie": "mit_movie", "MIT Restaurant": "mit_restaurant",
    "ncbi": "ncbi_disease", "WikiANN": "wikiann_en", "wikiNeural": "wikineural_en",
}


def supervised_sets(spec: str | Sequence[str] = "all") -> list[str]:
    """Registered datasets with both a ``train`` and a ``test`` split (duplicates of another
    corpus left out), in the paper's domain order; ``spec`` is ``"all"`` or a comma list."""
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
        (folder / "data.json").write_text(json.dumps(data, ensure_ascii=False))
        (folder / "summary.json").write_text(json.dumps(summary, indent=1))
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
    return pd.DataFrame(rows)


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
