"""The request parsers run on the server's event loop: for any JSON body they return samples or
raise `BadRequest` (never anything else), and their cost is linear in the body."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.serve.protocols import PARSERS, BadRequest, detect

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
keys = st.sampled_from(
    ["query", "queries", "prompts", "labels", "samples", "prompt", "response", "label",
     "responses_create_params", "input", "output", "content", "text", "role", "type",
     "expected_answer"]
)  # fmt: skip
# bodies built from the keys the parsers look at, with values of every type and shape
shaped = st.recursive(
    json_values,
    lambda inner: st.dictionaries(keys, inner, max_size=6) | st.lists(inner, max_size=4),
    max_leaves=40,
)


def _row(i: int) -> dict:
    status = ["ok", "error", "unverifiable", "timeout"][i % 4]
    comps = {"a": {"value": None if i % 3 else 1.0, "status": status}}
    return {"reward": None if i % 2 else 0.5, "status": status, "reason": "r", "components": comps}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(shaped, json_values))
def test_any_body_is_samples_or_a_bad_request(body):
    for name, parse in [*PARSERS.items(), ("auto", detect(body))]:
        if name != "slime" and parse is not PARSERS["slime"] and not isinstance(body, dict):
            continue  # the app answers 400 before parsing
        try:
            req = parse(body)
        except BadRequest:
            continue
        assert isinstance(req.samples, list)
        rows = [_row(i) for i in range(len(req.samples))]
        req.respond(rows)  # answering never fails either


@pytest.mark.parametrize("shape", ["openrlhf", "nemo_gym", "slime"])
def test_parsing_cost_is_linear_in_the_body(shape):
    def body(n: int):
        if shape == "openrlhf":
            return {"query": ["p" + "x" * 50] * n, "prompts": ["p"] * n, "labels": ["1"] * n}
        if shape == "slime":
            return [{"prompt": "p", "response": "x" * 50, "label": "1"}] * n
        part = {"type": "output_text", "text": "x" * 50}
        return {
            "responses_create_params": {"input": [{"role": "user", "content": [part] * n}]},
            "response": {
                "output": [{"type": "message", "role": "assistant", "content": [part] * n}]
            },
        }

    def cost(n: int) -> float:
        """Best of 5, in this process's CPU time (the machine is shared: wall time is not)."""
        b = body(n)
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            PARSERS[shape](b)
            best = min(best, time.process_time() - t0)
        return best

    small, large = cost(40_000), cost(160_000)
    assert large < 4 * small * 2.5, (small, large)  # 4x the input: linear is 4x, quadratic 16x
