"""Artifacts keyed by content: data files by their bytes, a format version per kind; atomic
writes; ``params.json`` written once; a folder being built is locked and a second process
waits, then reuses the artifact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest_models import student_tokenizer  # noqa: F401  (fixture)
from unerlib import artifacts
from unerlib.artifacts import (FORMAT_VERSIONS, artifact_dir, building, file_digest, is_done, mark_done,
                               params_key, write_json_atomic, write_text_atomic)

ROW = {"id": "p0", "source": "test", "teacher": "corpus", "conversations": [
    {"from": "human", "value": "Text: Obama met Merkel in Berlin."}, {"from": "gpt", "value": "I've read this text."},
    {"from": "human", "value": "What describes person in the text?"}, {"from": "gpt", "value": '["Obama", "Merkel"]'}]}


@pytest.fixture
def fake_training(monkeypatch, student_tokenizer):  # noqa: F811
    """``build_student`` without training: the student is the tokenizer alone, ``train``
    writes a file and counts its calls."""
    import unerlib.student
    import unerlib.train

    calls = []

    class Stub:
        tokenizer = student_tokenizer

    def fake_train(config, examples, output_dir, **kw):
        calls.append(Path(output_dir))
        Path(output_dir, "adapter_config.json").write_text("{}")
        return Path(output_dir)

    monkeypatch.setattr(unerlib.student, "load_student", lambda *a, **k: Stub())
    monkeypatch.setattr(unerlib.train, "train", fake_train)
    return calls


def _data(folder: Path, name: str, rows) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(rows))
    return path


def test_two_data_files_in_one_folder_give_two_students(tmp_path, fake_training):
    from unerlib.experiments import build_student

    a = _data(tmp_path / "data", "a.json", [ROW])
    b = _data(tmp_path / "data", "b.json", [ROW, {**ROW, "id": "p1"}])
    sa = build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1)
    sb = build_student(b, root=tmp_path / "art", progress=False, model="x", max_steps=1)
    assert sa != sb and len(fake_training) == 2
    pa, pb = (json.loads((s / "params.json").read_text()) for s in (sa, sb))
    assert pa["data"] == file_digest(a) and pb["data"] == file_digest(b)
    assert pa["format"] == FORMAT_VERSIONS["students"]
    # the same bytes under another name or folder: the same student, reused
    c = _data(tmp_path / "elsewhere", "copy.json", [ROW])
    c.write_bytes(a.read_bytes())
    assert build_student(c, root=tmp_path / "art", progress=False, model="x", max_steps=1) == sa
    assert len(fake_training) == 2
    # a changed file: a new key
    a.write_text(json.dumps([ROW, ROW]))
    assert build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1) != sa
    assert len(fake_training) == 3


def test_changed_format_version_rebuilds(tmp_path, fake_training, monkeypatch):
    from unerlib.experiments import build_student

    a = _data(tmp_path / "data", "a.json", [ROW])
    first = build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1)
    assert build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1) == first
    assert len(fake_training) == 1
    monkeypatch.setitem(FORMAT_VERSIONS, "students", FORMAT_VERSIONS["students"] + 1)
    second = build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1)
    assert second != first and len(fake_training) == 2
    assert json.loads((second / "params.json").read_text())["format"] == FORMAT_VERSIONS["students"]


def test_key_covers_the_format_version(monkeypatch, tmp_path):
    params = {"a": 1}
    before = artifact_dir("teacher_data", params, tmp_path)
    monkeypatch.setitem(FORMAT_VERSIONS, "teacher_data", 99)
    after = artifact_dir("teacher_data", params, tmp_path)
    assert before != after and after.name == params_key({"a": 1, "format": 99})
    # kinds without a version keep their old keys
    assert artifact_dir("runs_of_a_kind_without_version", params, tmp_path).name == params_key(params)


def test_params_json_written_once(tmp_path):
    folder = artifact_dir("students", {"x": 1}, tmp_path)
    path = folder / "params.json"
    stamp = path.stat().st_mtime_ns
    inode = path.stat().st_ino
    time.sleep(0.01)
    assert artifact_dir("students", {"x": 1}, tmp_path) == folder
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == (stamp, inode)


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "data.json"
    write_json_atomic(target, {"old": True})

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(artifacts.os, "fsync", boom)
    with pytest.raises(OSError):
        write_json_atomic(target, {"new": list(range(100_000))})
    assert json.loads(target.read_text()) == {"old": True}  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]  # no temporary left
    monkeypatch.undo()
    write_text_atomic(tmp_path / "sub" / "x.txt", "é")
    assert (tmp_path / "sub" / "x.txt").read_text(encoding="utf-8") == "é"


def test_file_digest_is_of_the_bytes(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("[1]")
    b.write_text("[1]")
    assert file_digest(a) == file_digest(b)
    b.write_text("[2]")
    assert file_digest(a) != file_digest(b)
    with pytest.raises(artifacts.ArtifactError, match="missing.json"):
        file_digest(tmp_path / "missing.json")


HOLDER = r'''
import sys, time
from pathlib import Path
from unerlib.artifacts import building, mark_done
folder = Path(sys.argv[1])
with building(folder):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    (folder / "adapter_config.json").write_text("{}")
    mark_done(folder)
'''


def test_second_process_waits_on_the_lock_and_reuses(tmp_path, fake_training):
    from unerlib.experiments import build_student

    a = _data(tmp_path / "data", "a.json", [ROW])
    # the folder build_student will use: same parameters as below
    import unerlib.experiments as ex

    from unerlib.train import TrainConfig, config_key

    params = {"data": file_digest(a), "negatives": "frequency", "n_negatives": 2,
              "merge_type_variants": True, "train": config_key(TrainConfig(seed=0, model="x", max_steps=1))}
    folder = ex.artifact_dir("students", params, tmp_path / "art")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), "1.5"], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        got = build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1)
        waited = time.monotonic() - t0
    finally:
        holder.wait(timeout=30)
    assert got == folder and is_done(folder)
    assert waited > 0.5  # it waited for the other process
    assert fake_training == []  # and reused its work instead of training again


def test_lock_timeout_is_an_artifact_error(tmp_path):
    from filelock import FileLock

    folder = tmp_path / "f"
    folder.mkdir()
    other = FileLock(str(folder / ".lock"))
    other.acquire()
    try:
        # filelock locks are per process object; another thread's lock object contends like a process
        import threading

        errors = []

        def attempt():
            try:
                with building(folder, timeout=0.2):
                    pass
            except artifacts.ArtifactError as err:
                errors.append(str(err))

        t = threading.Thread(target=attempt)
        t.start()
        t.join(10)
    finally:
        other.release()
    assert errors and "being built by another process" in errors[0] and str(folder) in errors[0]


def test_mark_done(tmp_path):
    assert not is_done(tmp_path)
    mark_done(tmp_path)
    assert is_done(tmp_path)


def test_lowercase_share_is_in_the_key_only_when_set(tmp_path, fake_training, monkeypatch):
    """``lowercase``: a new student, trained on lower-cased conversations; 0 keeps the key of
    students cached before the option (no ``lowercase`` field)."""
    import unerlib.train
    from unerlib.experiments import build_student

    seen = []
    monkeypatch.setattr(unerlib.train, "train", lambda config, examples, out, **kw: (
        seen.append(examples), Path(out, "adapter_config.json").write_text("{}")))
    a = _data(tmp_path / "data", "a.json", [ROW])
    plain = build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1)
    assert "lowercase" not in json.loads((plain / "params.json").read_text())
    assert build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1, lowercase=0.0) == plain
    lower = build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1, lowercase=1.0)
    assert lower != plain and json.loads((lower / "params.json").read_text())["lowercase"] == 1.0
    assert seen[0][0]["input_ids"] != seen[1][0]["input_ids"]  # the passage and answers tokenized in lower case
    with pytest.raises(ValueError, match="between 0 and 1"):
        build_student(a, root=tmp_path / "art", progress=False, model="x", max_steps=1, lowercase=30)
