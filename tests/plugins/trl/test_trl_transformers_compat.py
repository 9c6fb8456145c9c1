"""The TRL config keywords follow the installed transformers: ``activation_checkpointing`` is
``gradient_checkpointing`` before transformers 5.2x (seen on a GPU machine with 5.17, where the
GRPO backend stopped with "unexpected keyword argument 'activation_checkpointing'")."""

from __future__ import annotations

from assay_trl.algorithm import for_installed_transformers, training_argument_names


def test_renamed_for_a_transformers_without_activation_checkpointing():
    old = frozenset({"gradient_checkpointing", "bf16", "use_cpu"})
    got = for_installed_transformers({"activation_checkpointing": True, "bf16": False}, old)
    assert got == {"gradient_checkpointing": True, "bf16": False}


def test_kept_where_transformers_knows_it():
    new = frozenset({"activation_checkpointing", "gradient_checkpointing"})
    kwargs = {"activation_checkpointing": False}
    assert for_installed_transformers(kwargs, new) == kwargs


def test_the_installed_transformers_accepts_what_the_backend_passes():
    from assay_trl import get_algorithm

    kwargs = get_algorithm("grpo", {"activation_checkpointing": True}).trl_kwargs()
    names = training_argument_names()
    assert {"activation_checkpointing", "gradient_checkpointing"} & set(kwargs) <= names
