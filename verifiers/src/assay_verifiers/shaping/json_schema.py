"""``json_schema``: the answer parses as JSON and validates against a schema; the reason names
the failing path (``$.items[2].price: 'x' is not of type 'number'``).

The schema is a JSON Schema (``schema``), a pydantic model (``model``: the class, or
``"package.module:Class"`` from a YAML spec), or, when neither option is set, the sample's
``metadata["json_schema"]`` (one schema per row, e.g. function-calling data).

Where the JSON is looked for (``extract``): ``auto`` takes the last fenced block (```` ```json ````
or a bare fence) when there is one, else the whole text; ``fenced`` requires a fenced block;
``raw`` takes the whole text. ``tag`` first narrows the text to the last ``<tag>…</tag>`` section.

Value: 1.0 valid; ``parse_credit`` (default 0.0) when the JSON parses but does not validate;
0.0 when there is no JSON. A per-sample schema that is itself invalid is an ``error`` score.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.models import Sample, Score, ScoreLike
from assay.rewards import Reward

from .tags import last_section

# The info string is optional as a group so that a run of blanks is matched one way only (two
# adjacent `[ \t]*` backtrack quadratically on "```" + 100k spaces); `\r?\n` accepts CRLF.
_FENCE = re.compile(r"```[ \t]*(?:([\w+-]+)[ \t]*)?\r?\n(.*?)```", re.DOTALL)


_MAX_CACHED_SCHEMAS = 1024


class JsonSchemaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    json_schema: dict[str, Any] | bool | None = Field(default=None, alias="schema")
    model: Any = None
    extract: Literal["auto", "fenced", "raw"] = "auto"
    tag: str | None = None
    parse_credit: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_schema(self) -> JsonSchemaOptions:
        if self.json_schema is not None and self.model is not None:
            raise ValueError("give `schema` or `model`, not both")
        return self


def json_path(parts: Sequence[Any]) -> str:
    """``["items", 2, "price"]`` -> ``$.items[2].price``."""
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def extract_json_text(text: str, extract: str, tag: str | None) -> tuple[str | None, str]:
    """The candidate JSON text (or None) and where it came from."""
    where = "completion"
    if tag:
        found = last_section(text, tag)
        if found is None:
            return None, f"no <{tag}> section"
        text, where = found, f"<{tag}>"
    if extract in ("auto", "fenced"):
        blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "json")]
        if blocks:
            return blocks[-1].strip(), f"fenced block in {where}"
        if extract == "fenced":
            return None, f"no fenced JSON block in {where}"
    return text.strip(), where


def load_model(spec: Any) -> type[BaseModel]:
    """A pydantic model class from the class itself or ``"package.module:Class"``."""
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return spec
    if isinstance(spec, str) and ":" in spec:
        mod, _, attr = spec.partition(":")
        try:
            obj: Any = importlib.import_module(mod)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValueError(f"json_schema: cannot load `model` {spec!r}: {_short(exc)}") from exc
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            return obj
        raise ValueError(f"json_schema: {spec!r} is not a pydantic model class")
    raise ValueError("json_schema: `model` is a pydantic model class or 'package.module:Class'")


def _schema_checker(schema: dict[str, Any] | bool) -> Any:
    """A jsonschema validator for ``schema``; raises jsonschema.SchemaError on a bad schema."""
    from jsonschema.validators import validator_for

    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


class JsonSchema(Reward):
    """1.0 when the (extracted) JSON validates against the schema, else a reason with the path."""

    name = "json_schema"
    Options = JsonSchemaOptions

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        o = self.options
        self._model = load_model(o.model) if o.model is not None else None
        self._checker: Any = None
        if o.json_schema is not None:
            from jsonschema.exceptions import SchemaError

            try:
                self._checker = _schema_checker(o.json_schema)
            except SchemaError as exc:
                raise ValueError(f"json_schema: invalid `schema`: {exc.message}") from exc
        self._per_sample: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # jsonschema validators do not pickle (process executors, worker pools): rebuild them.
        state = dict(self.__dict__)
        state["_checker"] = None
        state["_per_sample"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.options.json_schema is not None:
            self._checker = _schema_checker(self.options.json_schema)

    def _checker_for(self, sample: Sample) -> Any:
        """The validator of this sample's ``metadata['json_schema']`` (cached by content)."""
        schema = sample.metadata.get("json_schema")
        if schema is None:
            return None
        if isinstance(schema, str):
            schema = json.loads(schema)
        key = json.dumps(schema, sort_keys=True)
        checker = self._per_sample.get(key)
        if checker is None:
            if len(self._per_sample) >= _MAX_CACHED_SCHEMAS:  # one schema per row: stay bounded
                self._per_sample.clear()
            checker = self._per_sample[key] = _schema_checker(schema)
        return checker

    def score(self, samples: Sequence[Sample]) -> list[ScoreLike]:
        return [self._one(s) for s in samples]

    def _one(self, sample: Sample) -> Score:
        o = self.options
        checker = self._checker
        if checker is None and self._model is None:
            try:
                checker = self._checker_for(sample)
            except Exception as exc:  # noqa: BLE001 - bad per-sample schema: this sample's error, not the batch's
                return Score.error(f"invalid metadata.json_schema: {_short(exc)}")
            if checker is None:
                return Score.unverifiable("no schema: set `schema`/`model` or metadata.json_schema")
        text, where = extract_json_text(sample.completion_text, o.extract, o.tag)
        if text is None:
            return Score.ok(0.0, where)
        try:
            doc = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            return Score.ok(0.0, f"not JSON ({where}): {exc.msg} at line {exc.lineno}")
        except (RecursionError, ValueError) as exc:  # hostile nesting, 5000-digit integers
            return Score.ok(0.0, f"not JSON ({where}): {_short(exc)}")
        if self._model is not None:
            try:
                self._model.model_validate(doc)
            except ValidationError as exc:
                err = exc.errors()[0]
                path = json_path(err.get("loc", ()))
                return Score.ok(o.parse_credit, f"{path}: {err.get('msg', '')}", path=path)
            except RecursionError:
                return Score.ok(o.parse_credit, "document nested too deeply to validate")
            except Exception as exc:  # noqa: BLE001 - a validator of the model that raised something else
                return Score.error(f"model validation failed: {_short(exc)}")
            return Score.ok(1.0, f"valid ({where})")
        return self._validate(checker, doc, where)

    def _validate(self, checker: Any, doc: Any, where: str) -> Score:
        from jsonschema.exceptions import best_match

        try:
            err = best_match(checker.iter_errors(doc))
        except RecursionError:
            return Score.ok(self.options.parse_credit, "document nested too deeply to validate")
        except Exception as exc:  # noqa: BLE001 - e.g. a `$ref` that resolves nowhere: this sample's error
            return Score.error(f"schema could not be applied: {_short(exc)}")
        if err is None:
            return Score.ok(1.0, f"valid ({where})")
        path = json_path(list(err.absolute_path))
        return Score.ok(self.options.parse_credit, f"{path}: {_short_msg(err.message)}", path=path)


def _no_constant(name: str) -> Any:
    """``json.loads`` hook: NaN / Infinity / -Infinity are not JSON (RFC 8259)."""
    raise ValueError(f"{name} is not valid JSON")


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_short_msg(str(exc))}"


def _short_msg(msg: str, limit: int = 200) -> str:
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."
