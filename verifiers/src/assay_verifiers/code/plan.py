"""How the ``asserts`` and ``check`` forms run: a plan for the sandbox's ``run_tests``.

The trusted test code never runs in the candidate's process. `plan_tests` splits a spec into

- ``shared``: trusted code both processes run first (the optional import prelude, the imports
  and class definitions of the task's ``setup``), so helper classes such as ``ListNode`` exist
  on both sides and cross as values;
- ``setup``: trusted code only the test runner runs (the whole ``asserts`` setup: its test data
  never enters the candidate's process; HumanEval's prompt and ``check`` code), so helpers the
  tests call (``poly``, ``encode_cyclic``) are the task's even when the completion redefines
  them;
- ``statements``: the test cases, run by the test runner one by one;
- ``exports``: the names the tests take from the candidate (the entry point; for ``asserts``,
  every name the asserts use: the runner decides which are the candidate's), reached through
  proxies; ``keep``: exported names that win over the runner's own definitions (the
  entry point, which HumanEval's prompt defines as a stub).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .prelude import PRELUDE
from .pyparse import parse
from .specs import AssertsTests, CheckTests

__all__ = ["TestPlan", "plan_tests"]


@dataclass(frozen=True)
class TestPlan:
    """The arguments of ``SandboxPool.run_tests`` for one spec (the program aside)."""

    __test__ = False  # not a pytest class

    shared: str
    setup: str
    statements: list[str]
    exports: list[str]
    keep: list[str]
    labels: list[str]


def _parses(src: str) -> bool:
    try:
        parse(src)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _short(src: str, limit: int = 80) -> str:
    one = " ".join(src.split())
    return f"({one})" if len(one) <= limit else f"({one[: limit - 3]}...)"


def _used_names(sources: list[str]) -> list[str]:
    """Names the statements read and never bind themselves (a comprehension's or loop's
    variable, a lambda's argument, an import in a statement is the test's own, never the
    candidate's: a program defining such a name must not count as defining what is tested)."""
    names: set[str] = set()
    bound: set[str] = set()
    for src in sources:
        for node in ast.walk(parse(src)):
            if isinstance(node, ast.Name):
                (names if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return sorted(names - bound)


_DATA = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp,
         ast.GeneratorExp, ast.JoinedStr)  # fmt: skip
_MAX_SHARED_TEXT = 64  # a longer string constant in a class body may be test data


def _holds_data(node: ast.AST) -> bool:
    """Whether a class-body statement carries data (a container display, a long string):
    test cases or expected values a task may park in a helper class."""
    for sub in ast.walk(node):
        if isinstance(sub, _DATA):
            return True
        text = isinstance(sub, ast.Constant) and isinstance(sub.value, (str, bytes))
        if text and len(sub.value) > _MAX_SHARED_TEXT:  # type: ignore[attr-defined]
            return True
    return False


def _shareable_class(node: ast.ClassDef) -> bool:
    """A helper class both sides may define: methods, a docstring, ``pass``, annotations and
    scalar constants. A class whose body (outside its methods) holds data stays in the runner,
    so the candidate's process never sees the data (its instances then cross as handles)."""
    for i, stmt in enumerate(node.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Pass)):
            continue
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # the docstring
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and not _holds_data(stmt):
            continue
        return False
    return not any(_holds_data(d) for d in node.decorator_list)


def _classes_and_imports(setup: str) -> str:
    """The part of an ``asserts`` setup the candidate's process runs too: its imports and the
    class definitions that hold no data (`_shareable_class`; helper classes must exist on both
    sides to cross as values). Everything else (test data, expected values, helper functions,
    classes that carry data) stays in the runner."""
    if not setup.strip() or not _parses(setup):
        return ""
    lines = setup.splitlines()
    parts = []
    for node in parse(setup).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.ClassDef) and _shareable_class(node)
        ):
            decorators = getattr(node, "decorator_list", [])
            start = min([node.lineno] + [d.lineno for d in decorators])
            parts.append("\n".join(lines[start - 1 : node.end_lineno]))
    return "\n".join(parts)


def plan_tests(
    spec: AssertsTests | CheckTests, prefix: str | None = None, prelude: bool = False
) -> TestPlan:
    """The plan for ``spec``; ``prefix`` is the task's start of the program (``check`` form)."""
    shared = PRELUDE if prelude else ""
    if isinstance(spec, AssertsTests):
        both = _classes_and_imports(spec.setup)
        if both.strip():
            shared = f"{shared}\n{both}" if shared else both
        statements = list(spec.asserts)
        return TestPlan(
            shared=shared,
            setup=spec.setup,
            statements=statements,
            exports=_used_names(statements),
            keep=[],
            labels=[f"asserts[{i}] {_short(s)}" for i, s in enumerate(statements)],
        )
    parts = [prefix] if prefix and prefix.strip() and _parses(prefix) else []
    parts.append(spec.check)
    call = f"{spec.check_name}({spec.entry_point})"
    return TestPlan(
        shared=shared,
        setup="\n\n".join(parts),
        statements=[call],
        exports=[spec.entry_point],
        keep=[spec.entry_point],
        labels=[call],
    )
