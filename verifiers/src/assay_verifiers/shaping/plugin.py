"""The ``shaping`` plugin: registers the format and shaping rewards (imports stay light:
pydantic and the standard library; jsonschema and transformers load on first use)."""

from __future__ import annotations

from typing import Any

import assay


@assay.hookimpl
def assay_register_rewards(register: Any) -> None:
    from .json_schema import JsonSchema
    from .language import Language
    from .length import Length
    from .overlong import Overlong
    from .reasoning_steps import ReasoningSteps
    from .repetition import Repetition
    from .tag_count import TagCount
    from .think_format import ThinkFormat

    for cls in (
        ThinkFormat,
        TagCount,
        JsonSchema,
        Length,
        Overlong,
        Repetition,
        ReasoningSteps,
        Language,
    ):
        register(cls)
