"""An async client for OpenAI-compatible chat completions (vLLM, SGLang, OpenAI, ...).

aiohttp's ``ClientSession`` keeps a pool of keep-alive connections sized to the concurrency
limit (proxies from the environment); asyncio cancellation ends a request the moment its
sample's deadline passes. (httpx's ``AsyncClient`` was tried first: on this machine its
connection pool served about 60 requests/s at 32 in flight where aiohttp served about 500,
with the same loopback server; see docs/judge.md.) Retries: 408, 409,
429 and 5xx answers, timeouts and transport errors, with exponential backoff and jitter; a
``Retry-After`` header (seconds or an HTTP date) is honoured, and one that would pass the
sample's deadline ends the sample at once with that reason. Other 4xx answers (bad key, unknown
model, context too long) are not retried. Structured output: ``response_format`` with a JSON
schema; in ``auto`` mode a server that rejects it (400 naming ``response_format``) is asked again
without it, and from then on.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from .limits import Limits, estimate_tokens

Structured = Literal["auto", "json_schema", "json_object", "none"]
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
EXCERPT = 300
MAX_BODY = 4 * 1024 * 1024  # a chat completion is kilobytes; more is a broken or hostile server


class RequestFailed(Exception):
    """No usable reply; ``reason`` is short, ``details`` has the status, attempts, body excerpt."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


@dataclass
class ChatReply:
    text: str
    attempts: int
    usage: int | None = None


@dataclass
class ClientSettings:
    base_url: str
    model: str
    api_key: str | None = None
    concurrency: int = 8
    request_timeout: float = 60.0
    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    structured: Structured = "auto"
    extra_body: dict[str, Any] = field(default_factory=dict)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()[:64]
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."


def message_text(body: Any) -> str:
    """``choices[0].message.content`` of a chat completion, or `RequestFailed` saying what is off."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise RequestFailed(
            "server reply is not a chat completion (no choices[0].message.content)",
            body=_excerpt(json.dumps(body)[: EXCERPT * 2]),
        ) from None
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        finish = body["choices"][0].get("finish_reason")
        if finish == "length":
            raise RequestFailed(
                "the reply was cut at max_tokens before any content; raise max_tokens"
            )
        raise RequestFailed("the judge's message has no text content", body=_excerpt(repr(body)))
    return content


class ChatClient:
    """Sends chat requests under shared `Limits`; counts the HTTP requests it made."""

    def __init__(self, settings: ClientSettings, limits: Limits) -> None:
        self.s = settings
        self.limits = limits
        self.requests = 0
        self._structured: Structured = settings.structured
        self._http: Any = None

    def _client(self) -> Any:
        """The session, made on first use inside the running loop."""
        if self._http is None:
            import aiohttp

            headers = {"Content-Type": "application/json"}
            if self.s.api_key:
                headers["Authorization"] = f"Bearer {self.s.api_key}"
            self._http = aiohttp.ClientSession(
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.s.request_timeout),
                connector=aiohttp.TCPConnector(limit=self.s.concurrency),
                trust_env=True,
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _payload(
        self,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        schema: dict[str, Any] | None,
        mode: Structured,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.s.model, "messages": messages, **params}
        if schema is not None and mode in ("auto", "json_schema"):
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "verdict", "schema": schema, "strict": True},
            }
        elif schema is not None and mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        body.update(self.s.extra_body)
        return body

    async def complete(
        self,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        schema: dict[str, Any] | None,
        deadline_at: float,
    ) -> ChatReply:
        """One chat completion's text, retried as the module docstring says."""
        import aiohttp

        url = self.s.base_url.rstrip("/") + "/chat/completions"
        estimated = estimate_tokens(messages, int(params.get("max_tokens") or 512))
        attempt = 0
        last = "no attempt made"
        while True:
            attempt += 1
            await self.limits.admit(estimated)
            wait: float | None = None
            mode = self._structured  # what this attempt asks for (another may change it)
            try:
                async with self.limits.slots:
                    self.requests += 1
                    payload = self._payload(messages, params, schema, mode)
                    async with self._client().post(url, json=payload) as resp:
                        status, headers = resp.status, resp.headers
                        text = await _read_bounded(resp)
            except asyncio.TimeoutError:
                last = f"timed out after {self.s.request_timeout:g} s"
            except aiohttp.ClientError as exc:
                last = f"transport error: {type(exc).__name__}: {exc}"
            else:
                if status == 200:
                    try:
                        body = json.loads(text)
                    except (ValueError, RecursionError):
                        raise RequestFailed(
                            "server reply is not JSON",
                            status=200,
                            attempts=attempt,
                            body=_excerpt(text),
                        ) from None
                    used = _total_tokens(body)
                    self.limits.settle(estimated, used)
                    return ChatReply(message_text(body), attempt, used)
                if (
                    status == 400
                    and mode == "auto"
                    and schema is not None
                    and _rejects_format(text)
                ):
                    self._structured = "none"  # this server has no structured output: ask plainly
                    attempt -= 1
                    continue
                if status not in RETRY_STATUS:
                    raise RequestFailed(
                        f"HTTP {status}", status=status, attempts=attempt, body=_excerpt(text)
                    )
                last = f"HTTP {status}"
                wait = retry_after(headers.get("Retry-After"))
            if attempt > self.s.max_retries:
                raise RequestFailed(f"{last} after {attempt} attempts", attempts=attempt)
            if wait is None:
                base = min(self.s.max_backoff, self.s.backoff * 2 ** (attempt - 1))
                wait = base * random.uniform(0.5, 1.0)
            remaining = deadline_at - time.monotonic()
            if wait >= remaining:
                raise RequestFailed(
                    f"{last}; the next try (in {wait:.1f} s) would pass the deadline",
                    attempts=attempt,
                )
            await asyncio.sleep(wait)


async def _read_bounded(resp: Any) -> str:
    """The body as text, or `RequestFailed` once it passes `MAX_BODY` bytes."""
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestFailed(
                f"reply body over {MAX_BODY // (1024 * 1024)} MiB", status=resp.status
            )
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _total_tokens(body: Any) -> int | None:
    usage = body.get("usage") if isinstance(body, dict) else None
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _rejects_format(body: str) -> bool:
    low = body[:4000].lower()
    return any(w in low for w in ("response_format", "json_schema", "guided", "structured"))
