"""Runs a batch of judge requests: cache first, then the endpoints under limits and deadlines.

A *job* is one sample's requests (self-consistency draws, a cross-check, both orders of a
pairwise comparison). Cached answers are read in one query before anything is sent. At most
``concurrency`` jobs are in flight; a job's deadline counts from when it starts, so queueing
behind other samples never times a sample out. Every request ends as an `Answer`: a parsed
value, or an error reason with the raw reply; only parsed values are cached.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cache import VerdictCache, verdict_key
from .client import ChatClient, ClientSettings, RequestFailed
from .limits import Limits
from .options import Endpoint, JudgeSettings
from .parsing import VerdictError
from .runner import LoopThread

logger = logging.getLogger(__name__)


@dataclass
class Request:
    endpoint: Endpoint
    messages: list[dict[str, str]]
    params: dict[str, Any]
    schema: dict[str, Any] | None
    parse: Callable[[str], Any]
    key_parts: dict[str, Any]
    draw: int = 0  # self-consistency draw: part of the key even when no seed tells draws apart

    def key(self) -> str:
        ep = self.endpoint
        return verdict_key(
            endpoint=ep.base_url.rstrip("/"),
            model=ep.model,
            messages=self.messages,
            params=self.params,
            schema=self.schema,
            draw=self.draw,
            **self.key_parts,
        )


@dataclass
class Answer:
    value: Any = None
    error: str | None = None
    reply: str | None = None
    cached: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


TIMED_OUT = "deadline"


class JudgeEngine:
    """Holds the loop, the clients (one per endpoint), the limits and the cache."""

    def __init__(self, settings: JudgeSettings) -> None:
        self.settings = settings
        self.cache = VerdictCache(settings.cache_path) if settings.cache else None
        self._runner = LoopThread()
        self._state: tuple[int, dict[str, ChatClient], asyncio.Semaphore] | None = None
        # Sessions are closed on `close`, or when the engine is collected (no warnings, no leak).
        self._live: dict[str, ChatClient] = {}
        self._finalizer = weakref.finalize(self, _shutdown, self._runner, self._live, os.getpid())
        self._keys: dict[tuple[str, str | None], str | None] = {}
        self.endpoint_key(settings)  # a missing key fails here, early

    def endpoint_key(self, ep: Endpoint) -> str | None:
        """The API key of an endpoint (read from its variable once)."""
        k = (ep.base_url, ep.api_key_env)
        if k not in self._keys:
            self._keys[k] = ep.api_key()
        return self._keys[k]

    # -- loop-bound state (rebuilt in a forked child) --------------------------------------------
    def _loop_state(self) -> tuple[dict[str, ChatClient], asyncio.Semaphore]:
        if self._state is None or self._state[0] != os.getpid():
            self._live.clear()
            self._state = (os.getpid(), self._live, asyncio.Semaphore(self.settings.concurrency))
        return self._state[1], self._state[2]

    def _client(self, ep: Endpoint) -> ChatClient:
        clients, _ = self._loop_state()
        ident = f"{ep.base_url}\x00{ep.model}\x00{ep.api_key_env}"
        if ident not in clients:
            s = self.settings
            # One set of limits per server: a cross-check by another model on the same server
            # shares its concurrency, RPM and TPM.
            server = ep.base_url.rstrip("/")
            same = [c for c in clients.values() if c.s.base_url.rstrip("/") == server]
            limits = same[0].limits if same else Limits(s.concurrency, s.rpm, s.tpm)
            cs = ClientSettings(
                base_url=ep.base_url,
                model=ep.model,
                api_key=self.endpoint_key(ep),
                concurrency=s.concurrency,
                request_timeout=s.request_timeout,
                max_retries=s.max_retries,
                backoff=s.backoff,
                max_backoff=s.max_backoff,
                structured=s.structured,
                extra_body=s.extra_body,
            )
            clients[ident] = ChatClient(cs, limits)
        return clients[ident]

    @property
    def requests_sent(self) -> int:
        """HTTP requests this process has sent (retries included)."""
        if self._state is None or self._state[0] != os.getpid():
            return 0
        return sum(c.requests for c in self._state[1].values())

    # -- running --------------------------------------------------------------------------------
    def run(self, jobs: Sequence[Sequence[Request]]) -> list[list[Answer] | str]:
        """Each job's answers in request order, or `TIMED_OUT` for a job past its deadline."""
        return self._runner.run(self._run(jobs))

    async def arun(self, jobs: Sequence[Sequence[Request]]) -> list[list[Answer] | str]:
        return await self._runner.arun(self._run(jobs))

    async def _run(self, jobs: Sequence[Sequence[Request]]) -> list[list[Answer] | str]:
        keys = [[r.key() for r in job] for job in jobs]
        hits: dict[str, dict[str, Any]] = {}
        flat = [k for ks in keys for k in ks]
        if self.cache is not None and flat:
            try:
                hits = await asyncio.to_thread(self.cache.get_many, flat)
            except Exception as exc:  # noqa: BLE001 - sqlite3.Error and OS errors: ask the server instead
                logger.warning(
                    "judge cache %s unreadable, asking the server: %s", self.cache.path, exc
                )
        return list(
            await asyncio.gather(*(self._job(job, ks, hits) for job, ks in zip(jobs, keys)))
        )

    async def _job(
        self, job: Sequence[Request], keys: list[str], hits: dict[str, dict[str, Any]]
    ) -> list[Answer] | str:
        answers: list[Answer | None] = []
        todo = []
        for r, k in zip(job, keys):
            hit = hits.get(k)
            if hit is not None:
                answers.append(Answer(value=hit["value"], reply=hit.get("reply"), cached=True))
            else:
                answers.append(None)
                todo.append((len(answers) - 1, r, k))
        if not todo:
            return [a for a in answers if a is not None]
        _, gate = self._loop_state()
        async with gate:
            deadline = self.settings.deadline
            deadline_at = time.monotonic() + deadline
            try:
                done = await asyncio.wait_for(
                    asyncio.gather(*(self._ask(r, k, deadline_at) for _, r, k in todo)), deadline
                )
            except asyncio.TimeoutError:
                return TIMED_OUT
        for (i, _, _), a in zip(todo, done):
            answers[i] = a
        return [a for a in answers if a is not None]

    async def _ask(self, r: Request, key: str, deadline_at: float) -> Answer:
        client = self._client(r.endpoint)
        try:
            reply = await client.complete(r.messages, r.params, r.schema, deadline_at)
        except RequestFailed as exc:
            return Answer(error=f"judge request failed: {exc.reason}", details=exc.details)
        try:
            value = r.parse(reply.text)
        except VerdictError as exc:
            return Answer(
                error=f"unparsable verdict: {exc}",
                reply=reply.text,
                details={"attempts": reply.attempts},
            )
        if self.cache is not None:
            try:
                await asyncio.to_thread(self.cache.put, key, {"value": value, "reply": reply.text})
            except Exception as exc:  # noqa: BLE001 - a full disk or a locked file loses the entry, not the verdict
                logger.warning("judge cache %s: verdict not stored: %s", self.cache.path, exc)
        return Answer(value=value, reply=reply.text, details={"attempts": reply.attempts})

    def close(self) -> None:
        self._finalizer()
        self._state = None
        if self.cache is not None:
            self.cache.close()


def _shutdown(runner: LoopThread, clients: dict[str, ChatClient], pid: int) -> None:
    """Close the HTTP sessions on their loop, then stop it (in the process that made them)."""
    if clients and pid == os.getpid():
        with contextlib.suppress(RuntimeError, TimeoutError, concurrent.futures.TimeoutError):
            runner.run(_close_all(list(clients.values())), timeout=5.0)
    clients.clear()
    runner.stop()


async def _close_all(clients: list[ChatClient]) -> None:
    for c in clients:
        await c.aclose()
