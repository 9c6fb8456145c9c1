"""json_schema: extraction, JSON Schema and pydantic validation, failing paths, hostile input."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from assay.models import Sample
from assay.rewards import score_batch
from assay_verifiers.shaping.json_schema import JsonSchema, json_path

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "price": {"type": "number"}},
                "required": ["sku", "price"],
            },
        },
    },
    "required": ["name", "items"],
}
GOOD = '{"name": "cart", "items": [{"sku": "a", "price": 1.5}]}'
BAD_PRICE = '{"name": "cart", "items": [{"sku": "a", "price": 1}, {"sku": "b", "price": "x"}]}'


class Item(BaseModel):
    sku: str
    price: float


class Cart(BaseModel):
    name: str
    items: list[Item]


CASES = [
    # (completion, options, value, reason fragment)
    (GOOD, {}, 1.0, "valid (completion)"),
    (f"Here you go:\n```json\n{GOOD}\n```\nDone.", {}, 1.0, "valid (fenced block"),
    (f"```\n{GOOD}\n```", {"extract": "fenced"}, 1.0, "valid"),
    (GOOD, {"extract": "fenced"}, 0.0, "no fenced JSON block"),
    (f"```json\n{GOOD}\n```", {"extract": "raw"}, 0.0, "not JSON"),
    (f"```python\nx = 1\n```\n{GOOD}", {}, 0.0, "not JSON"),  # only json/bare fences count
    (f"<think>{{}}</think><answer>{GOOD}</answer>", {"tag": "answer"}, 1.0, "valid (<answer>)"),
    (GOOD, {"tag": "answer"}, 0.0, "no <answer> section"),
    (BAD_PRICE, {}, 0.0, "$.items[1].price: 'x' is not of type 'number'"),
    (BAD_PRICE, {"parse_credit": 0.25}, 0.25, "$.items[1].price"),
    ('{"items": []}', {}, 0.0, "$: 'name' is a required property"),
    ('{"name": "c", "items": [1, 2', {}, 0.0, "not JSON (completion): Expecting"),
    ("", {}, 0.0, "not JSON"),
    ("[" * 100_000, {}, 0.0, "not JSON"),  # hostile nesting: RecursionError caught
    ("1" * 5000, {}, 0.0, "not JSON"),  # int too long to convert
]


@pytest.mark.parametrize(("completion", "options", "value", "reason"), CASES)
def test_json_schema_table(completion: str, options: dict, value: float, reason: str) -> None:
    [score] = score_batch(JsonSchema(schema=SCHEMA, **options), [Sample(completion=completion)])
    assert score.status == "ok"
    assert score.value == value
    assert reason in score.reason


@pytest.mark.parametrize("model", [Cart, f"{__name__}:Cart"])
def test_pydantic_model_names_the_failing_path(model: object) -> None:
    reward = JsonSchema(model=model)
    good, bad, broken = score_batch(
        reward, [Sample(completion=GOOD), Sample(completion=BAD_PRICE), Sample(completion="{")]
    )
    assert good.value == 1.0
    assert bad.value == 0.0 and bad.reason.startswith("$.items[1].price:")
    assert bad.details["path"] == "$.items[1].price"
    assert broken.value == 0.0 and "not JSON" in broken.reason


def test_schema_per_sample_and_bad_rows_do_not_sink_the_batch() -> None:
    reward = JsonSchema()
    rows = [
        Sample(completion='{"a": 1}', metadata={"json_schema": {"required": ["a"]}}),
        Sample(completion='{"b": 1}', metadata={"json_schema": '{"required": ["a"]}'}),
        Sample(completion='{"a": 1}', metadata={"json_schema": {"type": 12}}),  # invalid schema
        Sample(completion='{"a": 1}', metadata={"json_schema": "{not json"}),
        Sample(completion='{"a": 1}'),  # no schema at all
    ]
    scores = score_batch(reward, rows)
    assert [s.value for s in scores] == [1.0, 0.0, None, None, None]
    assert [s.status for s in scores] == ["ok", "ok", "error", "error", "unverifiable"]
    assert "invalid metadata.json_schema" in scores[2].reason


def test_bad_options_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="invalid `schema`"):
        JsonSchema(schema={"type": 12})
    with pytest.raises(ValueError, match="not both"):
        JsonSchema(schema=SCHEMA, model=Cart)
    with pytest.raises(ValueError, match="pydantic model"):
        JsonSchema(model="json:loads")
    with pytest.raises(ValueError, match="extract"):
        JsonSchema(schema=SCHEMA, extract="xml")


def test_json_path() -> None:
    assert json_path([]) == "$"
    assert json_path(["a", 0, "b"]) == "$.a[0].b"


# Regression: hostile and unusual inputs found in an audit.


@pytest.mark.parametrize(
    ("completion", "value", "reason"),
    [
        (f"```json\r\n{GOOD}\r\n```\r\n", 1.0, "valid (fenced block"),  # CRLF fences
        (f"```json  \r\n{GOOD}\n```", 1.0, "valid (fenced block"),
        ('{"name": "c", "items": [{"sku": "a", "price": NaN}]}', 0.0, "NaN is not valid JSON"),
        ('{"name": "c", "items": [{"sku": "a", "price": Infinity}]}', 0.0, "not JSON"),
        ('{"name": "c", "items": [{"sku": "a", "price": -Infinity}]}', 0.0, "not JSON"),
    ],
)
def test_crlf_fences_and_non_json_constants(completion: str, value: float, reason: str) -> None:
    [score] = score_batch(JsonSchema(schema=SCHEMA), [Sample(completion=completion)])
    assert (score.status, score.value) == ("ok", value)
    assert reason in score.reason


def test_unresolvable_ref_is_an_error_for_that_sample_only() -> None:
    rows = [
        Sample(completion="{}", metadata={"json_schema": {"$ref": "#/definitions/nowhere"}}),
        Sample(completion='{"a": 1}', metadata={"json_schema": {"required": ["a"]}}),
    ]
    bad, good = score_batch(JsonSchema(), rows)
    assert bad.status == "error" and "schema could not be applied" in bad.reason
    assert good.value == 1.0
    [score] = score_batch(JsonSchema(schema={"$ref": "#/nope"}), [Sample(completion="{}")])
    assert score.status == "error"


def test_bad_model_path_and_credit_name_the_option() -> None:
    with pytest.raises(ValueError, match=r"`model`.*no_such_module"):
        JsonSchema(model="no_such_module_xyz:Cart")
    with pytest.raises(ValueError, match="`model`"):
        JsonSchema(model=f"{__name__}:NoSuchClass")
    for credit in (1.5, -0.5, float("nan")):
        with pytest.raises(ValueError, match="parse_credit"):
            JsonSchema(schema=SCHEMA, parse_credit=credit)


def test_adversarial_fence_and_unclosed_tags_stay_linear() -> None:
    # Both took tens of seconds before (quadratic regex backtracking / rescanning).
    import time

    rows = [
        Sample(completion="```" + " " * 300_000 + "x"),
        Sample(completion="<answer>" * 40_000),
    ]
    t0 = time.perf_counter()
    spaces, tags = score_batch(JsonSchema(schema=SCHEMA, tag="answer"), rows)
    assert time.perf_counter() - t0 < 10.0
    assert (spaces.value, tags.value) == (0.0, 0.0)
    [score] = score_batch(JsonSchema(schema=SCHEMA), rows[:1])
    assert score.value == 0.0 and "not JSON" in score.reason


def test_last_tag_section_matches_the_regex_definition() -> None:
    import random
    import re

    from assay_verifiers.shaping.tags import last_section

    rx = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
    rnd = random.Random(0)
    pieces = ["<answer>", "</answer>", "a", "<answer", "\n", "</answer"]
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 8)))
        found = rx.findall(text)
        assert last_section(text, "answer") == (found[-1] if found else None), text
