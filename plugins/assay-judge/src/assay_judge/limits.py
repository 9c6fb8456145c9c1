"""Request and token rate limits for the judge client (asyncio token buckets).

A bucket refills at ``per_minute / 60`` units per second and holds at most one second's worth
(at least one request's cost), so a cold start does not burst a whole minute's quota at a
server. Token costs are estimated before a request (prompt characters / 4 + ``max_tokens``) and
corrected with the server's ``usage`` afterwards. Limits hold per judge instance (one process);
several processes sharing one quota should each get their share.
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """``await acquire(cost)`` waits until the bucket can pay ``cost`` (it may go negative)."""

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise ValueError("a rate limit must be positive")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def acquire(self, cost: float = 1.0) -> None:
        # Requests queue on the lock in arrival order; a request costlier than the capacity
        # waits for a full bucket and then drives the level negative.
        need = min(cost, self.capacity)
        async with self._lock:
            self._refill()
            while self.level < need:
                await asyncio.sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= cost

    def adjust(self, delta: float) -> None:
        """Charge ``delta`` more (or refund a negative one) once the true cost is known."""
        self._refill()
        self.level = min(self.capacity, self.level - delta)


def estimate_tokens(messages: list[dict[str, str]], max_tokens: int) -> int:
    """A cheap upper-ish estimate of a request's tokens: 4 characters a token, plus the reply."""
    chars = sum(len(m.get("content") or "") for m in messages)
    return chars // 4 + 8 * len(messages) + max_tokens


class Limits:
    """Concurrency, requests per minute and tokens per minute; None means unlimited."""

    def __init__(self, concurrency: int, rpm: float | None, tpm: float | None) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.rpm = TokenBucket(rpm) if rpm else None
        self.tpm = TokenBucket(tpm) if tpm else None

    async def admit(self, tokens: int) -> None:
        """Wait for the rate limits (call before taking a concurrency slot)."""
        if self.rpm is not None:
            await self.rpm.acquire(1.0)
        if self.tpm is not None:
            await self.tpm.acquire(float(tokens))

    def settle(self, estimated: int, used: int | None) -> None:
        if self.tpm is not None and used is not None:
            self.tpm.adjust(float(used - estimated))
