"""Building a `Pipeline` from a validated spec; every error names the spec key it comes from.

A nested pipeline given as a file path is read relative to the spec file that names it (see
`assay.spec.parse_spec`); its component takes the nested spec's ``name`` (the file's stem when
it sets none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .components import Component
from .composed import Pipeline
from .errors import OptionsError, SpecError, UnknownComponentError, UnknownNameError
from .registry import get_registry
from .rewards import Reward
from .routing import Router
from .spec import ComponentSpec, PipelineSpec, RouteSpec, parse_spec

__all__ = ["build", "load_pipeline"]


def load_pipeline(spec: PipelineSpec | dict[str, Any] | str | Path) -> Pipeline:
    """Build a pipeline from a YAML/JSON file path, a YAML string, a dict, or a `PipelineSpec`."""
    return build(parse_spec(spec))


def build(spec: PipelineSpec, where: str = "") -> Pipeline:
    """A `Pipeline` from a validated spec; unknown rewards and bad options name their key."""
    prefix = f"{where}." if where else ""
    if spec.route is not None:
        route = _build_route(spec.route, f"{prefix}route")
        return Pipeline(name=spec.name, route=route, spec=spec, dedupe=spec.dedupe)
    comps: list[Component] = []
    try:
        for i, c in enumerate(spec.rewards):
            comps.append(_build_component(c, f"{prefix}rewards[{i}]"))
        return Pipeline(comps, combine=spec.combine, name=spec.name, spec=spec, dedupe=spec.dedupe)
    except SpecError:
        for built in comps:
            built.close()
        raise


def _nested(spec: ComponentSpec, where: str) -> tuple[PipelineSpec, str]:
    """The nested spec and the component's name."""
    if isinstance(spec.pipeline, PipelineSpec):
        return spec.pipeline, spec.key
    try:
        sub = parse_spec(Path(str(spec.pipeline)))
    except SpecError as exc:
        raise SpecError(f"{where}.pipeline", exc.problem) from None
    name = spec.name or (sub.name if "name" in sub.model_fields_set else spec.key)
    return sub, name


def _make_reward(spec: ComponentSpec, where: str) -> tuple[Reward, str | None, str | None]:
    try:
        entry = get_registry().get("reward", spec.use or "")
    except UnknownNameError as exc:
        raise UnknownComponentError(f"{where}.use", exc) from None
    try:
        reward: Reward = entry.obj(**spec.options)
    except ValidationError as exc:
        errs = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        problems = [
            (
                ".".join(str(x) for x in e["loc"]),
                "unknown option" if e["type"] == "extra_forbidden" else e["msg"],
            )
            for e in errs
        ]
        known = list(entry.obj.Options.model_fields)
        raise OptionsError(spec.use or "", problems, known, f"{where}.with") from None
    except Exception as exc:  # noqa: BLE001 - a reward that cannot start (bad path, no model)
        raise SpecError(
            f"{where}.use", f"{spec.use!r} failed to start: {type(exc).__name__}: {exc}"
        ) from None
    return reward, entry.plugin, entry.version


def _build_component(spec: ComponentSpec, where: str) -> Component:
    plugin = version = None
    name = spec.key
    if spec.pipeline is not None:
        sub, name = _nested(spec, where)
        reward: Reward = build(sub, where=f"{where}.pipeline").as_reward()
    else:
        reward, plugin, version = _make_reward(spec, where)
    return Component(
        reward,
        name=name,
        weight=spec.weight,
        gate=spec.gate,
        threshold=spec.threshold,
        penalty=spec.penalty,
        timeout=spec.timeout,
        memory_mb=spec.memory_mb,
        workers=spec.workers or 2,
        num_cpus=spec.num_cpus,
        num_gpus=spec.num_gpus,
        plugin=plugin,
        version=version,
    )


def _build_target(t: ComponentSpec | PipelineSpec | str, where: str) -> Pipeline:
    if isinstance(t, str):
        t = ComponentSpec(use=t)
    if isinstance(t, ComponentSpec):
        comp = _build_component(t, where)
        return Pipeline([comp], name=comp.name)
    return build(t, where=where)


def _build_route(r: RouteSpec, where: str) -> Router:
    routes = {k: _build_target(v, f"{where}.routes.{k}") for k, v in r.routes.items()}
    default = _build_target(r.default, f"{where}.default") if r.default is not None else None
    return Router(r.by, routes, default)
