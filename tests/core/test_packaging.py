"""One version for every member, compatible core pins, `py.typed` everywhere, a licence file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from assay._version import __version__

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml natively")

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = {
    "sandbox": "assay_sandbox",
    "verifiers": "assay_verifiers",
    "plugins/assay-trl": "assay_trl",
    "plugins/assay-rm": "assay_rm",
    "examples/assay-example-plugin": "assay_example",
}


def project(member: str) -> dict:
    with open(ROOT / member / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def test_core_version_has_one_source() -> None:
    import assay

    core = project("core")
    assert "version" not in core and "version" in core["dynamic"]
    assert assay.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_member_matches_the_core_version_and_pins_a_compatible_range(member: str) -> None:
    meta = project(member)
    assert meta["version"] == __version__
    reqs = [Requirement(r) for r in meta["dependencies"]]
    firsts = [r for r in reqs if r.name in ("assay", "assay-sandbox")]
    assert firsts, f"{member} does not depend on the core"
    for r in firsts:
        assert r.specifier, f"{member}: {r.name} is not pinned to a range"
        assert r.specifier.contains(__version__), f"{member}: {r} excludes {__version__}"
        assert not r.specifier.contains("99.0.0"), f"{member}: {r} has no upper bound"


@pytest.mark.parametrize("member", ["core", *sorted(MEMBERS)])
def test_every_member_ships_py_typed(member: str) -> None:
    pkg = "assay" if member == "core" else MEMBERS[member]
    assert (ROOT / member / "src" / pkg / "py.typed").exists()
    with open(ROOT / member / "pyproject.toml", "rb") as f:
        data = tomllib.load(f)
    assert "py.typed" in data["tool"]["setuptools"]["package-data"][pkg]


def test_licence_file_matches_the_declared_licence() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0" in text
    assert project("core")["license"] == "Apache-2.0"
