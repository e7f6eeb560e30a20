"""The report runner: execute the notebooks of ``_toc.yml`` with papermill under a profile,
then build the Jupyter Book from the executed copies (the NCAR/CUPiD pattern).

Layout: source notebooks live in ``notebooks/`` without outputs; executed copies go to
``_build/executed/`` beside a copy of ``_config.yml``, ``_toc.yml`` and ``book/``; the
book is built from there, with execution off, into ``_build/html``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import yaml

from .data import DATA_ENV, data_dir

PROFILES = ("smoke", "default", "paper")
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_DIRS = ("book",)


class ReportError(Exception):
    """A report step failed; the message names the notebook and cell, or the build step."""


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The folder holding ``_toc.yml``: ``start`` or the nearest parent of the current folder."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "profiles").is_dir():
            return folder
    raise ReportError(f"no project root (a folder with _toc.yml and profiles/) at or above {here}")


def load_profile(name: str, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read ``profiles/{name}.yaml``: ``parameters`` for every notebook that declares them,
    and ``notebooks: {stem: {...}}`` for one notebook."""
    path = project_root(root) / "profiles" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ReportError(f"no profile {name!r} ({path}); known: {', '.join(known)}")
    profile = yaml.safe_load(path.read_text()) or {}
    profile.setdefault("parameters", {})
    profile.setdefault("notebooks", {})
    profile["name"] = name
    return profile


def _toc_files(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "file" in node:
            yield str(node["file"])
        if "root" in node:
            yield str(node["root"])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                yield from _toc_files(child)
    elif isinstance(node, list):
        for child in node:
            yield from _toc_files(child)


def toc_notebooks(root: str | os.PathLike | None = None) -> list[Path]:
    """The notebooks ``_toc.yml`` lists, in order (paths relative to the project root)."""
    base = project_root(root)
    toc = yaml.safe_load((base / "_toc.yml").read_text())
    out = []
    for entry in _toc_files(toc):
        rel = Path(entry if entry.endswith(".ipynb") else entry + ".ipynb")
        if (base / rel).is_file():
            out.append(rel)
    return out


def notebook_parameters(profile: dict[str, Any], notebook: Path) -> dict[str, Any]:
    """The parameters a profile gives one notebook: the shared ones it declares, then its own.

    A notebook-specific key the notebook does not declare is an error (a typo would
    otherwise be ignored silently).
    """
    import papermill as pm

    try:
        declared = set(pm.inspect_notebook(str(notebook)))
    except Exception as err:  # unreadable notebook, missing kernelspec, ...
        raise ReportError(f"cannot read the parameters of {notebook}: {err}") from None
    own = profile["notebooks"].get(notebook.stem, {}) or {}
    unknown = sorted(set(own) - declared)
    if unknown:
        raise ReportError(f"profile {profile['name']!r} sets {unknown} for {notebook.name}, "
                          f"which declares only {sorted(declared)}")
    shared = {k: v for k, v in profile["parameters"].items() if k in declared}
    if "profile" in declared:
        shared["profile"] = profile["name"]
    return {**shared, **own}


def execute_notebook(source: Path, target: Path, parameters: dict[str, Any], cwd: Path) -> None:
    """Run one notebook with papermill; a failure names the notebook and the cell."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        pm.execute_notebook(str(source), str(target), parameters=parameters, cwd=str(cwd),
                            kernel_name="python3", progress_bar=True)
    except PapermillExecutionError as err:
        raise ReportError(
            f"notebook {source} failed in cell {_source_cell(source, err)} "
            f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
            f"(executed copy with the traceback: {target})"
        ) from None


def _source_cell(source: Path, err: Any) -> str:
    """The failing cell as the source notebook numbers it (the executed copy has extra
    injected-parameters and error-marker cells), with its first line."""
    import nbformat

    text = (getattr(err, "source", "") or "").strip()
    first = text.splitlines()[0] if text else ""
    try:
        cells = nbformat.read(str(source), as_version=4).cells
        index = next(i for i, c in enumerate(cells) if c.source.strip() == text)
    except Exception:
        index = err.cell_index
    return f"{index} ({first!r})"


def stage_book(root: Path, stage: Path) -> None:
    """Copy the book's configuration and prose next to the executed notebooks."""
    stage.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, stage / name)
    for name in BOOK_DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, stage / name, dirs_exist_ok=True)


def build_book(stage: Path, output: Path) -> Path:
    """Build the HTML book from ``stage`` into ``output/_build/html``, warnings as errors."""
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage),
           "--path-output", str(output), "-W", "-n", "--keep-going", "--all"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise ReportError(f"the book build failed (exit {result.returncode}):\n{tail}\n"
                          f"(sources in {stage})")
    index = output / "_build" / "html" / "index.html"
    if not index.is_file():
        raise ReportError(f"the book build produced no {index}")
    return index


def run_report(profile_name: str, root: str | os.PathLike | None = None,
               only: list[str] | None = None, build: bool = True) -> Path:
    """Execute the notebooks of ``_toc.yml`` under a profile, then build the book.

    Returns the path of ``_build/html/index.html``. ``only`` limits execution to the
    given notebook stems (the others keep their last executed copy).
    """
    base = project_root(root)
    profile = load_profile(profile_name, base)
    os.environ[DATA_ENV] = str(data_dir())  # absolute, for kernels started elsewhere
    stage = base / "_build" / "executed"
    timings: dict[str, float] = {}
    log = base / "artifacts" / "runs" / f"{profile_name}.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    for nb in toc_notebooks(base):
        if only and nb.stem not in only:
            continue
        params = notebook_parameters(profile, base / nb)
        print(f"[uner report] {nb} ({profile_name}) {json.dumps(params)}", flush=True)
        start = time.perf_counter()
        execute_notebook(base / nb, stage / nb, params, base)
        timings[str(nb)] = round(time.perf_counter() - start, 1)
        # written after every notebook, so a later chapter (and a dead run) shows the times so far
        log.write_text(json.dumps({"profile": profile_name, "seconds": timings}, indent=1))
    if not build:
        return stage
    stage_book(base, stage)
    return build_book(stage, base)
