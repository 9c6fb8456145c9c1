"""A template Assay plugin: copy this folder, rename, and register your own rewards."""

from __future__ import annotations

import assay


def no_apology(sample: assay.Sample, penalty: float = 1.0) -> float:
    """-penalty when the completion apologises or refuses, else 0.0."""
    text = sample.completion_text.lower()
    return -penalty if ("i'm sorry" in text or "i cannot" in text) else 0.0


@assay.hookimpl
def assay_register_rewards(register) -> None:
    register(no_apology)
