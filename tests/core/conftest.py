"""Core test fixtures: real installed-distribution metadata on sys.path (no mocks)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def make_dist(
    root: Path, dist: str, module: str, source: str, entry_name: str | None = None
) -> Path:
    """Write ``module.py`` and a ``.dist-info`` with an ``assay`` entry point into ``root``.

    ``importlib.metadata`` discovers it exactly as it discovers a pip-installed distribution
    once ``root`` is on ``sys.path`` (or ``PYTHONPATH`` for a subprocess).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[assay]\n{entry_name or module} = {module}\n")
    return root


class on_path:
    """Context manager: put a directory first on sys.path, then take it away again."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __enter__(self) -> None:
        sys.path.insert(0, self.path)

    def __exit__(self, *exc: object) -> None:
        sys.path.remove(self.path)
        for name in [
            m
            for m, mod in sys.modules.items()
            if getattr(mod, "__file__", "")
            and str(getattr(mod, "__file__", "")).startswith(self.path)
        ]:
            del sys.modules[name]


@pytest.fixture
def fake_dists(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """``fake_dists(dist, module, source)``: a real dist-info + module on sys.path for one test.

    The process registry is reset before and after, so the test sees exactly these plugins
    (plus the installed ones).
    """
    from assay.registry import reset_registry

    root = tmp_path / "site"
    root.mkdir()
    reset_registry()

    def _make(dist: str, module: str, source: str, entry_name: str | None = None) -> Path:
        return make_dist(root, dist, module, source, entry_name)

    with on_path(root):
        yield _make
    reset_registry()
