"""Fixtures for the assay-judge tests.

Nothing can serve a real model here (no GPU), so the judge talks to a real HTTP server on
loopback (`assay_judge.testing.ScriptedChatServer`) that speaks the OpenAI chat-completions
protocol and answers from a script: the HTTP, the limits, retries, deadlines and the cache are
all real; only the verdicts are scripted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("assay_judge")
pytest.importorskip("aiohttp")

from assay_judge.testing import Reply, ScriptedChatServer, graded_text


def likert_by_text(body: dict[str, Any]) -> Reply | str:
    """A scripted judge: grades 5 if the response says "good", 500s on "crash", garbage on "junk"."""
    text = graded_text(body)
    if "crash" in text:
        return Reply(status=500, body='{"error": {"message": "internal error"}}')
    if "junk" in text:
        return "Sure! I would rate this response highly."
    return json.dumps({"reasoning": "scripted", "score": 5 if "good" in text else 2})


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedChatServer]]:
    """``serve(script, latency=0.0)`` starts a server for this test and stops it after."""
    servers: list[ScriptedChatServer] = []

    def start(
        script: Callable[[dict[str, Any]], Any] = likert_by_text, latency: float = 0.0
    ) -> ScriptedChatServer:
        s = ScriptedChatServer(script, latency=latency).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def judge_options(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Options for a judge on ``server`` with a fresh cache in tmp_path, fast retries."""

    def make(server: ScriptedChatServer, **over: Any) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "base_url": server.url,
            "model": "scripted-judge",
            "rubric": {"likert": 5},
            "cache_path": str(tmp_path / "verdicts.sqlite"),
            "backoff": 0.01,
            "max_retries": 2,
        }
        opts.update(over)
        return opts

    return make


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A judge built without ``cache_path`` writes its default cache under tmp_path, not ~."""
    monkeypatch.setenv("ASSAY_JUDGE_CACHE", str(tmp_path / "default-cache.sqlite"))
