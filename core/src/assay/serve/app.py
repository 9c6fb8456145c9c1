"""The ASGI app of ``assay serve``: routes, auth, back-pressure and draining (Starlette).

Routes: ``POST /get_reward`` (OpenRLHF), ``POST /score`` (Assay), ``POST /reward`` (slime),
``POST /verify`` (NeMo Gym), ``POST /`` (any of them, told apart by their keys);
``GET /health`` (alive), ``GET /ready`` (``503`` while starting or draining),
``GET /metrics`` (Prometheus). With an API key every route but ``/health`` and ``/ready`` needs
``Authorization: Bearer <key>`` (compared in constant time; ``401`` otherwise).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .batcher import MicroBatcher, Overloaded
from .metrics import ServerMetrics
from .protocols import PARSERS, BadRequest, detect
from .scorers import Scorer

MAX_BODY = 64 * 1024 * 1024
_OFF_LOOP = 256 * 1024  # bodies and answers past this size are (de)coded on a worker thread
_OPEN = ("/health", "/ready")


class ServerState:
    """What the routes share: the scorer, the batcher, the metrics, readiness."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        name: str,
        components: list[str],
        api_key: str | None,
        batcher: MicroBatcher,
        metrics: ServerMetrics,
    ) -> None:
        self.scorer = scorer
        self.name = name
        self.components = components
        self.api_key = api_key.encode() if api_key else None
        self.batcher = batcher
        self.metrics = metrics
        self.ready = False
        self.startup_error: BaseException | None = None  # why the workers did not start
        self.draining = False

    def authorized(self, request: Request) -> bool:
        if self.api_key is None or request.url.path in _OPEN:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        # compare_digest on bytes: constant time in the token's content
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8", "surrogateescape"), self.api_key
        )


class _JSON(JSONResponse):
    """JSON out: a non-finite float (a reward that returned NaN) becomes null rather than
    invalid JSON or a failed answer; anything else unencodable is written as its ``str``."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, default=str)
        except ValueError:
            text = json.dumps(_finite(content), ensure_ascii=False, default=str)
        return text.encode("utf-8")


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _error(code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return _JSON({"error": message}, status_code=code, headers=headers)


def _unavailable(reason: str, retry_after: float) -> JSONResponse:
    retry = str(max(1, math.ceil(retry_after)))
    return _error(503, reason, {"Retry-After": retry})


class _TooLargeError(Exception):
    """The body is over `MAX_BODY` (answered ``413``)."""


async def _body(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise BadRequest(f"bad Content-Length {declared[:20]!r}")
    if declared is not None and int(declared) > MAX_BODY:
        raise _TooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLargeError
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        if len(raw) > _OFF_LOOP:  # a large body is decoded off the event loop
            return await asyncio.to_thread(json.loads, raw)
        return json.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"not valid JSON: {str(exc)[:200]}") from None


def _scoring_route(endpoint: str, parser: Callable[[Any], Any] | None) -> Callable[..., Any]:
    async def handle(request: Request) -> Response:
        state: ServerState = request.app.state.assay
        t0 = time.perf_counter()
        response = await _score(state, request, parser)
        state.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        state.metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
        return response

    return handle


async def _score(state: ServerState, request: Request, parser: Any) -> Response:
    if state.draining:
        return _unavailable("server is shutting down", 5.0)
    try:
        body = await _body(request)
        parse = parser or detect(body)
        if parse is not PARSERS["slime"] and not isinstance(body, dict):
            raise BadRequest("expected a JSON object")
        req = parse(body)
        if len(req.samples) > state.batcher.max_queue:
            return _error(
                413, f"{len(req.samples)} samples, over the {state.batcher.max_queue} queue limit"
            )
        rows = await state.batcher.submit(req.samples, req.full)
        if len(rows) > 1000:  # a large answer is built and encoded off the event loop
            return await asyncio.to_thread(lambda: _JSON(req.respond(rows)))
        return _JSON(req.respond(rows))
    except BadRequest as exc:
        return _error(400, str(exc))
    except _TooLargeError:
        return _error(413, f"body over {MAX_BODY} bytes")
    except Overloaded as exc:
        return _unavailable(str(exc), exc.retry_after)
    except Exception as exc:  # noqa: BLE001 - a bug in a reward: this request gets a 500
        return _error(500, f"{type(exc).__name__}: {str(exc)[:500]}")


async def health(request: Request) -> Response:
    state: ServerState = request.app.state.assay
    return _JSON({"status": "ok", "pipeline": state.name, "components": state.components})


async def ready(request: Request) -> Response:
    state: ServerState = request.app.state.assay
    if state.draining:
        return _unavailable("draining", 5.0)
    if not state.ready:
        return _unavailable("starting", 1.0)
    return _JSON({"ready": True, "queue": state.batcher.queued, "inflight": state.batcher.inflight})


async def metrics(request: Request) -> Response:
    state: ServerState = request.app.state.assay
    return Response(state.metrics.render(), media_type=state.metrics.content_type)


class _Auth:
    """ASGI middleware: bearer-token check before any route runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            state: ServerState = scope["app"].state.assay
            if not state.authorized(Request(scope)):
                response = _error(401, "missing or wrong bearer token")
                response.headers["WWW-Authenticate"] = "Bearer"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    scorer: Scorer,
    *,
    name: str = "pipeline",
    components: list[str] | None = None,
    api_key: str | None = None,
    max_batch: int = 256,
    max_wait: float = 0.005,
    max_queue: int = 4096,
) -> Starlette:
    """The server app over ``scorer``; its workers start with the app (lifespan)."""
    metrics_ = ServerMetrics()
    batcher = MicroBatcher(
        scorer.score,
        concurrency=scorer.concurrency,
        max_batch=max_batch,
        max_wait=max_wait,
        max_queue=max_queue,
        metrics=metrics_,
    )
    state = ServerState(
        scorer,
        name=name,
        components=components or [],
        api_key=api_key,
        batcher=batcher,
        metrics=metrics_,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        try:
            await asyncio.to_thread(scorer.warm)
        except BaseException as exc:
            state.startup_error = exc
            raise
        batcher.start()
        state.ready = True
        try:
            yield
        finally:
            state.draining = True
            await batcher.wait_idle()
            await batcher.close()

    post = ["POST"]
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/get_reward", _scoring_route("openrlhf", PARSERS["openrlhf"]), methods=post),
        Route("/score", _scoring_route("assay", PARSERS["assay"]), methods=post),
        Route("/reward", _scoring_route("slime", PARSERS["slime"]), methods=post),
        Route("/verify", _scoring_route("nemo_gym", PARSERS["nemo_gym"]), methods=post),
        Route("/", _scoring_route("auto", None), methods=post),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.assay = state
    app.add_middleware(_Auth)
    return app
