"""Pipeline specs: the YAML/JSON a user writes, validated so errors name the offending key.

    name: rl_math
    rewards:
      - use: math               # a registered reward
        weight: 1.0
        with: {tolerance: 1e-6} # its options
      - use: think_format
        weight: 0.2
        gate: true              # the others count only when this one passes
      - use: repetition
        penalty: true           # subtracted after combining
    combine: sum                # sum | min | max | mean

Routing instead of (or as a component holding) a list of rewards:

    route:
      by: metadata.task         # dotted path into the sample
      routes: {math: {use: math}, code: {use: code}}
      default: {use: exact_match}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import SpecError

Combine = Literal["sum", "min", "max", "mean"]


class ComponentSpec(BaseModel):
    """One term of a pipeline: a registered reward (`use`) or a nested pipeline (`pipeline`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    use: str | None = None
    pipeline: Union[PipelineSpec, str, None] = None
    name: str | None = None
    weight: float = Field(default=1.0, allow_inf_nan=False)
    options: dict[str, Any] = Field(default_factory=dict, alias="with")
    gate: bool = False
    threshold: float = Field(default=1.0, allow_inf_nan=False)
    penalty: Union[bool, Literal["below"]] = False
    timeout: float | None = Field(default=None, gt=0)
    memory_mb: int | None = Field(default=None, gt=0)
    workers: int | None = Field(default=None, ge=1)
    #: what a Ray actor reserves for this component (``executor="ray"``; e.g. 1 GPU for an RM)
    num_cpus: float | None = Field(default=None, ge=0)
    num_gpus: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_source(self) -> ComponentSpec:
        if (self.use is None) == (self.pipeline is None):
            raise ValueError(
                "give exactly one of `use` (a reward name) or `pipeline` (a nested spec)"
            )
        if self.pipeline is not None and self.options:
            raise ValueError("`with` options apply to `use` rewards, not to nested pipelines")
        return self

    @property
    def key(self) -> str:
        if self.name:
            return self.name
        if self.use:
            return self.use
        if isinstance(self.pipeline, PipelineSpec):
            return self.pipeline.name
        return Path(str(self.pipeline)).stem


RouteTarget = Union[ComponentSpec, "PipelineSpec", str]


class RouteSpec(BaseModel):
    """Send each sample to one target by the value at a dotted path (default metadata.task)."""

    model_config = ConfigDict(extra="forbid")

    by: str = "metadata.task"
    routes: dict[str, RouteTarget]
    default: RouteTarget | None = None


class PipelineSpec(BaseModel):
    """A whole pipeline: components combined, or a router."""

    model_config = ConfigDict(extra="forbid")

    name: str = "pipeline"
    rewards: list[ComponentSpec] = Field(default_factory=list)
    combine: Combine = "sum"
    route: RouteSpec | None = None
    #: score identical samples once (off only pays for pipelines of very cheap rewards)
    dedupe: bool = True

    @model_validator(mode="after")
    def _shape(self) -> PipelineSpec:
        if bool(self.rewards) == (self.route is not None):
            raise ValueError("give exactly one of `rewards` (a list of components) or `route`")
        seen: dict[str, int] = {}
        for i, c in enumerate(self.rewards):
            if c.key in seen:
                raise ValueError(
                    f"rewards[{i}].name: duplicate component name {c.key!r} (also "
                    f"rewards[{seen[c.key]}]); give one of them a `name:`"
                )
            seen[c.key] = i
        return self


ComponentSpec.model_rebuild()
RouteSpec.model_rebuild()
PipelineSpec.model_rebuild()


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("PipelineSpec", "ComponentSpec", "str", "RouteSpec") or (
            isinstance(part, str) and part.startswith("function-")
        ):
            continue  # union branch / validator names pydantic inserts
        else:
            out += f".{part}" if out else str(part)
    return out


def _pick_error(errors: list[Any]) -> Any:
    """Among union-branch errors, report the most specific one (deepest location)."""
    return max(
        errors, key=lambda e: (e["type"] not in ("string_type", "model_type"), len(e["loc"]))
    )


def read_spec_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise SpecError("", f"file not found: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise SpecError("", f"{p}: cannot parse: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError("", f"{p}: the top level must be a mapping, got {type(data).__name__}")
    return data


def parse_spec(spec: PipelineSpec | dict[str, Any] | str | Path) -> PipelineSpec:
    """Validate a spec (a model, a dict, a YAML/JSON path, or a YAML/JSON string)."""
    if isinstance(spec, PipelineSpec):
        return spec
    base: Path | None = None
    if isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and "{" not in spec):
        data = read_spec_file(spec)
        base = Path(spec).parent
    elif isinstance(spec, str):
        import yaml

        try:
            data = yaml.safe_load(spec)
        except Exception as exc:
            raise SpecError("", f"cannot parse: {exc}") from exc
    else:
        data = spec
    if not isinstance(data, dict):
        raise SpecError("", f"the top level must be a mapping, got {type(data).__name__}")
    if "rewards" not in data and "route" not in data and "use" in data:
        data = {"name": data.get("name") or data["use"], "rewards": [data]}  # a single component
    try:
        parsed = PipelineSpec.model_validate(data)
    except SpecError:
        raise
    except ValidationError as exc:
        err = _pick_error(exc.errors())
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise SpecError(_loc(err["loc"]), msg) from None
    if base is not None:
        _anchor(parsed, base)
    return parsed


def _anchor(spec: PipelineSpec, base: Path) -> None:
    """Make the relative paths of nested pipelines relative to ``base`` (the directory of the
    spec file that names them), not to the working directory."""
    targets: list[Any] = list(spec.rewards)
    if spec.route is not None:
        targets += [*spec.route.routes.values(), spec.route.default]
    for t in targets:
        if isinstance(t, PipelineSpec):
            _anchor(t, base)
        elif isinstance(t, ComponentSpec):
            if isinstance(t.pipeline, PipelineSpec):
                _anchor(t.pipeline, base)
            elif isinstance(t.pipeline, str) and not Path(t.pipeline).is_absolute():
                t.pipeline = str(base / t.pipeline)
