"""Pipelines, one import away: the documented home of the names below (``docs/pipelines.md``).

The work is done in modules with one job each: `assay.samples` (input rows, dedupe),
`assay.components` (a reward and how it counts), `assay.combination` (the combination rules),
`assay.routing` (routing by a sample field), `assay.composed` (the `Pipeline` class),
`assay.executors` (how a batch is split and where the chunks run) and `assay.building` (from
specs).
"""

from __future__ import annotations

from .building import build, load_pipeline
from .combination import Combine
from .components import Component
from .composed import Pipeline, PipelineReward
from .executors import ROW_CHUNK, Executor
from .models import STATUSES
from .results import Results
from .routing import Router
from .samples import dedupe, dotted, sample_key, to_sample

__all__ = [
    "ROW_CHUNK",
    "STATUSES",
    "Combine",
    "Component",
    "Executor",
    "Pipeline",
    "PipelineReward",
    "Results",
    "Router",
    "build",
    "dedupe",
    "dotted",
    "load_pipeline",
    "sample_key",
    "to_sample",
]
