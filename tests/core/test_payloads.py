"""Trainer payload decoding: end tokens, query splitting, labels and ground truths; linear on
hostile input (it runs outside any worker deadline)."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.payloads import (
    DEFAULT_END_TOKENS,
    apps_tests,
    end_tokens_of,
    label_fields,
    split_query,
    strip_end_tokens,
    strip_leading_tokens,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>4</answer><|im_end|>", "<answer>4</answer>"),
        ("<answer>4</answer><|im_end|>\n<|endoftext|><|endoftext|>", "<answer>4</answer>"),
        ("x</s>", "x"),
        ("x<|eot_id|>", "x"),
        ("x<end_of_turn>\n<eos>", "x"),
        ("x <pad><pad>", "x"),
        ("keep trailing space  ", "keep trailing space  "),  # no token: untouched
        ("<|im_end|> in the middle stays", "<|im_end|> in the middle stays"),
        ("<|im_end|>", ""),
        ("", ""),
    ],
)
def test_strip_end_tokens(text, expected):
    assert strip_end_tokens(text) == expected


def test_custom_tokens_and_tokenizer_tokens():
    assert strip_end_tokens("x[END]", ["[END]"]) == "x"
    assert strip_end_tokens("x<|im_end|>", ["[END]"]) == "x<|im_end|>"

    class Tok:  # the attributes a Hugging Face tokenizer has
        def __init__(self) -> None:
            self.eos_token = "<|custom_eos|>"
            self.pad_token = None
            self.all_special_tokens = ["<|custom_eos|>", "<|bos|>"]

    tokens = end_tokens_of(Tok())
    assert tokens[0] == "<|custom_eos|>" and "<|im_end|>" in tokens
    assert strip_end_tokens("a<|custom_eos|>", tokens) == "a"


def test_split_query():
    prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert split_query("<|endoftext|>" * 3 + prompt + "hello<|im_end|>", prompt) == (
        "prompt",
        "hello",
    )
    # The prompt sent differs from the decoded one (a space, a template change): the last
    # assistant marker of a known template splits the query.
    other = prompt.replace("hi", "hi ") + "reply<|im_end|>"
    assert split_query(other, prompt) == ("marker", "reply")
    assert split_query("no template here</s>", "elsewhere") == ("whole", "no template here")


@pytest.mark.parametrize(
    ("label", "fields"),
    [
        ("42", {"answer": "42"}),
        ("{1, 2}", {"answer": "{1, 2}"}),  # a set in LaTeX-ish text, not JSON
        ('{"x": 1}', {"answer": '{"x": 1}'}),  # an object that is not a label
        (
            '{"answer": "7", "metadata": {"task": "math"}, "level": 3}',
            {"answer": "7", "metadata": {"task": "math", "level": 3}},
        ),
        (
            {"answer": "7", "metadata": {"task": "math"}},
            {"answer": "7", "metadata": {"task": "math"}},
        ),
        (
            '{"type": "asserts", "asserts": ["assert f() == 1"]}',
            {"tests": {"type": "asserts", "asserts": ["assert f() == 1"]}},
        ),
        (
            '{"inputs": ["1\\n"], "outputs": ["2\\n"]}',
            {"tests": {"type": "stdio", "cases": [{"input": "1\n", "output": "2\n"}]}},
        ),
        (
            {"tests": '{"inputs": [["a", "b"]], "outputs": [["a\\nb"]]}'},
            {"tests": {"type": "stdio", "cases": [{"input": "a\nb", "output": "a\nb"}]}},
        ),
        (["3", "4"], {"answer": ["3", "4"]}),
        (None, {"answer": None}),
    ],
)
def test_label_fields(label, fields):
    assert label_fields(label) == fields


def test_apps_call_tests_unwrap_one_element_outputs():
    tests = apps_tests({"fn_name": "f", "inputs": [[1, 2], 3], "outputs": [[3], [[1, 2]]]})
    assert tests == {
        "type": "call",
        "fn_name": "f",
        "cases": [{"args": [1, 2], "expected": 3}, {"args": [3], "expected": [1, 2]}],
    }
    broken = {"inputs": ["1"], "outputs": []}
    assert apps_tests(broken) is broken  # left for the code reward to call unverifiable


def test_numpy_values_become_plain():
    np = pytest.importorskip("numpy")
    fields = label_fields(
        {"answer": np.array(["3", "4"], dtype=object), "metadata": {"k": np.int64(2)}}
    )
    assert fields == {"answer": ["3", "4"], "metadata": {"k": 2}}
    assert type(fields["metadata"]["k"]) is int
    assert json.dumps(fields)


TOKENS = st.sampled_from([*DEFAULT_END_TOKENS[:6], " ", "\n", "a", "<", "|", ">", "猫"])


@settings(max_examples=60, deadline=None)
@given(st.lists(TOKENS, max_size=60), st.integers(1, 2000))
def test_stripping_and_splitting_stay_linear_and_sound(pieces, reps):
    text = "".join(pieces) * reps
    t0 = time.perf_counter()
    stripped = strip_end_tokens(text)
    lead = strip_leading_tokens(text)
    how, response = split_query(text, "".join(pieces[:3]))
    assert time.perf_counter() - t0 < 5.0
    assert text.startswith(stripped) and text.endswith(lead)
    assert strip_end_tokens(stripped) == stripped  # idempotent: nothing left to strip
    assert how in ("prompt", "marker", "whole") and len(response) <= len(text)


def test_a_long_run_of_end_tokens_is_linear():
    for n in (20_000, 160_000):
        text = "answer" + "<|im_end|>\n" * n
        t0 = time.perf_counter()
        assert strip_end_tokens(text) == "answer"
        elapsed = time.perf_counter() - t0
        assert elapsed < 5.0, (n, elapsed)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["answer", "tests", "metadata", "inputs", "outputs", "fn_name", "type", "x"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_any_label_decodes_without_raising(value, as_text):
    label = json.dumps(value) if as_text else value
    fields = label_fields(label)
    assert set(fields) <= {"answer", "tests", "metadata"}


def test_absurdly_nested_labels_do_not_raise():
    deep_text = "[" * 100_000 + "]" * 100_000
    assert label_fields(deep_text) == {"answer": deep_text}  # not an object: the answer
    deep_obj = '{"answer": ' + "[" * 5000 + "]" * 5000 + "}"
    # Too deep for json under the default recursion limit (left as text), decoded under a raised
    # one (hypothesis raises it in-process): either way an answer, never an exception.
    assert set(label_fields(deep_obj)) == {"answer"}
    nested: list = []
    for _ in range(3000):  # an in-process label nested past the recursion limit
        nested = [nested]
    assert "answer" in label_fields({"answer": nested, "metadata": {}})
    tests = label_fields({"inputs": [nested], "outputs": ["1"]})["tests"]
    assert tests["type"] == "stdio"
