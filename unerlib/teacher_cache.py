"""The teacher's persistent response cache: one SQLite row per request, keyed by the model,
the messages and the parameters, so a killed run restarts without re-sending anything
already answered. Only answers are stored; never the API key."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Mapping



class ResponseCache:
    """Persistent cache of teacher responses in SQLite: key -> raw output text and usage.

    Each :meth:`put` commits at once, so a run killed midway keeps every answer it received.
    Only model output and token counts are stored (never credentials). Thread-safe.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, output TEXT NOT NULL,"
                " prompt_tokens INTEGER, completion_tokens INTEGER)"
            )
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(responses)")]
            if "finish" not in columns:  # caches written before refusals were recorded
                self._db.execute("ALTER TABLE responses ADD COLUMN finish TEXT")
            self._db.commit()

    @staticmethod
    def key(request: Mapping[str, Any]) -> str:
        """sha256 of the canonical JSON of the request (model, messages, parameters)."""
        blob = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def get(self, key: str) -> tuple[str, dict[str, int]] | None:
        """The cached ``(output, usage)`` for ``key``, or ``None`` (also for a blank output
        that is not a recorded refusal: an old cache's empty reply is asked again)."""
        entry = self.get_entry(key)
        return None if entry is None else entry[:2]

    def get_entry(self, key: str) -> tuple[str, dict[str, int], str | None] | None:
        """The cached ``(output, usage, finish)`` for ``key`` (``finish`` is ``"refused"``
        for a recorded refusal, else ``None``), or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT output, prompt_tokens, completion_tokens, finish FROM responses WHERE key = ?", (key,)
            ).fetchone()
        if row is None or (not (row[0] or "").strip() and row[3] != "refused"):
            return None
        return row[0], {"prompt_tokens": row[1] or 0, "completion_tokens": row[2] or 0}, row[3]

    def put(self, key: str, output: str, usage: Mapping[str, int], model: str = "", finish: str | None = None) -> None:
        """Store one answer (or, with ``finish="refused"``, a final refusal) and commit."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, model, output, prompt_tokens, completion_tokens, finish)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, output, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
                 finish),
            )
            self._db.commit()

    def usage_totals(self) -> tuple[int, int, int]:
        """``(answers, prompt_tokens, completion_tokens)`` summed over the cached answers."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens) FROM responses").fetchone()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"
