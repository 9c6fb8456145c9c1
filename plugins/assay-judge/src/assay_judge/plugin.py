"""The ``judge`` entry point of the ``assay`` group: the judge rewards and ``assay judge``.

Importing this module loads pydantic and the reward classes, not aiohttp: the HTTP client loads
when a judge sends its first request.
"""

from __future__ import annotations

from typing import Any

import assay

from .cli import add_judge_command
from .pairwise import PairwiseJudge
from .reward import JudgeReward


@assay.hookimpl
def assay_register_rewards(register: Any) -> None:
    register(JudgeReward)
    register(PairwiseJudge)


@assay.hookimpl
def assay_add_commands(subparsers: Any) -> None:
    add_judge_command(subparsers)
