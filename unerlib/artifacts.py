"""One artifacts directory, every artifact keyed by the parameters that made it.

``artifacts/{kind}/{key}/`` where ``key`` hashes the parameters (``params.json`` inside
records them). A rerun with the same parameters finds the artifact and reuses it; a
changed parameter gives a new key and rebuilds. An artifact is complete only once its
``done`` marker exists, so a run that dies midway is redone (or resumed) next time.

Keys hash content, not names: an input file enters the parameters by the sha256 of its
bytes (:func:`file_digest`), and each kind carries a format version
(:data:`FORMAT_VERSIONS`) that is bumped when the meaning of its files changes, so old
artifacts are rebuilt instead of misread. Files are written atomically (a temporary name,
then a rename: :func:`write_text_atomic`), ``params.json`` once, and a folder being built is
locked (:func:`building`): a second process waits for the first and then reuses its work.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ARTIFACTS_ENV = "UNER_ARTIFACTS"

#: Format version of each artifact kind, part of its key: bump one when the meaning of the
#: files of that kind changes (a new field, another rule), and its old artifacts are rebuilt.
FORMAT_VERSIONS: dict[str, int] = {"teacher_data": 2, "students": 2, "supervised_data": 2, "evaluations": 3}

#: How long :func:`building` waits for another process's lock before giving up (seconds).
LOCK_TIMEOUT = float(os.environ.get("UNER_LOCK_TIMEOUT", 24 * 3600))


class ArtifactError(Exception):
    """An artifact cannot be read, written or locked; the message names the folder."""


def artifacts_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$UNER_ARTIFACTS``, else ``./artifacts``."""
    return Path(root or os.environ.get(ARTIFACTS_ENV) or "artifacts").resolve()


def params_key(params: dict[str, Any]) -> str:
    """A short stable hash of JSON-serialisable parameters."""
    blob = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def keyed_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` plus the kind's format version (``"format"``) when it has one."""
    if kind in FORMAT_VERSIONS:
        return {**params, "format": FORMAT_VERSIONS[kind]}
    return dict(params)


def artifact_dir(kind: str, params: dict[str, Any], root: str | os.PathLike | None = None) -> Path:
    """The folder of one artifact (created, with its ``params.json``, written once).

    The key hashes ``params`` and the kind's format version (:data:`FORMAT_VERSIONS`)."""
    params = keyed_params(kind, params)
    folder = artifacts_root(root) / kind / params_key(params)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "params.json").is_file():
        write_text_atomic(folder / "params.json", json.dumps(params, sort_keys=True, indent=1, default=str))
    return folder


_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (memoised per path, size and modification time)."""
    path = Path(path).resolve()
    try:
        st = path.stat()
    except OSError as err:
        raise ArtifactError(f"cannot read input file {path}: {err.strerror or err}") from None
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[memo] = h.hexdigest()
    return _DIGESTS[memo]


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``:
    a reader sees the old file or the whole new one, never part of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """:func:`write_bytes_atomic` of UTF-8 text."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, obj: Any, **dumps: Any) -> Path:
    """:func:`write_bytes_atomic` of ``json.dumps(obj, **dumps)``."""
    return write_text_atomic(path, json.dumps(obj, **dumps))


def is_main_process() -> bool:
    """Whether this process writes artifacts: rank 0 of a distributed launch, or alone."""
    return int(os.environ.get("RANK", "0") or 0) == 0


@contextmanager
def building(folder: Path, timeout: float | None = None, all_ranks: bool = False) -> Iterator[Path]:
    """Hold the lock of an artifact folder while building it (``folder/.lock``, through
    ``filelock``). A second process blocks here until the first is done; it should then
    check :func:`is_done` again and reuse the artifact.

    Under a distributed launch, ranks other than 0 do not lock unless ``all_ranks``: a
    student is built by all ranks together (rank 0 holds the lock for them; a rank waiting
    for it would never join the training), while an artifact that rank 0 builds alone
    (``all_ranks=True``) makes the other ranks wait for it and reuse it."""
    if not all_ranks and not is_main_process():
        yield folder
        return
    from filelock import FileLock, Timeout

    lock = FileLock(str(Path(folder) / ".lock"), timeout=LOCK_TIMEOUT if timeout is None else timeout)
    try:
        lock.acquire()
    except Timeout:
        raise ArtifactError(f"{folder} is being built by another process (lock {folder / '.lock'} "
                            f"held for more than {lock.timeout:.0f} s)") from None
    try:
        yield folder
    finally:
        lock.release()


def artifact_label(path: str | os.PathLike, root: str | os.PathLike | None = None) -> str:
    """How a page names an artifact: its path relative to the artifacts root (e.g.
    ``students/1a2b3c4d5e6f``), never the machine's absolute path. A path outside the root
    keeps only its last two parts; a relative one (a Hugging Face id) is returned as given."""
    given = Path(path)
    if not given.is_absolute() and not given.exists():
        return given.as_posix()
    full = given.resolve()
    try:
        return full.relative_to(artifacts_root(root)).as_posix() or "."
    except ValueError:
        return "/".join(("…", *full.parts[-2:]))


def is_done(folder: Path) -> bool:
    """Whether an artifact was completed."""
    return (folder / "done").is_file()


def mark_done(folder: Path) -> None:
    """Mark an artifact complete (its files are all written)."""
    write_text_atomic(folder / "done", "")
