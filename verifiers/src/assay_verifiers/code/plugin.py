"""Registers the ``code`` reward through the ``assay`` entry point group."""

from __future__ import annotations

from typing import Any

import assay


@assay.hookimpl
def assay_register_rewards(register: Any) -> None:
    from .reward import CodeReward

    register(CodeReward)
