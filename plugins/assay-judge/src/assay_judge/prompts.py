"""The messages sent to the judge: a system prompt and a user prompt built from templates.

Templates name fields in braces: ``{prompt}``, ``{completion}``, ``{reference}``,
``{criteria}``, ``{output_format}``, ``{instructions}`` (and ``{completion_b}`` for pairwise
judging). Filling is one regex pass, so other braces in a template (JSON examples) stay as
they are, and text from samples is never re-scanned for fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from .rubric import Rubric

TAGS = re.compile(r"<(/?)(request|response|response_1|response_2|reference_answer)>", re.IGNORECASE)
FIELD = re.compile(
    r"\{(prompt|completion|completion_b|reference|criteria|output_format|instructions)\}"
)

SYSTEM = (
    "You are a strict, impartial grader. You grade a response against a rubric and answer with "
    "one JSON object only. Judge the response, not its length or style, unless the rubric says so."
)

USER = """Grade the RESPONSE to the REQUEST against each criterion of the rubric.
{instructions}
<request>
{prompt}
</request>

<response>
{completion}
</response>
{reference}
Criteria:
{criteria}

{output_format}"""

REFERENCE = "\n<reference_answer>\n{reference}\n</reference_answer>\nUse the reference answer to check correctness; the response need not match its wording.\n"


def defang(text: str) -> str:
    """Sample text with the prompt's own tags made inert (``</response>`` -> ``[/response]``),
    so a completion cannot close its block and write instructions to the judge outside it."""
    return TAGS.sub(lambda m: f"[{m.group(1)}{m.group(2)}]", text)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{field}`` once; fields without a value become empty."""
    return FIELD.sub(lambda m: values.get(m.group(1), ""), template)


def criteria_text(rubric: Rubric) -> str:
    lines = []
    for c in rubric.criteria:
        kind = (
            "true if met, false if not" if c.scale is None else f"integer {c.scale[0]}-{c.scale[1]}"
        )
        note = " (a pitfall: true means the response commits it)" if c.weight < 0 else ""
        lines.append(f"- {c.name} ({kind}){note}: {c.description}")
    return "\n".join(lines)


def output_format(rubric: Rubric) -> str:
    example: dict[str, object] = {"reasoning": "<brief justification>"}
    for c in rubric.criteria:
        example[c.name] = True if c.scale is None else c.scale[1]
    return (
        "Answer with a JSON object with exactly these keys, `reasoning` first, e.g.\n"
        + json.dumps(example)
    )


def grading_messages(
    rubric: Rubric,
    prompt: str,
    completion: str,
    reference: str | None,
    *,
    system: str = SYSTEM,
    template: str = USER,
) -> list[dict[str, str]]:
    """Chat messages asking for a verdict on one completion."""
    ref = fill(REFERENCE, {"reference": defang(reference)}) if reference else ""
    values = {
        "prompt": defang(prompt),
        "completion": defang(completion),
        "reference": ref,
        "criteria": criteria_text(rubric),
        "output_format": output_format(rubric),
        "instructions": f"\n{rubric.instructions}\n" if rubric.instructions else "",
    }
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": fill(template, values)},
    ]
