"""The report runner: execute the notebooks of ``_toc.yml`` with papermill under a profile,
then build the Jupyter Book from the executed copies (the NCAR/CUPiD pattern).

Layout: source notebooks live in ``notebooks/`` without outputs; a profile's run goes to
``_build/<profile>/`` (:func:`build_dir`): executed copies in ``executed/`` beside a copy of
``_config.yml``, ``_toc.yml`` and ``book/``, from which the book is built, with execution
off, into ``html/``.
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
from .runs import RUN_ENV

PROFILES = ("smoke", "default", "full", "paper")
BUILD_ENV = "UNER_BUILD"
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
        # coalesce_streams (nbclient): a cell's stream messages merged into one output per stream
        # and carriage returns applied, so a progress bar is kept as its last state, not one output a step
        pm.execute_notebook(str(source), str(target), parameters=parameters, cwd=str(cwd),
                            kernel_name="python3", progress_bar=True, coalesce_streams=True)
    except PapermillExecutionError as err:
        raise ReportError(
            f"notebook {source} failed in cell {_source_cell(source, err)} "
            f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
            f"(executed copy with the traceback: {target})"
        ) from None
    show_parameters_once(source, target, parameters)


PARAMETERS_TABLE_TAG = "uner-parameters"


def parameters_table(source: Path, parameters: dict[str, Any]) -> str:
    """The parameters a run of ``source`` used, as a small HTML table: every parameter the
    notebook declares, its effective value, where that value came from, and the comment of
    its line in the parameters cell as the description."""
    import ast
    import html

    import papermill as pm

    rows = []
    for name, spec in pm.inspect_notebook(str(source)).items():
        if name in parameters:
            value, origin = repr(parameters[name]), "this run"
        else:
            try:
                value = repr(ast.literal_eval(spec.get("default") or ""))
            except (ValueError, SyntaxError):
                value = spec.get("default") or ""
            origin = "default"
        text = [html.escape(t, quote=False) for t in (name, value, origin, spec.get("help") or "")]
        cells = (f"<code>{text[0]}</code>", f"<code>{text[1]}</code>", text[2], text[3])
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join([
        f'<table class="{PARAMETERS_TABLE_TAG}">',
        "<caption>Parameters of this run</caption>",
        "<thead><tr><th>parameter</th><th>value</th><th>set by</th><th>description</th></tr></thead>",
        "<tbody>", *rows, "</tbody>", "</table>",
    ])


def show_parameters_once(source: Path, target: Path, parameters: dict[str, Any]) -> None:
    """Make the executed copy ``target`` show its parameters once, for the published page.

    papermill keeps the source ``parameters`` cell (the notebook's defaults) and adds an
    ``injected-parameters`` cell (the values used); a page would show both. Both are tagged
    ``remove-cell`` (Jupyter Book drops such cells; the notebook still holds them) and a
    markdown cell with :func:`parameters_table` follows them. The source notebook is untouched.
    """
    import nbformat

    nb = nbformat.read(str(target), as_version=4)
    cells = [c for c in nb.cells if PARAMETERS_TABLE_TAG not in c.metadata.get("tags", [])]
    marked = [i for i, c in enumerate(cells)
              if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    if not marked:
        return
    for i in marked:
        tags = cells[i].metadata.setdefault("tags", [])
        if "remove-cell" not in tags:
            tags.append("remove-cell")
    table = nbformat.v4.new_markdown_cell(parameters_table(source, parameters))
    table.metadata["tags"] = [PARAMETERS_TABLE_TAG]
    cells.insert(max(marked) + 1, table)
    nb.cells = cells
    nbformat.write(nb, str(target))


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
    """Build the HTML book from ``stage`` into ``output/html``, warnings as errors."""
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage),
           "--path-output", str(output), "-W", "-n", "--keep-going", "--all"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise ReportError(f"the book build failed (exit {result.returncode}):\n{tail}\n"
                          f"(sources in {stage})")
    built = output / "_build" / "html"
    if not (built / "index.html").is_file():
        raise ReportError(f"the book build produced no {built / 'index.html'}")
    html = output / "html"
    shutil.rmtree(html, ignore_errors=True)
    built.rename(html)
    shutil.rmtree(output / "_build", ignore_errors=True)
    return html / "index.html"


def build_dir(profile_name: str, root: str | os.PathLike | None = None) -> Path:
    """Where a profile's run goes: ``$UNER_BUILD/<profile>`` or ``_build/<profile>`` of the
    project, holding ``executed/`` (the executed notebooks), ``html/`` (the book),
    ``run.json`` (seconds per notebook) and ``manifest.json`` (:mod:`unerlib.runs`)."""
    return Path(os.environ.get(BUILD_ENV) or project_root(root) / "_build").resolve() / profile_name


def run_report(profile_name: str, root: str | os.PathLike | None = None,
               only: list[str] | None = None, build: bool = True) -> Path:
    """Execute the notebooks of ``_toc.yml`` under a profile, then build the book.

    Everything goes to :func:`build_dir` (one folder per profile, so two profiles can run at
    once). Returns the path of ``html/index.html`` there. ``only`` limits execution to the
    given notebook stems (the others keep their last executed copy, and the run manifest
    its records).
    """
    base = project_root(root)
    profile = load_profile(profile_name, base)
    os.environ[DATA_ENV] = str(data_dir())  # absolute, for kernels started elsewhere
    out = build_dir(profile_name, base)
    stage = out / "executed"
    log = out / "run.json"
    out.mkdir(parents=True, exist_ok=True)
    # the run manifest (unerlib.runs): what each chapter built, for the chapters after it;
    # a fresh one per run, kept when only some notebooks are rerun
    manifest = out / "manifest.json"
    timings: dict[str, float] = json.loads(log.read_text()).get("seconds", {}) if only and log.is_file() else {}
    if not only:
        manifest.unlink(missing_ok=True)
    previous = os.environ.get(RUN_ENV)
    os.environ[RUN_ENV] = str(manifest)  # the kernels papermill starts inherit it
    try:
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
    finally:
        if previous is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = previous
    if not build:
        return stage
    stage_book(base, stage)
    return build_book(stage, out)
