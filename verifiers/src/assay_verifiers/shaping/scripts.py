"""Unicode scripts by code-point range: word units for any script, and the script mix of a text.

Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan)
have no whitespace words, so a unit there is one character; spaced scripts (Latin, Cyrillic,
Hangul, Arabic, ...) use words. Ranges cover the main blocks, not every rare extension.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Script name -> regex character-class body (main Unicode blocks).
SCRIPTS: dict[str, str] = {
    "Latin": (
        "A-Za-z\u00aa\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u1d00-\u1d7f"
        "\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff\uab30-\uab6f"
    ),
    "Greek": "\u0370-\u03ff\u1f00-\u1fff",
    "Cyrillic": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "Armenian": "\u0530-\u058f",
    "Hebrew": "\u0590-\u05ff",
    "Arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Devanagari": "\u0900-\u097f",
    "Bengali": "\u0980-\u09ff",
    "Tamil": "\u0b80-\u0bff",
    "Thai": "\u0e00-\u0e7f",
    "Lao": "\u0e80-\u0eff",
    "Tibetan": "\u0f00-\u0fff",
    "Myanmar": "\u1000-\u109f",
    "Georgian": "\u10a0-\u10ff\u1c90-\u1cbf\u2d00-\u2d2f",
    "Khmer": "\u1780-\u17ff",
    "Hangul": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "Hiragana": "\u3040-\u309f",
    "Katakana": "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "Han": "\u2e80-\u2fdf\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f",
}

#: Letters of scripts not listed in SCRIPTS (Telugu, Ethiopic, ...): counted, never expected.
OTHER = "Other"

UNSPACED = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan")

# Languages whose writing mixes scripts; any other expected value is one script name.
LANGUAGES: dict[str, tuple[str, ...]] = {
    "zh": ("Han",),
    "ja": ("Hiragana", "Katakana", "Han"),
    "ko": ("Hangul", "Han"),
}

_UNSPACED = "".join(SCRIPTS[s] for s in UNSPACED)
# A run of word characters of spaced scripts | one unspaced character | one punctuation mark
# (the common case first: about twice as fast as the other order).
_UNIT = re.compile(f"[^\\W{_UNSPACED}]+|[{_UNSPACED}]|[^\\w\\s]")
# bytes.translate deletes everything but ASCII letters at C speed.
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))
_OTHER_LETTERS = re.compile(r"[^\W\d_\x00-\x7f]+")


def _span(body: str) -> tuple[str, str]:
    """Lowest and highest code point of a character-class body made of chars and ``a-b`` ranges."""
    chars = [c for c in body if c != "-"]  # no body holds a literal '-'
    return min(chars), max(chars)


_RUNS = {name: (re.compile(f"[{body}]+"), *_span(body)) for name, body in SCRIPTS.items()}


def units(text: str) -> list[str]:
    """Word units of any script, lower-cased: words in spaced scripts, single characters in
    unspaced ones, each punctuation mark on its own. ``"I like 猫猫!"`` -> ``i like 猫 猫 !``."""
    return _UNIT.findall(text.lower())


def script_counts(text: str) -> dict[str, int]:
    """Letters per script (scripts with none are left out; letters of unlisted scripts are
    ``Other``, so they count among all letters). Compatibility forms of non-ASCII letters are
    folded (NFKC: fullwidth ``Ａ`` and math ``𝐀`` are Latin).

    ASCII letters are counted by one scan; only the other letters are matched against the
    scripts whose code-point span they fall in, so English text costs one pass, not nineteen.
    """
    counts: dict[str, int] = {}
    ascii_letters = len(text.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTER))
    if ascii_letters:
        counts["Latin"] = ascii_letters
    rest = "" if text.isascii() else "".join(_OTHER_LETTERS.findall(text))
    if rest and not unicodedata.is_normalized("NFKC", rest):
        rest = unicodedata.normalize(
            "NFKC", rest
        )  # may yield ASCII letters: the Latin run has them
    if rest and not rest.isalpha():  # numerals such as ² or ① are \w, not letters
        rest = "".join(filter(str.isalpha, rest))
    if rest:
        lo, hi = min(rest), max(rest)
        unlisted = len(rest)
        for name, (rx, first, last) in _RUNS.items():
            if last < lo or first > hi:
                continue
            n = sum(map(len, rx.findall(rest)))
            if n:
                counts[name] = counts.get(name, 0) + n
                unlisted -= n
        if unlisted:
            counts[OTHER] = unlisted
    return counts


def detect_language(counts: dict[str, int]) -> str | None:
    """``zh``/``ja``/``ko`` for CJK text, else the dominant script's name; None without letters
    or when letters of unlisted scripts (``Other``) dominate."""
    total = sum(counts.values())
    if not total:
        return None
    kana = counts.get("Hiragana", 0) + counts.get("Katakana", 0)
    han = counts.get("Han", 0)
    hangul = counts.get("Hangul", 0)
    if kana and kana + han >= total / 2:
        return "ja"
    if hangul and hangul + han >= total / 2:
        return "ko"
    top = max(counts, key=lambda k: counts[k])
    if top == OTHER:
        return None
    return "zh" if top == "Han" else top


@lru_cache(maxsize=64)
def allowed_scripts(language: str) -> tuple[str, ...]:
    """The scripts a language (``zh``/``ja``/``ko``) or script name is written in."""
    if language in LANGUAGES:
        return LANGUAGES[language]
    if language in SCRIPTS:
        return (language,)
    known = ", ".join([*LANGUAGES, *SCRIPTS])
    raise ValueError(f"unknown language or script {language!r}; known: {known}")
