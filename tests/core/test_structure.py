"""The core's shape: imports go one way (no cycle, lazy imports included), modules stay small,
first-party packages import only public names, and every error is an `assay.AssayError`."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import assay

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core" / "src" / "assay"
FIRST_PARTY_SRC = [
    ROOT / "sandbox" / "src",
    ROOT / "verifiers" / "src",
    ROOT / "plugins" / "assay-rm" / "src",
    ROOT / "plugins" / "assay-trl" / "src",
    ROOT / "examples",
]
#: submodules documented as public (docs/pipelines.md, docs/hooks.md, README): their ``__all__``
#: names may be imported from them directly.
DOCUMENTED = {
    "assay.adapters",
    "assay.entrypoints",
    "assay.errors",
    "assay.executors",
    "assay.models",
    "assay.pipeline",
    "assay.rewards",
    "assay.testing",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(CORE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> set[str]:
    """Every assay module this file imports, at any depth (functions included), except imports
    for type checking only."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                out.update(a.name for a in child.names if a.name.split(".")[0] == "assay")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                if mod.split(".")[0] != "assay":
                    continue
                for a in child.names:  # `from . import hookspecs` imports a submodule
                    sub = f"{mod}.{a.name}"
                    out.add(
                        sub if (CORE.parent / (sub.replace(".", "/") + ".py")).exists() else mod
                    )
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    out.discard(name)
    return out


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in CORE.rglob("*.py")}


def test_no_import_cycle_inside_assay() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt in graph and state.get(nxt) is None:
                dfs(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            dfs(node, [node])
    assert cycles == []


def test_the_walker_sees_lazy_imports() -> None:
    """The cycle test would be vacuous if function-level imports were missed."""
    assert "assay.registry" in _graph()["assay.cli"]  # imported inside a function there


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_no_core_module_is_over_about_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 420


def _first_party_imports() -> list[tuple[str, str, str]]:
    found = []
    for src in FIRST_PARTY_SRC:
        for path in src.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    if node.module.startswith("assay."):
                        found += [
                            (str(path.relative_to(ROOT)), node.module, a.name) for a in node.names
                        ]
                elif isinstance(node, ast.Import):
                    found += [
                        (str(path.relative_to(ROOT)), a.name, "")
                        for a in node.names
                        if a.name.startswith("assay.")
                    ]
    return found


def test_first_party_packages_import_only_public_names() -> None:
    found = _first_party_imports()
    assert found, "the walk found no imports: the paths are wrong"
    bad = []
    for where, module, name in found:
        if name in assay.__all__:
            continue
        if module in DOCUMENTED and (
            not name or name in getattr(importlib.import_module(module), "__all__", ())
        ):
            continue
        bad.append(f"{where}: from {module} import {name}")
    assert bad == []


def test_public_surface_is_all_importable_and_light() -> None:
    for name in assay.__all__:
        assert getattr(assay, name) is not None
    assert isinstance(assay.__version__, str)
    for mod in DOCUMENTED:
        m = importlib.import_module(mod)
        for name in getattr(m, "__all__", ()):
            assert hasattr(m, name), f"{mod}.__all__ names a missing {name}"


def test_error_tree() -> None:
    from assay import errors

    assert issubclass(errors.DeadlineExceeded, TimeoutError)
    assert issubclass(errors.DeadlineExceeded, assay.AssayError)
    for cls in (errors.SpecError, errors.OptionsError, errors.UnknownNameError):
        assert issubclass(cls, assay.AssayError)
    sandbox = pytest.importorskip("assay_sandbox.errors")
    assert issubclass(sandbox.SandboxError, assay.AssayError)
    specs = pytest.importorskip("assay_verifiers.code.specs")
    assert issubclass(specs.TestSpecError, assay.AssayError)
    for mod, cls in [
        ("assay_rm.loading", "ModelLoadError"),
        ("assay_rm.encoding", "EncodingError"),
        ("assay_rm.training", "TrainingDataError"),
    ]:
        m = pytest.importorskip(mod)
        assert issubclass(getattr(m, cls), assay.AssayError)
        assert issubclass(getattr(m, cls), ValueError)
