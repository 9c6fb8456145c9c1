"""Small synthetic tasks built in code, for tests, benchmarks and examples (no downloads).

- `preference_pairs`: completions over a small alphabet; the preferred one holds more "good"
  letters. A stand-in for a preference dataset whose rule a tiny model can learn in seconds.
- `stepwise_examples`: multi-step solutions in TRL's stepwise-supervision format; a step that
  contains the error mark ``x`` is wrong, and every step after the first wrong one is wrong too
  (as in Math-Shepherd, where a chain cannot recover from an error).
- `random_texts`: texts of mixed length for scoring benchmarks.
"""

from __future__ import annotations

import random
from typing import Any

LETTERS = "abcdefgh"
GOOD = "ae"
ERROR_MARK = "x"


def good_count(text: str, good: str = GOOD) -> int:
    return sum(ch in good for ch in text)


def preference_pairs(
    n: int, *, seed: int = 0, length: int = 8, prompt: str = "Q: "
) -> list[dict[str, Any]]:
    """``n`` rows ``{"prompt", "chosen", "rejected"}``; chosen has strictly more good letters."""
    rng = random.Random(seed)
    rows = []
    while len(rows) < n:
        a = "".join(rng.choice(LETTERS) for _ in range(length))
        b = "".join(rng.choice(LETTERS) for _ in range(length))
        if good_count(a) == good_count(b):
            continue
        if good_count(a) < good_count(b):
            a, b = b, a
        rows.append({"prompt": prompt, "chosen": a, "rejected": b})
    return rows


def stepwise_examples(
    n: int, *, seed: int = 0, min_steps: int = 2, max_steps: int = 5, prompt: str = "solve:\n"
) -> list[dict[str, Any]]:
    """``n`` rows ``{"prompt", "completions": [step, ...], "labels": [bool, ...]}``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        k = rng.randint(min_steps, max_steps)
        bad_at = rng.choice([None, None, *range(k)])
        steps, labels = [], []
        for i in range(k):
            chars = [rng.choice(LETTERS) for _ in range(rng.randint(3, 6))]
            if i == bad_at:
                chars[rng.randrange(len(chars))] = ERROR_MARK
            steps.append("".join(chars))
            labels.append(bad_at is None or i < bad_at)
        rows.append({"prompt": prompt, "completions": steps, "labels": labels})
    return rows


def random_texts(
    n: int, *, seed: int = 0, min_len: int = 8, max_len: int = 256, alphabet: str | None = None
) -> list[str]:
    """``n`` texts with lengths spread uniformly in ``[min_len, max_len]``."""
    rng = random.Random(seed)
    chars = alphabet or (LETTERS + " .,")
    return [
        "".join(rng.choice(chars) for _ in range(rng.randint(min_len, max_len))) for _ in range(n)
    ]
