"""Run the server on uvicorn, with graceful shutdown.

On the first SIGINT/SIGTERM the server drains: ``/ready`` and new scoring requests answer
``503`` with ``Retry-After`` (a load balancer moves on), requests already queued or being scored
finish (up to ``drain_timeout`` seconds), then uvicorn closes its connections and the scoring
workers stop. A second signal stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn

from ..inherited import SERVER_PORTS
from .app import ServerState


class DrainingServer(uvicorn.Server):
    """`uvicorn.Server` that drains the Assay batcher before it shuts down."""

    def __init__(
        self, config: uvicorn.Config, state: ServerState, drain_timeout: float = 30.0
    ) -> None:
        super().__init__(config)
        self.state = state
        self.drain_timeout = drain_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Task[None] | None = None
        self.port: int | None = None

    async def startup(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)
        with contextlib.suppress(AttributeError, IndexError, OSError):
            self.port = self.servers[0].sockets[0].getsockname()[1]
        if self.port is not None:  # workers forked from now on must not hold our sockets
            SERVER_PORTS.add(self.port)
        if not self.should_exit:
            host = self.config.host
            print(f"assay: serving {self.state.name} on http://{host}:{self.port}", flush=True)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.state.draining or self._loop is None:
            super().handle_exit(sig, frame)  # a second signal, or not started: stop now
            return
        self.state.draining = True
        self._loop.call_soon_threadsafe(self._start_drain)

    def begin_shutdown(self) -> None:
        """Drain, then stop (what a signal does; callable from any thread)."""
        if self._loop is not None:
            self.state.draining = True
            self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_task(self._drain_then_exit())

    async def _drain_then_exit(self) -> None:
        await self.state.batcher.wait_idle(self.drain_timeout)
        self.should_exit = True

    async def shutdown(self, sockets: Any = None) -> None:
        await super().shutdown(sockets)
        if self.port is not None:
            SERVER_PORTS.discard(self.port)


def run(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    drain_timeout: float = 30.0,
    log_level: str = "warning",
) -> None:
    """Serve ``app`` (from `create_app`) until a signal; the scorer is closed on the way out."""
    state: ServerState = app.state.assay
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=int(drain_timeout) or None,
    )
    server = DrainingServer(config, state, drain_timeout)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when the app failed to start: say why below
        if state.startup_error is None and server.started:
            raise
    finally:
        state.scorer.close()
    if state.startup_error is not None:
        exc = state.startup_error
        raise RuntimeError(f"the scoring workers did not start: {type(exc).__name__}: {exc}")
    if not server.started:
        raise OSError(f"could not listen on {host}:{port}")
