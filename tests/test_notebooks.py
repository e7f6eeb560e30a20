"""The report runner (unerlib.pipeline): the real report on the smoke profile, and its errors
on a tiny fake project written into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest_report import smoke_report  # noqa: F401  (the smoke report, built once per session)
from unerlib import pipeline
from unerlib.pipeline import ReportError, load_profile, notebook_parameters, run_report, toc_notebooks

pytestmark = pytest.mark.notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


# --------------------------------------------------------------------------- the real report (integration)


@pytest.mark.data
def test_smoke_report_builds_the_book(smoke_report, project_root):
    index = smoke_report  # run_report("smoke") into a temporary build folder (shared with test_report_pages.py)
    out = index.parent.parent
    html = out / "html"
    assert index == html / "index.html" and out.name == "smoke"
    assert index.is_file()

    notebooks = toc_notebooks(project_root)
    assert notebooks, "_toc.yml lists no notebook"
    smoke = load_profile("smoke", project_root)
    for nb in notebooks:
        page = html / nb.with_suffix(".html")
        assert page.is_file(), f"no HTML page for {nb}"
        assert page.parent == html / "notebooks"
        text = page.read_text(encoding="utf-8")
        assert "<table" in text, f"{page} has no table"
        assert "<img" in text, f"{page} has no figure"
        # the page comes from a copy executed now, with the smoke profile's parameters
        executed = nbformat.read(out / "executed" / nb, as_version=4)
        assert executed.metadata.papermill.parameters == notebook_parameters(smoke, project_root / nb)
        assert not any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))
    log = json.loads((out / "run.json").read_text())
    assert log["profile"] == "smoke" and set(log["seconds"]) == {str(nb) for nb in notebooks}


# --------------------------------------------------------------------------- a fake project


def _notebook(path: Path, cells: list[str], params: str | None = "x = 1", kernelspec: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    if kernelspec:
        nb.metadata["kernelspec"] = KERNELSPEC
    nb.cells.append(nbformat.v4.new_markdown_cell("# A test notebook"))
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def _project(tmp_path: Path, profile: dict, notebooks: tuple[str, ...] = ("bad",)) -> Path:
    root = tmp_path / "proj"
    (root / "profiles").mkdir(parents=True)
    toc = {"format": "jb-book", "root": "intro",
           "chapters": [{"file": f"notebooks/{stem}"} for stem in notebooks] + [{"file": "book/license"}]}
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))
    (root / "profiles" / "test.yaml").write_text(yaml.safe_dump(profile))
    return root


@pytest.fixture
def fake_env(monkeypatch, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("UNER_DATA_DIR", str(data))
    return data


def test_project_root(tmp_path, monkeypatch):
    root = _project(tmp_path, {})
    (root / "sub" / "deeper").mkdir(parents=True)
    assert pipeline.project_root(root / "sub" / "deeper") == root.resolve()
    monkeypatch.chdir(root / "sub")
    assert pipeline.project_root() == root.resolve()
    with pytest.raises(ReportError, match="_toc.yml"):
        pipeline.project_root(tmp_path)


def test_unknown_profile(tmp_path):
    root = _project(tmp_path, {})
    with pytest.raises(ReportError) as err:
        load_profile("paper", root)
    assert "'paper'" in str(err.value) and "test" in str(err.value)


def test_toc_notebooks_in_order(tmp_path):
    root = _project(tmp_path, {}, notebooks=("b", "a", "missing"))
    _notebook(root / "notebooks" / "a.ipynb", ["pass"])
    _notebook(root / "notebooks" / "b.ipynb", ["pass"])
    assert toc_notebooks(root) == [Path("notebooks/b.ipynb"), Path("notebooks/a.ipynb")]


def test_notebook_parameters(tmp_path):
    root = _project(tmp_path, {"parameters": {"x": 5, "y": 7}, "notebooks": {"bad": {"z": 3}}})
    nb = _notebook(root / "notebooks" / "bad.ipynb", ["pass"], params="x = 1\nz = 2")
    profile = load_profile("test", root)
    # shared keys only where declared (y is not), then the notebook's own
    assert notebook_parameters(profile, nb) == {"x": 5, "z": 3}


def test_undeclared_profile_key_raises(tmp_path, fake_env):
    root = _project(tmp_path, {"notebooks": {"bad": {"datasetz": "all"}}})
    _notebook(root / "notebooks" / "bad.ipynb", ["print('never run')"], params='datasets = "x"')
    with pytest.raises(ReportError) as err:
        run_report("test", root=root, build=False)
    msg = str(err.value)
    assert "datasetz" in msg and "bad.ipynb" in msg and "datasets" in msg
    assert not (root / "_build" / "test" / "executed" / "notebooks" / "bad.ipynb").exists()


def test_failing_cell_raises(tmp_path, fake_env):
    root = _project(tmp_path, {"parameters": {}, "notebooks": {}})
    # cells: 0 markdown, 1 parameters, 2 "y = 2", 3 the failure
    _notebook(root / "notebooks" / "bad.ipynb", ["y = 2", "raise ValueError('boom in a cell')"])
    with pytest.raises(ReportError) as err:
        run_report("test", root=root, build=False)
    msg = str(err.value)
    assert "bad.ipynb" in msg
    assert "cell 3" in msg
    assert "ValueError" in msg and "boom in a cell" in msg
    # the executed copy with the traceback is kept
    assert (root / "_build" / "test" / "executed" / "notebooks" / "bad.ipynb").is_file()


def test_report_runs_a_good_notebook(tmp_path, fake_env):
    root = _project(tmp_path, {"parameters": {"x": 41}, "notebooks": {}})
    _notebook(root / "notebooks" / "bad.ipynb", ["import os\nprint(x + 1, os.environ['UNER_DATA_DIR'])"])
    stage = run_report("test", root=root, build=False)
    executed = nbformat.read(stage / "notebooks" / "bad.ipynb", as_version=4)
    out = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert out.split() == ["42", str(fake_env.resolve())]
    log = json.loads((root / "_build" / "test" / "run.json").read_text())
    assert list(log["seconds"]) == ["notebooks/bad.ipynb"]


def test_a_progress_bar_is_kept_as_one_output(tmp_path, fake_env):
    """A cell's progress bar (a carriage return a step, on stderr) is kept in the executed copy
    as one stderr output holding its last state, not one output a step."""
    root = _project(tmp_path, {"parameters": {"x": 1}, "notebooks": {}})
    _notebook(root / "notebooks" / "bad.ipynb", [
        "import sys\nfrom tqdm.std import tqdm\nfor _ in tqdm(range(40), file=sys.stderr, mininterval=0):\n"
        "    pass\nprint('done')"])
    stage = run_report("test", root=root, build=False)
    outputs = nbformat.read(stage / "notebooks" / "bad.ipynb", as_version=4).cells[-1].outputs
    assert sorted(o["name"] for o in outputs) == ["stderr", "stdout"]
    bar = next(o["text"] for o in outputs if o["name"] == "stderr")
    assert "40/40" in bar and "\r" not in bar and " 0/40" not in bar


def test_failing_cell_index_names_the_source_cell(tmp_path, fake_env):
    root = _project(tmp_path, {"parameters": {"x": 5}, "notebooks": {}})
    _notebook(root / "notebooks" / "bad.ipynb", ["y = 2", "raise ValueError('boom')"])
    with pytest.raises(ReportError) as err:
        run_report("test", root=root, build=False)
    assert "cell 3" in str(err.value)  # source cells: 0 markdown, 1 parameters, 2 y, 3 raise


def test_notebook_without_kernelspec(tmp_path, fake_env):
    root = _project(tmp_path, {"parameters": {}, "notebooks": {}})
    _notebook(root / "notebooks" / "bad.ipynb", ["y = 2"], kernelspec=False)
    # papermill cannot read the parameters of a notebook without a kernelspec: a ReportError
    # names the notebook and the cause, before anything runs
    with pytest.raises(ReportError) as err:
        run_report("test", root=root, build=False)
    msg = str(err.value)
    assert "bad.ipynb" in msg and "kernel" in msg
    assert not (root / "_build" / "test" / "executed" / "notebooks" / "bad.ipynb").exists()


def test_two_profiles_report_at_once(tmp_path, fake_env):
    """Two `uner report` runs of different profiles, started together, each finish with
    their own executed notebooks, book and run log under _build/<profile>/."""
    import os
    import shutil
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    root = _project(tmp_path, {}, notebooks=("echo",))
    shutil.copy2(repo / "_config.yml", root)
    shutil.copytree(repo / "book", root / "book")
    (root / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "book/intro", "chapters": [
        {"file": "notebooks/echo"}, {"file": "book/license"}]}))
    _notebook(root / "notebooks" / "echo.ipynb", ["print(f'profile value {x}')"], params="x: int = 0  # a value")
    for name, x in (("one", 1), ("two", 2)):
        (root / "profiles" / f"{name}.yaml").write_text(yaml.safe_dump({"parameters": {"x": x}}))
    env = {**os.environ, "UNER_DATA_DIR": str(fake_env), "UNER_ARTIFACTS": str(tmp_path / "art")}
    env.pop("UNER_BUILD", None)
    env.pop("UNER_RUN", None)
    runs = [subprocess.Popen([sys.executable, "-m", "unerlib", "report", "--profile", name], cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for name in ("one", "two")]
    outputs = [p.communicate(timeout=600)[0] for p in runs]
    for run, out in zip(runs, outputs):
        assert run.returncode == 0, out[-2000:]
    for name, x in (("one", 1), ("two", 2)):
        out = root / "_build" / name
        assert (out / "html" / "index.html").is_file()
        page = (out / "html" / "notebooks" / "echo.html").read_text(encoding="utf-8")
        assert f"profile value {x}" in page and f"profile value {3 - x}" not in page
        executed = nbformat.read(out / "executed" / "notebooks" / "echo.ipynb", as_version=4)
        assert executed.metadata.papermill.parameters == {"x": x}
        assert list(json.loads((out / "run.json").read_text())["seconds"]) == ["notebooks/echo.ipynb"]
