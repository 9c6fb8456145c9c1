"""The ``pairwise_judge`` reward: is a sample's ``completion`` better than its ``other``?

LLM judges favour one position (Zheng et al., 2023, "Judging LLM-as-a-judge"), so each
comparison is asked in both orders. The value is the completion's preference,

    p = mean over answers of (1 if the completion wins, 0.5 for a tie, 0 if the other wins)

in [0, 1]; a judge that always picks the first position gives 0.5 (``position_consistent`` is
false in ``details``). A comparison needs a verdict in each order, else it is ``error``.

    {"use": "pairwise_judge", "with": {"base_url": ..., "model": ..., "criteria": "..."}}
    sample: {"prompt": ..., "completion": A, "other": B}

The DPO backend of assay-trl builds (chosen, rejected) pairs with it (``pair_judge``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import Field

import assay

from .base import JudgeBase, conversation_text
from .engine import Answer, Request
from .options import Endpoint, JudgeSettings
from .parsing import VerdictError, json_objects
from .prompts import REFERENCE, SYSTEM, defang, fill

PAIR_USER = """Compare two responses to the REQUEST and say which is better.
{instructions}
<request>
{prompt}
</request>

<response_1>
{completion}
</response_1>

<response_2>
{completion_b}
</response_2>
{reference}
Judge by: {criteria}
Do not let the order of the responses or their length sway you.

Answer with one JSON object, `reasoning` first, `winner` one of "1", "2", "tie", e.g.
{"reasoning": "<brief justification>", "winner": "1"}"""

_WINNER = {
    "1": 1, "a": 1, "response 1": 1, "response_1": 1, "first": 1,
    "2": 2, "b": 2, "response 2": 2, "response_2": 2, "second": 2,
    "tie": 0, "equal": 0, "both": 0, "neither": 0, "0": 0, "draw": 0,
}  # fmt: skip


def pair_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "winner": {"type": "string", "enum": ["1", "2", "tie"]},
        },
        "required": ["reasoning", "winner"],
        "additionalProperties": False,
    }


def read_winner(reply: str, allow_tie: bool = True) -> int:
    """1 or 2 for the winning position, 0 for a tie; `VerdictError` when there is no winner."""
    for obj in reversed(json_objects(reply)):
        loose = {k.strip().lower(): v for k, v in obj.items() if isinstance(k, str)}
        if "winner" not in loose:
            continue
        w = loose["winner"]
        word = (
            str(w).strip().lower().rstrip(".")
            if isinstance(w, (str, int)) and not isinstance(w, bool)
            else None
        )
        if word is not None and len(word) <= 16 and word in _WINNER:
            if _WINNER[word] == 0 and not allow_tie:
                raise VerdictError("the judge answered a tie, and ties are not allowed")
            return _WINNER[word]
        raise VerdictError(f"winner {str(w)[:40]!r} is not 1, 2 or tie")
    raise VerdictError("no JSON object with a `winner` in the reply")


class PairwiseOptions(JudgeSettings):
    criteria: str = "correctness, helpfulness and harmlessness for the user's request"
    instructions: str = ""
    other_field: str = Field(
        default="other", description="the sample field holding the second completion"
    )
    use_answer: bool = True
    allow_tie: bool = True


class PairwiseJudge(JudgeBase):
    """Preference of ``completion`` over ``other`` in [0, 1], asked in both orders."""

    name = "pairwise_judge"
    Options = PairwiseOptions
    options: PairwiseOptions

    def _setup(self) -> None:
        super()._setup()
        o = self.options
        self._endpoint = Endpoint(base_url=o.base_url, model=o.model, api_key_env=o.api_key_env)
        self._parse = partial(read_winner, allow_tie=o.allow_tie)

    def _other(self, sample: assay.Sample) -> str:
        f = self.options.other_field
        value = (sample.model_extra or {}).get(f, sample.metadata.get(f))
        if value is None:
            raise ValueError(f"the sample has no `{f}` (the completion to compare with)")
        return assay.Sample(completion=value).completion_text

    def _messages(self, sample: assay.Sample, first: str, second: str) -> list[dict[str, str]]:
        o = self.options
        ref = str(sample.answer) if o.use_answer and sample.answer is not None else ""
        values = {
            "prompt": defang(conversation_text(sample.prompt)),
            "completion": defang(first),
            "completion_b": defang(second),
            "reference": fill(REFERENCE, {"reference": defang(ref)}) if ref else "",
            "criteria": o.criteria,
            "instructions": f"\n{o.instructions}\n" if o.instructions else "",
        }
        return [
            {"role": "system", "content": o.system_prompt or SYSTEM},
            {"role": "user", "content": fill(o.template or PAIR_USER, values)},
        ]

    def requests(self, sample: assay.Sample) -> list[Request]:
        a, b = sample.completion_text, self._other(sample)
        o, schema = self.options, pair_schema()
        parts = {"kind": "pairwise", "criteria": o.criteria, "allow_tie": o.allow_tie}
        ab, ba = self._messages(sample, a, b), self._messages(sample, b, a)
        reqs = []
        for i in range(o.n):
            reqs.append(Request(self._endpoint, ab, o.params(i), schema, self._parse, parts, i))
            reqs.append(Request(self._endpoint, ba, o.params(i), schema, self._parse, parts, i))
        return reqs

    def verdict(self, sample: assay.Sample, answers: list[Answer]) -> assay.Score:
        ab, ba = answers[0::2], answers[1::2]
        details: dict[str, Any] = {
            "judge": self.options.model,
            "cached": all(a.cached for a in answers),
        }
        for label, side in (("completion first", ab), ("other first", ba)):
            if not any(a.ok for a in side):
                bad = side[0]
                details.update(order=label, reply=self.reply_excerpt(bad.reply), **bad.details)
                return assay.Score.error(f"{bad.error} ({label})", **details)
        # The completion's result per answer: position 1 in `ab`, position 2 in `ba`.
        wins = [{1: 1.0, 2: 0.0, 0: 0.5}[a.value] for a in ab if a.ok]
        wins += [{1: 0.0, 2: 1.0, 0: 0.5}[a.value] for a in ba if a.ok]
        value = sum(wins) / len(wins)
        details["ab"] = [a.value for a in ab if a.ok]
        details["ba"] = [a.value for a in ba if a.ok]
        details["position_consistent"] = len(set(wins)) == 1
        details["prefers"] = "completion" if value > 0.5 else "other" if value < 0.5 else "tie"
        return assay.Score.ok(value, **details)
