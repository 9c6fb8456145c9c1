"""Which language a completion is scored in, and where its program is.

The language, first that applies:

1. the reward's ``language`` option, when not ``"auto"`` (a C++-only dataset);
2. the task's: ``tests.language``, else ``Sample.metadata["language"]``;
3. the completion's fences: Python when any block is tagged Python or untagged (the Python
   extraction rules, unchanged), else the tag of the last block whose tag names a language
   (``cpp``, ``C++``, ``java``, ``rs``, ``golang``, ``js``...);
4. Python.

A language with no toolchain spec (``kotlin``) makes the sample ``unverifiable``. For a
language other than Python the program is the last fenced block tagged with it, else the last
untagged block, else (no fences at all) the whole completion. Finding it is linear in the
completion's length (one scan for fences).
"""

from __future__ import annotations

from typing import Any

from assay_sandbox.languages import language_of_tag

from .extract import fenced_blocks

__all__ = ["UnknownLanguage", "choose_language", "extract_native", "language_named"]


class UnknownLanguage(ValueError):
    """A task or option names a language no toolchain spec covers."""


def _named(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UnknownLanguage(f"{where} must be a string, got {type(value).__name__}")
    lang = language_of_tag(value)
    if lang is None:
        raise UnknownLanguage(
            f"{where} {value!r} is not a supported language "
            "(python, c, cpp, java, javascript, rust, go)"
        )
    return lang


def language_named(
    task_language: Any = None, metadata_language: Any = None, option: str = "auto"
) -> str | None:
    """The language the option or the task names (rules 1 and 2), or None."""
    if option and option != "auto":
        forced = _named(option, "option language")
        if forced:
            return forced
    for value, where in (
        (task_language, "tests.language"),
        (metadata_language, "metadata.language"),
    ):
        lang = _named(value, where)
        if lang:
            return lang
    return None


def choose_language(
    completion: str, task_language: Any = None, metadata_language: Any = None, option: str = "auto"
) -> str:
    """The language to score ``completion`` in (see the module docstring).

    >>> choose_language("```cpp\\nint main(){}\\n```")
    'cpp'
    >>> choose_language("```python\\nprint(1)\\n```", task_language="Java")
    'java'
    """
    named = language_named(task_language, metadata_language, option)
    if named:
        return named
    blocks = fenced_blocks(completion)
    if any(not tag or language_of_tag(tag) == "python" for tag, _ in blocks):
        return "python"  # the Python rules: other-language blocks lose to Python/untagged ones
    for tag, _ in reversed(blocks):
        lang = language_of_tag(tag)
        if lang:
            return lang
    return "python"


def extract_native(completion: str, language: str) -> tuple[str, str]:
    """``(program, how)`` for a non-Python language; ``how`` is ``fenced``, ``untagged`` or
    ``plain``; the program is empty when fences exist but none holds this language."""
    blocks = fenced_blocks(completion)
    if not blocks:
        return completion, "plain"
    tagged = [body for tag, body in blocks if language_of_tag(tag) == language]
    if tagged:
        return tagged[-1], "fenced"
    untagged = [body for tag, body in blocks if not tag]
    if untagged:
        return untagged[-1], "untagged"
    return "", "fenced"
