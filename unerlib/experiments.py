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
                       data_root: str | os.PathLike | None = None) -> tuple[Path, dict[str, Any]]:
    """Sample passages, annotate them with a teacher, save Pile-NER-type data (cached).

    Returns the path of ``data.json`` and the construction summary. The OpenAI teacher's
    responses are also cached per request in ``artifacts/teacher_cache.sqlite``.
    """
    from .artifacts import artifacts_root
    from .construct import construct, sample_passages
    from .teacher import make_teacher

    params = {"teacher": teacher, "n_passages": n_passages, "seed": seed, "max_tokens": max_tokens,
              "sources": list(sources), "teacher_model": teacher_model, "base_url": base_url, "student": student}
    folder = artifact_dir("teacher_data", params, root)
    if not is_done(folder):
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
                  root: str | os.PathLike | None = None, **train_options: Any) -> Path:
    """Conversations with negative sampling, tokenized, then a tuned student (cached).

    ``train_options`` are :class:`unerlib.train.TrainConfig` fields. Returns the adapter
    (or model) directory; a killed run resumes from its checkpoints.
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


def evaluate_sets(model: str = EMBEDDED, adapter: str | os.PathLike | None = None,
                  sets: Sequence[str] = ZERO_SHOT, limit: int | None = 50, max_new_tokens: int = 64,
                  progress: bool = True, root: str | os.PathLike | None = None):
    """Zero-shot scores (official metric) per set, cached per (student, set, limit); a
    DataFrame with one row per set and the predictions under the artifacts directory."""
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
                              max_new_tokens=max_new_tokens, progress=progress)
            (folder / "metrics.json").write_text(json.dumps(result, indent=1))
            mark_done(folder)
        result = json.loads((folder / "metrics.json").read_text())
        rows.append({"dataset": name, "precision": 100 * result["precision"], "recall": 100 * result["recall"],
                     "f1": 100 * result["f1"], "questions": result["n"], "predictions": str(folder / "predictions.jsonl")})
    return pd.DataFrame(rows)
