"""The published chapters read well (issue 10, item 9), checked on the built smoke report's HTML:
each notebook's parameters shown once, as one small table of the values the run used; no
Trainer loss table (the loss is a figure); no absolute path of the machine; the stylesheet
that lets wide tables scroll is linked.

The report is the one test_notebooks.py builds (``conftest_report.smoke_report``, built
once per session). The first tests check the pieces without it, in milliseconds: the
executed copy's parameter cells, artifact labels, the Trainer's progress display.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import papermill as pm
import pytest

from conftest_report import smoke_report  # noqa: F401  (the smoke report, built once per session)
from unerlib.artifacts import artifact_label
from unerlib.pipeline import (PARAMETERS_TABLE_TAG, load_profile, notebook_parameters, show_parameters_once,
                              toc_notebooks)


def report_test(fn):
    """A test over the built smoke report (needs the shared data; executes the notebooks)."""
    return pytest.mark.notebook(pytest.mark.data(fn))


PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = toc_notebooks(PROJECT_ROOT)


def _html(project_root: Path) -> Path:
    """The smoke report's HTML folder (built by the smoke_report fixture)."""
    from conftest_report import built_index

    return built_index().parent


def _page(project_root: Path, nb: Path):
    from bs4 import BeautifulSoup

    page = _html(project_root) / nb.with_suffix(".html")
    assert page.is_file(), f"no HTML page for {nb}"
    text = page.read_text(encoding="utf-8")
    return text, BeautifulSoup(text, "html.parser")


def _code_inputs(soup) -> list[str]:
    """The source of every code cell the page shows."""
    return [div.get_text() for div in soup.select("div.cell div.cell_input")]


@report_test
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_parameters_shown_once_as_a_table(smoke_report, project_root, nb):
    _text, soup = _page(project_root, nb)
    declared = pm.inspect_notebook(str(project_root / nb))
    used = notebook_parameters(load_profile("smoke", project_root), project_root / nb)
    tables = soup.select(f"table.{PARAMETERS_TABLE_TAG}")
    if not declared:
        assert not tables
        return
    assert len(tables) == 1, f"{nb}: {len(tables)} parameter tables"
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in tables[0].select("tbody tr")]
    assert [r[0] for r in rows] == list(declared)
    for name, value, origin, description in rows:
        if name in used:  # the profile's value, not the notebook's default
            assert (value, origin) == (repr(used[name]), "this run"), name
        else:
            assert origin == "default", name
        assert description == (declared[name].get("help") or ""), name

    # neither papermill's injected cell nor the source defaults are shown
    assert not soup.select(".tag_parameters, .tag_injected-parameters")
    inputs = _code_inputs(soup)
    shown = {_code(line) for src in inputs for line in src.splitlines()}
    defaults = next(c.source for c in _source_cells(project_root / nb) if "parameters" in c.metadata.get("tags", []))
    injected = [f"{name} = {value!r}" for name, value in used.items()]  # papermill's form
    for line in filter(None, [_code(line) for line in defaults.splitlines()] + injected):
        assert line not in shown, f"{nb}: a code cell shows {line!r}"
    # and no parameter is assigned at top level in two code cells
    for name in declared:
        assigning = [src for src in inputs if re.search(rf"^{re.escape(name)}\s*(:[^=\n]*)?=(?!=)", src, re.M)]
        assert len(assigning) <= 1, f"{nb}: {name} assigned in {len(assigning)} code cells"


def _code(line: str) -> str:
    return line.split("  #")[0].strip()


def _source_cells(path: Path):
    import nbformat

    return nbformat.read(str(path), as_version=4).cells


@report_test
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_no_trainer_loss_table(smoke_report, project_root, nb):
    text, soup = _page(project_root, nb)
    # transformers' NotebookProgressCallback: a <progress> bar and a "Step | Training Loss" table
    assert "Training Loss" not in text, f"{nb} shows the Trainer's loss table"
    assert not soup.find("progress"), f"{nb} shows the Trainer's progress bar"


def _machine_paths(project_root: Path, data_root: Path) -> set[str]:
    artifacts = Path(os.environ.get("UNER_ARTIFACTS") or project_root / "artifacts")
    paths = {"/tmp/"}
    for path in (project_root, artifacts, data_root, Path.home()):
        for form in (path, path.resolve()):
            if len(form.parts) > 1:  # not "/" (a home folder of "/" is no path to find)
                paths.add(str(form))
    return paths


@report_test
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_no_absolute_machine_paths(smoke_report, project_root, data_root, nb):
    text, _soup = _page(project_root, nb)
    for path in sorted(_machine_paths(project_root, data_root)):
        at = text.find(path)
        assert at < 0, f"{nb} shows the machine path {path!r}: ...{text[max(0, at - 80):at + 80]}..."


@report_test
def test_wide_tables_scroll(smoke_report, project_root):
    html = _html(project_root)
    css = (html / "_static" / "custom.css").read_text()
    assert "overflow-x: auto" in css
    for nb in NOTEBOOKS:
        _text, soup = _page(project_root, nb)
        links = [link.get("href", "") for link in soup.find_all("link", rel="stylesheet")]
        assert any(href.split("?")[0].endswith("_static/custom.css") for href in links), nb


# --------------------------------------------------------------------------- the pieces, without the report


def _params_notebook(path: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('n: int = 3  # how many <things>\nname: str = "a|b"  # a $NAME\nflag: bool = True')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), params, nbformat.v4.new_code_cell("print(n)")]
    nbformat.write(nb, str(path))
    return path


def test_show_parameters_once(tmp_path):
    import nbformat
    from bs4 import BeautifulSoup

    source = _params_notebook(tmp_path / "source.ipynb")
    executed = nbformat.read(str(source), as_version=4)
    injected = nbformat.v4.new_code_cell("# Parameters\nn = 7\n")
    injected.metadata["tags"] = ["injected-parameters"]
    executed.cells.insert(2, injected)
    target = tmp_path / "executed.ipynb"
    nbformat.write(executed, str(target))
    for _ in range(2):  # idempotent: a second pass replaces the table, adds no second one
        show_parameters_once(source, target, {"n": 7})
    cells = nbformat.read(str(target), as_version=4).cells
    assert [c.metadata.get("tags", []) for c in cells] == [
        [], ["parameters", "remove-cell"], ["injected-parameters", "remove-cell"], [PARAMETERS_TABLE_TAG], []]
    assert cells[3].cell_type == "markdown"
    table = BeautifulSoup(cells[3].source, "html.parser")
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in table.select("tbody tr")]
    assert rows == [["n", "7", "this run", "how many <things>"], ["name", "'a|b'", "default", "a $NAME"],
                    ["flag", "True", "default", ""]]
    assert "\n\n" not in cells[3].source  # one HTML block for markdown: no blank line inside
    assert nbformat.read(str(source), as_version=4).cells[1].metadata["tags"] == ["parameters"]  # untouched


def test_artifact_label(tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    (root / "students" / "1a2b3c4d5e6f").mkdir(parents=True)
    monkeypatch.setenv("UNER_ARTIFACTS", str(root))
    assert artifact_label(root / "students" / "1a2b3c4d5e6f") == "students/1a2b3c4d5e6f"
    assert artifact_label(str(root / "teacher_data" / "k" / "data.json")) == "teacher_data/k/data.json"
    assert artifact_label(tmp_path / "elsewhere" / "adapter") == "…/elsewhere/adapter"
    assert artifact_label("HuggingFaceTB/SmolLM2-135M") == "HuggingFaceTB/SmolLM2-135M"
    assert str(tmp_path) not in artifact_label(tmp_path / "x" / "y" / "z")


def test_trainer_progress_in_notebooks_is_text_on_stderr():
    from types import SimpleNamespace

    from unerlib.train import _text_progress_in_notebooks

    class NotebookProgressCallback:  # stands for transformers.utils.notebook's, matched by name
        pass

    class Trainer:
        def __init__(self, callbacks):
            self.callback_handler = SimpleNamespace(callbacks=list(callbacks))

        def remove_callback(self, cb):
            self.callback_handler.callbacks.remove(cb)

        def add_callback(self, cb):
            self.callback_handler.callbacks.append(cb)

    trainer = Trainer([object(), NotebookProgressCallback()])
    _text_progress_in_notebooks(trainer)
    names = [type(cb).__name__ for cb in trainer.callback_handler.callbacks]
    assert names == ["object", "TextProgressCallback"]
    outside = Trainer([object()])  # a terminal: ProgressCallback stays as it is
    _text_progress_in_notebooks(outside)
    assert [type(cb).__name__ for cb in outside.callback_handler.callbacks] == ["object"]
