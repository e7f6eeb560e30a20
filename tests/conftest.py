"""Shared fixtures of the unerlib test suite.

Unit tests read only the small hand-written files under ``tests/fixtures/``. Integration
tests read the shared data through the ``data_root`` fixture, which skips them (with the
reason) when ``$UNER_DATA_DIR`` is unset or does not point at the shared data folder.
The shared data is read-only and is never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root (the folder holding ``_toc.yml``)."""
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The folder of the hand-written fixture files."""
    return FIXTURES


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared data folder from ``$UNER_DATA_DIR``; skips the test when it is not there."""
    value = os.environ.get("UNER_DATA_DIR")
    if not value:
        pytest.skip("integration test: UNER_DATA_DIR is not set (point it at the shared data, e.g. ../shared/data)")
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        pytest.skip(f"integration test: UNER_DATA_DIR={value} does not exist")
    if not (root / "MANIFEST.md").is_file():
        pytest.skip(f"integration test: UNER_DATA_DIR={value} has no MANIFEST.md (not the shared data folder)")
    return root
