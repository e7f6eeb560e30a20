"""The run manifest: what each chapter of one report run built, so later chapters reuse it.

``uner report`` points ``$UNER_RUN`` at a fresh JSON file for the run. Notebook 03 records
its teacher data and tuned student there (with the parameters that made them); later
chapters read them back instead of re-declaring notebook 03's parameters, and every
chapter records the artifact keys it used, so the results summary shows this run's
students only. A notebook opened alone (no ``$UNER_RUN``) falls back to the defaults of
notebook 03's parameters cell.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_ENV = "UNER_RUN"

#: notebook 03's parameters that make its teacher data and its student
DATA_PARAMS = ("teacher", "teacher_model", "base_url", "n_passages", "max_passage_tokens", "seed", "student", "sources")
TRAIN_PARAMS = ("learning_rate", "epochs", "max_steps", "batch_size", "lora", "lora_r", "lora_alpha", "max_length",
                "bf16", "lora_layers", "lowercase", "titlecase")
#: notebook 03's inference settings, used by every evaluation of its student
INFERENCE_PARAMS = ("max_new_tokens", "quantize", "empty_bias", "constrain_spans", "one_type_per_entity",
                    "lower_types")
#: the values of parameters added after runs were recorded, for a manifest that lacks them
LATER_DEFAULTS: dict[str, Any] = {"lora_layers": 0, "empty_bias": 0.0, "constrain_spans": False,
                                  "one_type_per_entity": False, "lowercase": 0.0, "titlecase": 0.0,
                                  "lower_types": False}
STUDENT_PARAMS = (*DATA_PARAMS, "negatives", "n_negatives", *TRAIN_PARAMS, "eval_limit", *INFERENCE_PARAMS)


def manifest_path() -> Path | None:
    """The run manifest named by ``$UNER_RUN``, if any."""
    value = os.environ.get(RUN_ENV)
    return Path(value) if value else None


def read_manifest(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The manifest's content (empty when there is no run or no file yet)."""
    path = Path(path) if path else manifest_path()
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text())


def record(stage: str, **info: Any) -> None:
    """Add ``info`` under ``stage`` in the run manifest (nothing outside a report run)."""
    path = manifest_path()
    if path is None:
        return
    from filelock import FileLock

    from .artifacts import write_json_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        manifest = read_manifest(path)
        manifest.setdefault("stages", {}).setdefault(stage, {}).update(info)
        write_json_atomic(path, manifest, indent=1, default=str)


def recorded(stage: str) -> dict[str, Any]:
    """What ``stage`` recorded in this run (empty when nothing)."""
    return read_manifest().get("stages", {}).get(stage, {})


@dataclass(frozen=True)
class Headline:
    """Notebook 03's teacher data and tuned student, with the parameters that made them."""

    data_path: Path
    adapter: Path
    params: dict[str, Any]

    @property
    def student(self) -> str:
        return self.params["student"]

    def train_options(self) -> dict[str, Any]:
        """The training recipe as :func:`unerlib.experiments.build_student` takes it."""
        return {"model": self.params["student"], **{k: self._param(k) for k in TRAIN_PARAMS}}

    def _param(self, name: str) -> Any:
        """A parameter of notebook 03, its :data:`LATER_DEFAULTS` value when the run predates it."""
        return self.params[name] if name in self.params or name not in LATER_DEFAULTS else LATER_DEFAULTS[name]

    def teacher_data(self, n_passages: int | None = None, progress: bool = True,
                     root: str | os.PathLike | None = None) -> Path:
        """Notebook 03's teacher data at ``n_passages`` passages (its teacher, seed, passage
        length and sources; cached, built when missing); ``None`` or its own count: ``data_path``."""
        if n_passages is None or n_passages == self.params["n_passages"]:
            return self.data_path
        if n_passages < 1:
            raise ValueError(f"a number of teacher passages must be at least 1, got {n_passages}")
        return _teacher_data(self.params, n_passages, progress=progress, root=root)

    def inference_options(self) -> dict[str, Any]:
        """The inference settings as :func:`unerlib.evaluation.evaluate_sets` takes them
        (:data:`LATER_DEFAULTS` for those a run recorded before they existed)."""
        return {"max_new_tokens": self.params["max_new_tokens"], "quantize": self.params.get("quantize", ""),
                **{k: self._param(k) for k in ("empty_bias", "constrain_spans", "one_type_per_entity", "lower_types")}}


def notebook_defaults(stem: str = "03_training") -> dict[str, Any]:
    """The defaults of a notebook's parameters cell (read with papermill, not executed)."""
    import papermill as pm

    from .pipeline import project_root

    path = project_root() / "notebooks" / f"{stem}.ipynb"
    return {name: _literal(spec["default"]) for name, spec in pm.inspect_notebook(str(path)).items()}


def _literal(text: str) -> Any:
    import ast

    return ast.literal_eval(text)


def _teacher_data(p: dict[str, Any], n_passages: int, **options: Any) -> Path:
    """The teacher data notebook 03's parameters ``p`` make, at ``n_passages`` passages
    (``options``: progress, root, build of :func:`unerlib.experiments.build_teacher_data`)."""
    from .experiments import build_teacher_data
    from .registry import teacher_sources

    data_path, _ = build_teacher_data(teacher=p["teacher"], n_passages=n_passages, seed=p["seed"],
                                      max_tokens=p["max_passage_tokens"], teacher_model=p["teacher_model"] or None,
                                      base_url=p["base_url"] or None, student=p["student"],
                                      sources=teacher_sources(p.get("sources", "default")), **options)
    return Path(data_path)


def headline() -> Headline:
    """The run's headline student: the one notebook 03 recorded, else (a notebook opened
    alone) the one notebook 03's default parameters made, which must be built already."""
    from .data import DataError
    from .experiments import build_student

    info = recorded("03_training")
    if info:
        return Headline(Path(info["data_path"]), Path(info["adapter"]), info["params"])
    p = notebook_defaults("03_training")
    try:
        data_path = _teacher_data(p, p["n_passages"], build=False)
        adapter = build_student(data_path, negatives=p["negatives"], n_negatives=p["n_negatives"], seed=p["seed"],
                                build=False, model=p["student"], **{k: p[k] for k in TRAIN_PARAMS})
    except DataError as err:
        if "03_training" in str(err):
            raise
        raise DataError(f"no headline student: execute notebooks/03_training.ipynb first ({err})") from err
    return Headline(Path(data_path), Path(adapter), {k: p[k] for k in STUDENT_PARAMS})


def record_headline(data_path: str | os.PathLike, adapter: str | os.PathLike, values: dict[str, Any]) -> Headline:
    """Record notebook 03's teacher data and student for the chapters after it; ``values``
    holds notebook 03's parameters (its namespace: the names of :data:`STUDENT_PARAMS`)."""
    head = Headline(Path(data_path), Path(adapter), {k: values[k] for k in STUDENT_PARAMS})
    record("03_training", data_path=str(head.data_path), adapter=str(head.adapter), params=head.params)
    return head
