"""A persistent verdict cache in SQLite, safe from several threads and several processes.

Keys are SHA-256 digests of canonical JSON of everything that decides a verdict (see
`verdict_key`); values are the parsed verdict and the raw reply, as JSON. Each thread of each
process opens its own connection (SQLite connections must not cross a fork); WAL journaling
lets readers run beside a writer, and ``busy_timeout`` makes concurrent writers wait instead of
failing. Only verdicts are stored: failures are asked again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

CACHE_VERSION = 1
DEFAULT_PATH = "~/.cache/assay/judge.sqlite"
_CHUNK = 500  # bound parameters per query, well under SQLite's limit


def default_path() -> Path:
    """``$ASSAY_JUDGE_CACHE`` if set, else ``$XDG_CACHE_HOME/assay/judge.sqlite`` (or ~/.cache)."""
    env = os.environ.get("ASSAY_JUDGE_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "assay" / "judge.sqlite"
    return Path(DEFAULT_PATH).expanduser()


def verdict_key(**parts: Any) -> str:
    """The cache key of one judge request: a digest of its canonical JSON."""
    blob = json.dumps(
        {"v": CACHE_VERSION, **parts}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class VerdictCache:
    """``get_many(keys) -> {key: value}`` and ``put(key, value)``; values are JSON-able dicts."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        import sqlite3

        try:
            self._conn()  # fail early, in the caller, on a path that cannot hold a database
        except sqlite3.Error as exc:
            raise ValueError(
                f"cannot use {self.path} as the judge's verdict cache ({exc}); choose another "
                "cache_path, or cache: false"
            ) from None

    def _conn(self) -> sqlite3.Connection:
        pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != pid:
            import sqlite3  # here: importing the plugin stays free of it

            conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS verdicts ("
                "key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )
            self._local.conn, self._local.pid = conn, pid
        return conn

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        conn = self._conn()
        uniq = list(dict.fromkeys(keys))
        for i in range(0, len(uniq), _CHUNK):
            chunk = uniq[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT key, value FROM verdicts WHERE key IN ({marks})", chunk)
            for key, value in rows:
                try:
                    out[key] = json.loads(value)
                except ValueError:  # a damaged row is a miss; the next put replaces it
                    continue
        return out

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO verdicts (key, value, created) VALUES (?, ?, ?)",
            (key, json.dumps(value, ensure_ascii=False), time.time()),
        )

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local = threading.local()
