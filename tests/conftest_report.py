"""The smoke report, built once per test session and shared by test_notebooks.py and
test_report_pages.py (it executes every notebook and builds the book: minutes on two cores).

Import it with ``from conftest_report import smoke_report`` (pytest puts ``tests/`` on the
path). The fixture is session-scoped and memoised at module level, so the report is built
once even though two test modules import it (each import is a fixture of its own for
pytest). A failed build is remembered too: every test that needs the report then fails with
the same error instead of running the report again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unerlib.pipeline import run_report

_BUILT: dict[str, object] = {}


def built_index() -> Path:
    """The index page of the smoke report built earlier in this session."""
    return _BUILT["index"]


@pytest.fixture(scope="session")
def smoke_report(data_root, project_root, tmp_path_factory) -> Path:
    """``html/index.html`` of the smoke report, run from the project root on the shared
    data into a temporary build folder with temporary artifacts (the repository's
    ``_build/`` and ``artifacts/`` are never touched; the environment and the working
    folder are restored afterwards)."""
    if "error" in _BUILT:
        pytest.fail(f"the smoke report failed earlier in this session: {_BUILT['error']}")
    if "index" not in _BUILT:
        patch = pytest.MonkeyPatch()
        try:
            patch.chdir(project_root)
            patch.setenv("UNER_DATA_DIR", str(data_root))  # restored afterwards (run_report sets it too)
            patch.setenv("UNER_ARTIFACTS", str(tmp_path_factory.mktemp("smoke_artifacts")))
            patch.setenv("UNER_BUILD", str(tmp_path_factory.mktemp("smoke_build")))
            patch.delenv("UNER_RUN", raising=False)
            _BUILT["index"] = run_report("smoke")
        except Exception as err:
            _BUILT["error"] = err
            raise
        finally:
            patch.undo()
    return _BUILT["index"]
