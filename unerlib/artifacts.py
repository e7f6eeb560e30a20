"""One artifacts directory, every artifact keyed by the parameters that made it.

``artifacts/{kind}/{key}/`` where ``key`` hashes the parameters (``params.json`` inside
records them). A rerun with the same parameters finds the artifact and reuses it; a
changed parameter gives a new key and rebuilds. An artifact is complete only once its
``done`` marker exists, so a run that dies midway is redone (or resumed) next time.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

ARTIFACTS_ENV = "UNER_ARTIFACTS"


def artifacts_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$UNER_ARTIFACTS``, else ``./artifacts``."""
    return Path(root or os.environ.get(ARTIFACTS_ENV) or "artifacts").resolve()


def params_key(params: dict[str, Any]) -> str:
    """A short stable hash of JSON-serialisable parameters."""
    blob = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def artifact_dir(kind: str, params: dict[str, Any], root: str | os.PathLike | None = None) -> Path:
    """The folder of one artifact (created, with its ``params.json``)."""
    folder = artifacts_root(root) / kind / params_key(params)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.json").write_text(json.dumps(params, sort_keys=True, indent=1, default=str))
    return folder


def is_done(folder: Path) -> bool:
    """Whether an artifact was completed."""
    return (folder / "done").is_file()


def mark_done(folder: Path) -> None:
    """Mark an artifact complete (its files are all written)."""
    (folder / "done").write_text("")
