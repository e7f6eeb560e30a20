"""The OpenAI teacher against a real OpenAI-compatible server: ``transformers serve`` on
localhost, serving the tiny random model of ``conftest_models`` (a plain transformers folder;
no network, no hub), and ``uner construct --teacher openai`` sending the paper's prompt to it
through the ``openai`` SDK.

What is checked is the protocol, not the answers' quality. A random model would ramble until
the token limit (``finish_reason: "length"``, which the teacher does not cache), so the
served copy of the tiny model is scripted through its ``generation_config.json``: a
``sequence_bias`` makes greedy decoding write one fixed list of tuples and then the end token
(``finish_reason: "stop"``). The SDK's requests are accepted, the server's responses read
(text and token usage) and parsed into Pile-NER-type data, every answer cached; a rerun sends nothing (the server's access log counts the requests); a dry
run sends nothing; and a recognisable fake key in ``OPENAI_API_KEY`` appears in no file
written (output, cache, server log, console output).

Marked ``server``; skipped only when ``transformers serve`` cannot run here
(``pip install "transformers[serving]"``, which ``make test`` installs through the dev extra).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: tiny_dir, ...)

pytestmark = pytest.mark.server

LEAK = "sk-test-SERVERLEAKCHECK-9876543210zyxwvu"
PASSAGES = [
    "Ada Lovelace worked with Charles Babbage in London.",
    "The Eiffel Tower was completed in 1889 in Paris.",
    "Marie Curie won the Nobel Prize in Physics in 1903.",
]
ANSWER = '[("Ada Lovelace", "person"), ("London", "location")]'
START_TIMEOUT = 60.0  # seconds for the server to answer /health
REQUEST_LINE = '"POST /v1/chat/completions HTTP/1.1" 200'
# ``uner construct`` is run as ``unerlib.cli.main`` (what the ``uner`` script calls) in a fresh
# Python, with the exclusion of evaluation sentences off: it reads every evaluation corpus
# (15 s a run, and the shared data) and is tested elsewhere; these passages are hand-written.
UNER = ("import sys, unerlib.experiments as e; e.evaluation_texts = lambda root=None: set(); "
        "from unerlib.cli import main; sys.exit(main(sys.argv[1:]))")


def scripted_copy(model_dir: Path, out: Path, answer: str = ANSWER) -> Path:
    """A copy of a model folder whose greedy answer to anything is ``answer`` then the end
    token: ``sequence_bias`` rewards each next token of the script after its prefix (the
    longer the prefix, the larger the reward, so the script wins over its own restarts)."""
    from transformers import AutoTokenizer

    shutil.copytree(model_dir, out)
    tok = AutoTokenizer.from_pretrained(str(out))
    ids = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    config_path = out / "generation_config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    config["sequence_bias"] = [[ids[:k + 1], 100.0 * (k + 1)] for k in range(len(ids))]
    config_path.write_text(json.dumps(config, indent=1))
    return out


def transformers_cli() -> str | None:
    """The ``transformers`` command of this environment, when it can serve (FastAPI, uvicorn)."""
    exe = Path(sys.executable).parent / "transformers"
    path = str(exe) if exe.is_file() else shutil.which("transformers")
    if path is None:
        return None
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return None
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def _healthy(port: int) -> bool:
    """Whether the server on ``port`` answers its health check (False while it starts)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False

@contextmanager
def transformers_serve(model_dir: Path, log: Path, timeout: float = START_TIMEOUT):
    """``transformers serve MODEL_DIR`` on a free localhost port; yields the base URL
    (``http://127.0.0.1:PORT/v1``); stopped (then killed) on exit. Offline: the model is a
    local folder and ``HF_HUB_OFFLINE`` is set. The key is not in the server's environment."""
    cli = transformers_cli()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1")
    cmd = [cli, "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
           "--log-level", "info"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if _healthy(port):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not answer /health within {timeout:.0f} s:\n"
                                   f"{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def requests_served(log: Path) -> int:
    """Chat completions the server answered, from its access log."""
    return log.read_text(errors="replace").count(REQUEST_LINE)


def _construct(tmp_path: Path, base_url: str, model: str, tiny_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    args = ["construct", "--teacher", "openai", "--sources", f"file:{tmp_path / 'passages.txt'}",
            "--passages", str(len(PASSAGES)), "--student", str(tiny_dir), "--teacher-model", model,
            "--base-url", base_url, "--cache", str(tmp_path / "cache.sqlite"), "--out", str(tmp_path / "out.json"),
            *extra]
    cmd = [sys.executable, "-c", UNER, *args]
    env = {**os.environ, "OPENAI_API_KEY": LEAK, "UNER_TEACHER_MAX_TOKENS": "64", "UNER_TEACHER_CONCURRENCY": "2",
           "UNER_TEACHER_TIMEOUT": "60", "UNER_TEACHER_MAX_RETRIES": "1", "HF_HUB_OFFLINE": "1",
           "UNER_ARTIFACTS": str(tmp_path / "artifacts"), "OMP_NUM_THREADS": "1"}
    env.pop("OPENAI_BASE_URL", None)
    env.pop("UNER_TEACHER_BASE_URL", None)
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    (tmp_path / "console.txt").open("a").write(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def _summary(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON summary in the output:\n{stdout}")


def test_construct_against_transformers_serve(tiny_dir, tmp_path):
    if transformers_cli() is None:
        pytest.skip('transformers serve is not installed (pip install "transformers[serving]"; '
                    "make test installs it through the dev extra)")
    (tmp_path / "passages.txt").write_text("\n\n".join(PASSAGES) + "\n")
    log = tmp_path / "server.log"
    served = scripted_copy(tiny_dir, tmp_path / "served-model")
    model = str(served)
    with transformers_serve(served, log) as base_url:
        # the protocol as the SDK speaks it: the model list, then one chat completion
        import openai

        client = openai.OpenAI(api_key=LEAK, base_url=base_url, max_retries=0, timeout=60)
        assert any(m.id == model for m in client.models.list().data)
        assert requests_served(log) == 0
        reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}],
                                               max_tokens=40, temperature=0)
        assert reply.choices[0].message.content == ANSWER and reply.choices[0].finish_reason == "stop"
        assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
        assert requests_served(log) == 1
        served_before = 1

        dry = _construct(tmp_path, base_url, model, tiny_dir, "--dry-run", "--price-in", "0.5", "--price-out", "1.5")
        assert requests_served(log) == served_before, "a dry run sent requests"
        assert not (tmp_path / "cache.sqlite").exists() or _cache_rows(tmp_path / "cache.sqlite") == 0
        assert dry.stdout.strip()

        first = _summary(_construct(tmp_path, base_url, model, tiny_dir).stdout)
        assert requests_served(log) == served_before + len(PASSAGES)
        teacher = first["teacher"]
        assert teacher["requests"] == teacher["answered"] == len(PASSAGES) and teacher["cached"] == 0
        assert teacher["prompt_tokens"] > 0 and teacher["completion_tokens"] > 0
        assert _cache_rows(tmp_path / "cache.sqlite") == len(PASSAGES)
        out_first = (tmp_path / "out.json").read_text()
        data = json.loads(out_first)
        assert len(data) == len(PASSAGES) and first["passages"] == len(PASSAGES)
        assert {t["value"] for item in data for t in item["conversations"][2::2]} == \
            {"What describes person in the text?", "What describes location in the text?"}
        assert all(item["teacher"] == "openai" for item in data)

        second = _summary(_construct(tmp_path, base_url, model, tiny_dir).stdout)
        assert requests_served(log) == served_before + len(PASSAGES), "the rerun sent requests"
        assert second["teacher"]["requests"] == 0 and second["teacher"]["cached"] == len(PASSAGES)
        assert (tmp_path / "out.json").read_text() == out_first
    # the key stayed in the environment: in no file written (cache, output, server log, console)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"cache.sqlite", "out.json", "server.log", "console.txt"} <= {p.name for p in written}
    for path in written:
        assert LEAK.encode() not in path.read_bytes(), f"the API key leaked into {path}"


def _cache_rows(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(str(path)) as db:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
