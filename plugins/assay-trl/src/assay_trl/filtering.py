"""What STaR and RFT keep: the completions a verifier accepted, and STaR's hinted prompts.

Pure functions over scored groups (one pass each, linear in the number of completions plus the
text they copy). A completion is accepted when its combined reward is at least ``threshold``;
None/NaN (unscorable) is never accepted. Duplicates of a prompt's accepted completion are
dropped (RFT keeps *distinct* reasoning paths; Yuan et al., 2023).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def is_accepted(score: float | None, threshold: float) -> bool:
    return score is not None and not math.isnan(score) and score >= threshold


def accepted_examples(
    rows: Sequence[dict[str, Any]],
    completions: Sequence[Sequence[Any]],
    rewards: Sequence[Sequence[float | None]],
    threshold: float,
    *,
    distinct: bool = True,
    per_prompt: int | None = None,
) -> tuple[list[dict[str, Any]], list[int]]:
    """``({prompt, completion} rows for SFT, indices of rows with nothing accepted)``.

    ``per_prompt`` caps the kept completions of a prompt (None: all); the prompt of a row is kept
    as given, and a text completion of a chat prompt becomes an assistant message (what TRL's
    SFTTrainer expects of a conversational prompt-completion row).
    """
    kept: list[dict[str, Any]] = []
    failed: list[int] = []
    for i, (row, group, scores) in enumerate(zip(rows, completions, rewards, strict=True)):
        seen: set[str] = set()
        n = 0
        for completion, score in zip(group, scores, strict=True):
            if not is_accepted(score, threshold):
                continue
            key = completion if isinstance(completion, str) else repr(completion)
            if distinct and key in seen:
                continue
            seen.add(key)
            kept.append(
                {"prompt": row["prompt"], "completion": as_completion(row["prompt"], completion)}
            )
            n += 1
            if per_prompt is not None and n >= per_prompt:
                break
        if n == 0:
            failed.append(i)
    return kept, failed


def as_completion(prompt: Any, completion: Any) -> Any:
    if isinstance(prompt, list) and isinstance(completion, str):
        return [{"role": "assistant", "content": completion}]
    return completion


def with_hint(prompt: Any, answer: Any, template: str) -> Any:
    """STaR's rationalisation prompt: the answer given as a hint, ``template`` with ``{prompt}``
    and ``{answer}`` fields. Chat prompts get the template applied to their last user message."""
    if isinstance(prompt, str):
        return template.format(prompt=prompt, answer=answer)
    if not isinstance(prompt, list) or not prompt:
        raise TypeError(f"a prompt is text or a list of chat messages, not {type(prompt).__name__}")
    messages = [dict(m) for m in prompt]
    for m in reversed(messages):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            m["content"] = template.format(prompt=m["content"], answer=answer)
            return messages
    raise ValueError("a chat prompt without a user message cannot carry a hint")
