"""Find the program to run in a completion: a fenced block, a full program, or a continuation.

Rules, in order:

1. Fenced blocks (```` ``` ```` or ``~~~``, an unclosed last fence runs to the end): blocks tagged
   with another language (``bash``, ``text``, ``output``...) are skipped when a Python or untagged
   block exists. Among the candidates, the blocks that define the entry point win; of those the
   last one is taken (models restate a fixed version after a first try; usage examples that only
   *call* the function lose to the block that defines it).
2. No fence: the whole completion; if it does not parse, the longest tail starting at a line
   that opens Python code (``def``, ``class``, ``import``, ``from``, ``@``) and parses.
3. Prefix (HumanEval): when a prefix is known (the task's ``prefix``, or the prompt when it parses
   as Python) and the code defines the entry point, the program is ``prefix + code`` (the
   prefix's imports and helpers stay available; the new definition replaces the stub). When it
   does not define it, the code is a continuation: ``prefix + code`` with no separator.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from .pyparse import parse

__all__ = ["Extracted", "defined_names", "extract_program", "fenced_blocks", "parses"]

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([^\s`]*)[^\n]*$", re.MULTILINE)
_PY_TAGS = {"", "python", "py", "python3", "py3", "python2", "ipython", "pycon", "sage"}
_MAX_TAIL_TRIES = 8
_CODE_START = re.compile(r"^(def |class |import |from |@|async def |if __name__)", re.MULTILINE)


@dataclass(frozen=True)
class Extracted:
    """The program to run and how it was found (``fenced``, ``plain``, ``prefixed``,
    ``continuation``), for `Score.details`."""

    program: str
    how: str


@functools.lru_cache(maxsize=256)
def _tree(source: str) -> ast.Module | None:
    """The parsed module, or None; cached because extraction asks about the same text often
    (read only: callers never modify the tree)."""
    try:
        return parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def parses(source: str) -> bool:
    """True when ``source`` is syntactically valid Python (parsing never runs it)."""
    return _tree(source) is not None


def defined_names(source: str) -> set[str]:
    """Top-level function, class and assigned names of ``source`` (empty if it does not parse)."""
    tree = _tree(source)
    if tree is None:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language tag, body)`` of each fenced block, in order; an unclosed fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if m is None:
            return blocks
        fence, tag = m.group(1), m.group(2).lower()
        start = m.end() + 1
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end_m = close.search(text, start) if start <= len(text) else None
        if end_m is None:
            blocks.append((tag, text[start:]))
            return blocks
        blocks.append((tag, text[start : end_m.start()]))
        pos = end_m.end()


def _pick_block(blocks: list[tuple[str, str]], entry_point: str | None) -> str | None:
    python = [body for tag, body in blocks if tag in _PY_TAGS]
    candidates = python or [body for _, body in blocks]
    if not candidates:
        return None
    if entry_point:
        defining = [b for b in candidates if entry_point in defined_names(b)]
        if defining:
            return defining[-1]
    parsing = [b for b in candidates if parses(b)]
    return (parsing or candidates)[-1]


def _plain_code(text: str) -> str:
    if parses(text):
        return text
    for n, m in enumerate(_CODE_START.finditer(text)):
        if n >= _MAX_TAIL_TRIES:  # each try parses the whole tail: keep hostile input linear-ish
            break
        tail = text[m.start() :]
        if parses(tail):
            return tail
    return text


def extract_program(
    completion: str, prefix: str | None = None, entry_point: str | None = None
) -> Extracted:
    """The program to run for ``completion`` (see the module docstring for the rules).

    >>> extract_program("Sure:\\n```python\\ndef f():\\n    return 1\\n```").program
    'def f():\\n    return 1\\n'
    """
    blocks = fenced_blocks(completion)
    block = _pick_block(blocks, entry_point)
    code, how = (block, "fenced") if block is not None else (_plain_code(completion), "plain")
    if prefix and prefix.strip():
        defines = entry_point in defined_names(code) if entry_point else parses(code)
        if defines:
            joined = prefix.rstrip("\n") + "\n\n\n" + code
            if parses(joined):
                return Extracted(joined, "prefixed")
            return Extracted(code, how)
        # A continuation: the prefix ends mid-function (HumanEval). Raw text, no separator.
        joined = prefix + (block if block is not None else completion)
        if parses(joined) or not parses(code):
            return Extracted(joined, "continuation")
    return Extracted(code, how)
