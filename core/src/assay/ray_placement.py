"""Placement for the Ray executor: which components share a pool of actors, what each actor of
a pool reserves, and how many actors of each pool the cluster can hold.

A pipeline whose components say nothing about resources (or that routes at its top) runs as one
pool of actors, each holding the whole pipeline. When its top-level components ask for
resources (``num_cpus`` / ``num_gpus`` in the spec), they are placed by what they ask:

- a component asking for a GPU gets a pool of its own (each such actor holds that reward's
  model in GPU memory);
- CPU-only components asking for the same ``num_cpus`` share a pool; components asking for
  nothing share the default pool (one CPU per actor, Ray's default for an actor);
- components linked by a dependency (one reads another's score) stay in one pool.

An actor of a pool reserves the largest ``num_cpus`` of its components (they score one after
another, so their CPU use does not add up) and the sum of their ``num_gpus`` (every model stays
loaded). Each pool scores only its components; the driver combines the columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Sample, Score, ScoreLike, as_score
from .results import _Batch

if TYPE_CHECKING:
    from .components import Component
    from .composed import Pipeline

__all__ = ["ComponentGroup", "PoolPlan", "fit_actors", "pipeline_resources", "plan_pools"]

#: What an actor reserves when no component of it says (Ray's own default for an actor).
DEFAULT_CPUS = 1.0


@dataclass(frozen=True)
class PoolPlan:
    """One pool of actors: the top-level components it scores (empty: the whole pipeline) and
    what each of its actors reserves."""

    components: tuple[str, ...]
    num_cpus: float
    num_gpus: float

    @property
    def label(self) -> str:
        return "+".join(self.components) or "pipeline"


def _asks(c: Component) -> tuple[float | None, float | None]:
    """(num_cpus, num_gpus) a component asks for; a nested pipeline that says nothing itself
    asks for what its own components ask (None where nothing is said)."""
    cpus, gpus = c.num_cpus, c.num_gpus
    inner = getattr(c.reward, "pipeline", None)
    if inner is not None and cpus is None and gpus is None and _anything_asked(inner):
        cpus, gpus = pipeline_resources(inner)
    return cpus, gpus


def _anything_asked(pipeline: Pipeline) -> bool:
    stack = [pipeline]
    while stack:
        p = stack.pop()
        for c in p.components:
            if c.num_cpus is not None or c.num_gpus is not None:
                return True
            inner = getattr(c.reward, "pipeline", None)
            if inner is not None:
                stack.append(inner)
        if p.route is not None:
            stack.extend(p.route.targets())
    return False


def pipeline_resources(pipeline: Pipeline) -> tuple[float, float]:
    """(num_cpus, num_gpus) one actor holding all of ``pipeline`` reserves: the largest
    ``num_cpus`` and the sum of ``num_gpus`` over its components (nested pipelines and routes
    included); one CPU where no component says."""
    cpus: float | None = None
    gpus = 0.0
    stack = [pipeline]
    while stack:
        p = stack.pop()
        for c in p.components:
            if c.num_cpus is not None:
                cpus = max(cpus or 0.0, c.num_cpus)
            gpus += c.num_gpus or 0.0
            inner = getattr(c.reward, "pipeline", None)  # a nested pipeline (as a reward)
            if inner is not None:
                stack.append(inner)
        if p.route is not None:
            stack.extend(p.route.targets())
    return (DEFAULT_CPUS if cpus is None else cpus), gpus


def plan_pools(pipeline: Pipeline) -> list[PoolPlan]:
    """The pools ``pipeline`` is scored on (see the module docstring): one whole-pipeline pool
    unless its top-level components ask for different resources."""
    if pipeline.route is not None or not _anything_asked(pipeline):
        return [PoolPlan((), *pipeline_resources(pipeline))]
    comps = pipeline.components
    key: dict[str, tuple[float, float, str]] = {}
    for c in comps:
        cpus, gpus = _asks(c)
        cpus = DEFAULT_CPUS if cpus is None else cpus
        # a GPU component's key is its own name: it never shares its actors
        key[c.name] = (cpus, gpus or 0.0, c.name if gpus else "")
    parent = {c.name: c.name for c in comps}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    first: dict[tuple[float, float, str], str] = {}
    for c in comps:
        parent[find(c.name)] = find(first.setdefault(key[c.name], c.name))
        for d in c.dependencies():
            parent[find(c.name)] = find(d)
    groups: dict[str, list[Component]] = {}
    for c in comps:
        groups.setdefault(find(c.name), []).append(c)
    plans = []
    for members in groups.values():
        asks = [key[c.name] for c in members]
        plans.append(
            PoolPlan(
                tuple(c.name for c in members),
                max(a[0] for a in asks),
                sum(a[1] for a in asks),
            )
        )
    if len(plans) == 1:
        return [PoolPlan((), plans[0].num_cpus, plans[0].num_gpus)]
    return plans


def fit_actors(
    plans: Sequence[PoolPlan], nodes: Sequence[Mapping[str, float]], workers: int
) -> list[int]:
    """How many actors (up to ``workers``) of each pool the nodes can hold together: pools take
    turns placing one actor each on the first node with room (GPU pools first, as Ray keeps
    CPU-only actors off GPU nodes when it can). A pool that gets none is a clear error rather
    than actors Ray would leave pending forever."""
    free = [{"CPU": n.get("CPU", 0.0), "GPU": n.get("GPU", 0.0)} for n in nodes]
    counts = [0] * len(plans)
    order = sorted(range(len(plans)), key=lambda i: -plans[i].num_gpus)
    placed = True
    while placed:
        placed = False
        for i in order:
            p = plans[i]
            if counts[i] >= workers:
                continue
            eps = 1e-9
            for node in sorted(free, key=lambda r: r["GPU"] if not p.num_gpus else 0.0):
                if node["CPU"] + eps >= p.num_cpus and node["GPU"] + eps >= p.num_gpus:
                    node["CPU"] -= p.num_cpus
                    node["GPU"] -= p.num_gpus
                    counts[i] += 1
                    placed = True
                    break
    for p, k in zip(plans, counts):
        if k == 0:
            have = ", ".join(f"{n.get('CPU', 0):g} CPU / {n.get('GPU', 0):g} GPU" for n in nodes)
            who = "each Ray actor" if not p.components else f"each Ray actor of {p.label}"
            raise ValueError(
                f"{who} needs {p.num_cpus:g} CPU and {p.num_gpus:g} GPU (from the components' "
                f"num_cpus / num_gpus), but no node has that left (nodes: {have or 'none'}); "
                "lower them in the spec, pass num_cpus= / num_gpus=, or add such a node"
            )
    return counts


class ComponentGroup:
    """Some of a pipeline's top-level components, scored together on one pool's actors: their
    columns over a chunk, in dependency order (every dependency is in the group)."""

    def __init__(self, components: Sequence[Component]) -> None:
        self.components = list(components)

    def _score_unique(self, samples: list[Sample]) -> _Batch:
        cols: dict[str, list[ScoreLike]] = {}
        upstream: dict[str, list[Score]] = {}
        for c in self.components:
            deps = c.dependencies()
            ups = {d: upstream.setdefault(d, [as_score(v, d) for v in cols[d]]) for d in deps}
            cols[c.name] = list(c.score(samples, ups))
        return _Batch([None] * len(samples), None, None, cols)

    def close(self) -> None:
        for c in self.components:
            c.close()
