"""``assay serve``: a production reward server (ASGI: uvicorn + Starlette; extra ``assay[serve]``).

Concurrent requests are micro-batched into one ``score`` call, scored in worker processes (or
Ray actors) that keep the pipeline warm, behind a bounded queue (``503`` + ``Retry-After``),
optional bearer auth, ``/health``, ``/ready`` and Prometheus ``/metrics``. It speaks OpenRLHF's
``/get_reward``, Assay's ``/score``, slime's ``{prompt, response, label}`` and NeMo Gym's
``/verify``. See ``docs/serving.md``.

>>> app = create_app(ProcessScorer(pipeline, workers=2))   # doctest: +SKIP
>>> run(app, port=8000)                                      # doctest: +SKIP

Imported only when serving, so ``import assay`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import create_app
from .runner import run
from .scorers import ProcessScorer, Scorer, ThreadScorer

if TYPE_CHECKING:
    from ..composed import Pipeline

__all__ = ["ProcessScorer", "Scorer", "ThreadScorer", "create_app", "make_scorer", "run", "serve"]


def make_scorer(
    pipeline: Pipeline,
    executor: str = "process",
    workers: int = 1,
    *,
    batch_timeout: float | None = 300.0,
    address: str | None = None,
) -> Scorer:
    """The scorer for an executor name: ``thread`` (in-process), ``process`` or ``ray``."""
    if executor == "thread":
        return ThreadScorer(pipeline)
    if executor == "process":
        return ProcessScorer(pipeline, workers, batch_timeout=batch_timeout)
    if executor == "ray":
        from .ray_scorer import RayScorer

        return RayScorer(pipeline, workers, batch_timeout=batch_timeout, address=address)
    raise ValueError(f"unknown executor {executor!r}; use thread, process or ray")


def serve(
    pipeline: Pipeline,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    executor: str = "process",
    workers: int = 1,
    api_key: str | None = None,
    max_batch: int = 256,
    max_wait: float = 0.005,
    max_queue: int = 4096,
    batch_timeout: float | None = 300.0,
    drain_timeout: float = 30.0,
    **kw: Any,
) -> None:
    """Serve ``pipeline`` until SIGINT/SIGTERM (then drain); see `create_app` and `run`."""
    scorer = make_scorer(pipeline, executor, workers, batch_timeout=batch_timeout, **kw)
    app = create_app(
        scorer,
        name=pipeline.name,
        components=pipeline.component_names,
        api_key=api_key,
        max_batch=max_batch,
        max_wait=max_wait,
        max_queue=max_queue,
    )
    run(app, host=host, port=port, drain_timeout=drain_timeout)
