from __future__ import annotations

import json

import pytest

from assay_verifiers.code.specs import (
    AssertsTests,
    CallTests,
    CheckTests,
    StdioTests,
    TestSpecError,
    parse_tests,
)

GOOD = [
    ({"type": "asserts", "asserts": ["assert f(1) == 2"], "setup": "import math"}, AssertsTests),
    ({"type": "check", "check": "def check(c):\n    assert c(1)", "entry_point": "f"}, CheckTests),
    ({"type": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}]}, StdioTests),
    ({"type": "call", "fn_name": "f", "cases": [{"args": [1], "expected": 2}]}, CallTests),
    ({"type": "call", "fn_name": "Solution.f", "cases": [{"expected": None}]}, CallTests),
]


@pytest.mark.parametrize(("raw", "cls"), GOOD)
def test_valid_specs_parse_to_their_model(raw: dict, cls: type) -> None:
    assert type(parse_tests(raw)) is cls
    assert type(parse_tests(json.dumps(raw))) is cls  # a JSON string column works too


BAD = [
    (None, "no tests"),
    ("{not json", "not JSON"),
    ([1, 2], "must be an object"),
    ({"asserts": ["assert 1"]}, "no 'type'"),
    ({"type": "unit"}, "does not match"),
    ({"type": "asserts", "asserts": []}, "asserts: List should have at least 1"),
    ({"type": "asserts", "asserts": ["assert f("]}, "asserts[0] is not valid Python"),
    ({"type": "asserts", "asserts": ["assert 1"], "setup": "import ("}, "setup is not valid"),
    ({"type": "asserts", "assert": ["assert 1"]}, "Extra inputs"),
    ({"type": "check", "check": "def check(c): pass", "entry_point": "a b"}, "entry_point"),
    ({"type": "check", "check": "def check(c) pass", "entry_point": "f"}, "check is not valid"),
    ({"type": "stdio", "cases": [{"input": "1"}]}, "cases.0.output: Field required"),
    ({"type": "stdio", "cases": []}, "cases: List should have at least 1"),
    ({"type": "call", "fn_name": "f", "cases": [{"args": [1]}]}, "expected: Field required"),
    ({"type": "call", "fn_name": "os.system('x')", "cases": [{"expected": 1}]}, "fn_name"),
]


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_malformed_specs_name_the_problem(raw: object, message: str) -> None:
    with pytest.raises(TestSpecError) as err:
        parse_tests(raw)
    assert message in str(err.value)
