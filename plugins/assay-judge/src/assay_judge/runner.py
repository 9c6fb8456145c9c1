"""An asyncio loop on a daemon thread, so synchronous ``score`` calls from any thread share one
loop, one connection pool and one set of limits.

After a fork (the pipeline's process executor) the child has no such thread: the runner notices
the new process id and starts a fresh loop there.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """``run(coro)`` runs a coroutine on the shared loop and waits for its result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = -1

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                t = threading.Thread(target=loop.run_forever, name="assay-judge-loop", daemon=True)
                t.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        loop = self.loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError(
                "LoopThread.run called from its own loop; await the coroutine instead"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await from another event loop without blocking it."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop())
        return await asyncio.wrap_future(fut)

    def stop(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
            if loop is not None and self._pid == os.getpid():
                loop.call_soon_threadsafe(loop.stop)
