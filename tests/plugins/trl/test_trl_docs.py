"""docs/trl.md documents every algorithm and every config field users can set."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay_trl import ALGORITHMS

DOC = Path(__file__).resolve().parents[3] / "docs" / "trl.md"


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_algorithm_and_its_fields_are_documented(name) -> None:
    text = DOC.read_text()
    assert f"`{name}`" in text
    fields = ALGORITHMS[name].Config.model_fields
    missing = [f for f in fields if f"`{f}`" not in text and f"`{f}:" not in text]
    assert not missing, f"{name}: fields not in docs/trl.md: {missing}"
