"""Thumbs up / down from the chat, kept in SQLite with the question, the answer and its sources, so they
can later become gold questions or regression cases."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, liked INTEGER NOT NULL,
    question TEXT NOT NULL, query TEXT, answer TEXT NOT NULL, sources TEXT NOT NULL)"""


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def save(self, question: str, answer: str, sources: list[dict], liked: bool, query: str = "") -> None:
        with self._lock, self._connect() as db:
            db.execute("INSERT INTO feedback (at, liked, question, query, answer, sources) VALUES (?,?,?,?,?,?)",
                       (time.strftime("%Y-%m-%dT%H:%M:%S%z"), int(liked), question, query, answer,
                        json.dumps(sources, ensure_ascii=False)))

    def all(self) -> list[dict]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]
