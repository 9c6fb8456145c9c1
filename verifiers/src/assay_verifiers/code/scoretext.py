"""Scores that always serialise: text from the candidate made valid UTF-8.

An exception message or a returned string the candidate chose can hold lone surrogates
(``"\\ud800"``); JSON encoding of a `Score` carrying it would raise, and one hostile sample would
break a consumer serialising the whole batch.
"""

from __future__ import annotations

import re
from typing import Any

from assay import Score

__all__ = ["serialisable"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: Any, depth: int = 0) -> Any:
    """``value`` with every string made valid UTF-8 (a lone surrogate from the candidate's text
    becomes U+FFFD), so a Score always serialises; containers walked, bounded in depth."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", value)
        return value
    if depth > 20:
        return value
    if isinstance(value, dict):
        return {_clean(k, depth + 1): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clean(v, depth + 1) for v in value)
    return value


def serialisable(score: Score) -> Score:
    score.reason = _clean(score.reason)
    score.details = _clean(score.details)
    return score
