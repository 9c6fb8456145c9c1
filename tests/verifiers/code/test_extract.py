from __future__ import annotations

import pytest

from assay_verifiers.code.extract import extract_program, fenced_blocks

STUB = 'from typing import List\n\n\ndef add(a: List[int]) -> int:\n    """Sum."""\n'

CASES = [
    # (completion, prefix, entry point, expected program, how)
    ("def f():\n    return 1\n", None, None, "def f():\n    return 1\n", "plain"),
    (
        "Here you go:\n```python\ndef f():\n    return 1\n```\nDone.",
        None,
        "f",
        "def f():\n    return 1\n",
        "fenced",
    ),
    (  # the block that defines the entry point wins over a later usage example
        "```python\ndef f():\n    return 1\n```\nUse it:\n```python\nprint(f())\n```",
        None,
        "f",
        "def f():\n    return 1\n",
        "fenced",
    ),
    (  # a restated fix after a first try: the last defining block
        "```py\ndef f():\n    return 0\n```\nOops:\n```py\ndef f():\n    return 1\n```",
        None,
        "f",
        "def f():\n    return 1\n",
        "fenced",
    ),
    (  # another language's block is skipped
        "```bash\necho hi\n```\n```\nx = 1\n```",
        None,
        None,
        "x = 1\n",
        "fenced",
    ),
    ("```python\ndef f():\n    return 2", None, "f", "def f():\n    return 2", "fenced"),
    ("~~~python\nx = 3\n~~~\n", None, None, "x = 3\n", "fenced"),
    (
        "I think this works:\ndef f():\n    return 3\n",
        None,
        None,
        "def f():\n    return 3\n",
        "plain",
    ),
    (  # HumanEval continuation: the body only
        "    return sum(a)\n",
        STUB,
        "add",
        STUB + "    return sum(a)\n",
        "continuation",
    ),
    (  # a full function after a stub prefix: prefix imports stay, the new def wins
        "```python\ndef add(a):\n    return sum(a)\n```",
        STUB,
        "add",
        STUB.rstrip("\n") + "\n\n\ndef add(a):\n    return sum(a)\n",
        "prefixed",
    ),
]


@pytest.mark.parametrize(("completion", "prefix", "entry", "program", "how"), CASES)
def test_extract_program(
    completion: str, prefix: str | None, entry: str | None, program: str, how: str
) -> None:
    got = extract_program(completion, prefix=prefix, entry_point=entry)
    assert (got.program, got.how) == (program, how)


def test_fenced_blocks_reports_tags_and_unclosed_tail() -> None:
    text = "a\n```Python\nx\n```\nb\n````text\ny\n````\n```\nz"
    assert fenced_blocks(text) == [("python", "x\n"), ("text", "y\n"), ("", "z")]


def test_prose_without_code_is_returned_as_is() -> None:
    assert extract_program("I cannot solve this.").program == "I cannot solve this."
