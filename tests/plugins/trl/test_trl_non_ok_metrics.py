"""A real GRPO run (tiny in-code model, TRL's own trainer) logs, per component, how many samples
of each step were not scored ok: TRL calls the combined reward with ``log_metric`` and
``log_extra``, and the adapter reports ``assay/<component>/<status>`` through them."""

from __future__ import annotations

import assay


def picky(sample: assay.Sample) -> assay.Score | float:
    """Share of "a"; no verdict on a completion holding an "h" (a stand-in for a bad gold)."""
    text = sample.completion_text
    if "h" in text:
        return assay.Score.unverifiable("an h: cannot judge")
    return text.count("a") / max(1, len(text))


def test_grpo_logs_non_ok_counts_per_component(assay_registry, online_settings, toy_data, logged):
    from assay_trl import get_algorithm

    assay_registry.add("reward", "picky", picky)
    algo = get_algorithm("grpo", online_settings(max_steps=3, beta=0.0))
    trainer = algo.train("tiny:abcdefgh", dataset=toy_data, pipeline="picky")
    unverifiable = logged(trainer, "assay/picky/unverifiable")
    assert len(unverifiable) == 3  # one per logged step, next to TRL's own metrics
    assert sum(unverifiable) > 0  # random letters from a-h: some completions hold an "h"
    assert logged(trainer, "assay/picky/error") == [0.0, 0.0, 0.0]
