"""Shared prompts: score a GRPO group's completions against one pass over their common prefix.

A GRPO batch holds G completions of each prompt. Scoring each row whole runs the prompt through
the model G times; a causal model's hidden states over the prompt do not depend on what follows,
so the prompt can run once, with its keys and values cached, and only the G continuations run
against that cache. This saves arithmetic, not just per-call overhead, so it pays on a CPU as on
a GPU, in proportion to the prompt's share of the tokens.

`prefix_groups` finds rows that share a prefix (the longest common one of each group of rows
with the same first ``min_prefix`` ids). The classifier reads its score at the last id that is
not the pad id, so a row whose continuation holds only pad ids (a prompt-only row when pad is
also eos) is left to the plain path, where that position lies inside the prefix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest prefix all rows share (that of the least and greatest row)."""
    return len(os.path.commonprefix(list(rows)))  # noqa: RUF071 - token-id rows, not paths


def prefix_groups(
    rows: Sequence[Sequence[int]], min_prefix: int, pad_id: int | None
) -> tuple[list[tuple[int, list[int]]], list[int]]:
    """``([(prefix_length, row indices), ...], other indices)``.

    Each group has at least two rows sharing at least ``min_prefix`` ids and leaves every row a
    continuation of at least one id that is not ``pad_id``; rows that fit no group are returned
    apart, to be scored whole. Rows that share a system prompt and, within it, a question are
    grouped by the question (the longer prefix); the rest of them by the system prompt.
    """
    heads: dict[tuple[int, ...], list[int]] = {}
    rest: list[int] = []
    for i, r in enumerate(rows):
        if len(r) > min_prefix:
            heads.setdefault(tuple(r[:min_prefix]), []).append(i)
        else:
            rest.append(i)
    groups: list[tuple[int, list[int]]] = []
    for idx in heads.values():
        _split(rows, idx, min_prefix, pad_id, groups, rest)
    return groups, sorted(rest)


def _split(
    rows: Sequence[Sequence[int]],
    idx: list[int],
    min_prefix: int,
    pad_id: int | None,
    groups: list[tuple[int, list[int]]],
    rest: list[int],
) -> None:
    """Group ``idx`` by its longest common prefix, first splitting off the subsets that share a
    longer one (rows that agree on the next ``min_prefix`` ids after it)."""
    if len(idx) < 2:
        rest.extend(idx)
        return
    n = min(common_prefix_length([rows[i] for i in idx]), min(len(rows[i]) for i in idx) - 1)
    parts: dict[tuple[int, ...], list[int]] = {}
    loose: list[int] = []
    for i in idx:
        if len(rows[i]) > n + min_prefix:
            parts.setdefault(tuple(rows[i][n : n + min_prefix]), []).append(i)
        else:
            loose.append(i)
    for part in parts.values():
        if len(part) > 1:  # a longer shared prefix: its own group(s)
            _split(rows, part, min_prefix, pad_id, groups, rest)
        else:
            loose.extend(part)
    keep = [i for i in loose if any(t != pad_id for t in rows[i][n:])]
    kept = set(keep)
    rest.extend(i for i in loose if i not in kept)
    if len(keep) >= 2 and n >= min_prefix:
        groups.append((n, sorted(keep)))
    else:
        rest.extend(keep)
