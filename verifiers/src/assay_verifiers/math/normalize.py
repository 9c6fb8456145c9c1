"""Text normalisation of an extracted answer, before any parsing.

Pure string work (no sympy), so the in-process fast path can compare answers cheaply. It strips
what does not change the value: math delimiters, ``\\left``/``\\right``, spacing commands,
``\\text{}`` wrappers, units, degree signs, ``\\$``, thousands separators, trailing zeros,
a leading ``x =``; and it maps unicode (minus, times, vulgar fractions, roots, pi) to LaTeX.

>>> normalize(r"$\\dfrac{1}{2}\\,\\text{cm}$")
'\\\\frac{1}{2}'
>>> normalize("1,000.50")
'1000.5'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import notation, words

_UNICODE = {
    "\u2212": "-",  # minus sign
    "\u2010": "-",  # hyphens and dashes
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\ufe63": "-",  # small and fullwidth hyphen-minus, fullwidth plus
    "\uff0d": "-",
    "\uff0b": "+",
    "\u2044": "/",  # fraction slash
    "\u2215": "/",  # division slash
    "\u200b": "",  # zero-width space, joiners, word joiner, byte-order mark
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00d7": r"\times ",
    "\u00f7": r"\div ",
    "\u00b7": r"\cdot ",
    "\u22c5": r"\cdot ",
    "\u221a": r"\sqrt",
    "\u03c0": r"\pi ",
    "\u221e": r"\infty ",
    "\u2264": r"\leq ",
    "\u2265": r"\geq ",
    "\u2260": r"\neq ",
    "\u222a": r"\cup ",
    "\u2229": r"\cap ",
    "\u00b0": r"^\circ",
    "\u2220": r"\angle ",  # ∠C = 70°
    "\u00a5": "",  # currency signs: yen/yuan, fullwidth yuan, euro, pound
    "\uffe5": "",
    "\u20ac": "",
    "\u00a3": "",
    "\u6216": " or ",  # Chinese "or", "and" between values
    "\u548c": " and ",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
}
_VULGAR = {
    "\u00bd": (1, 2),
    "\u2153": (1, 3),
    "\u2154": (2, 3),
    "\u00bc": (1, 4),
    "\u00be": (3, 4),
    "\u2155": (1, 5),
    "\u2156": (2, 5),
    "\u2157": (3, 5),
    "\u2158": (4, 5),
    "\u2159": (1, 6),
    "\u215a": (5, 6),
    "\u2150": (1, 7),
    "\u215b": (1, 8),
    "\u215c": (3, 8),
    "\u215d": (5, 8),
    "\u215e": (7, 8),
    "\u2151": (1, 9),
    "\u2152": (1, 10),
}
_SUPERSCRIPT = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+"))
_SUPERSCRIPT_RE = re.compile("[" + "".join(_SUPERSCRIPT) + "]+")
_VULGAR_RE = re.compile(r"(\d*)\s*([" + "".join(_VULGAR) + "])")

# Units and words that never change the value when they trail a number.
_UNITS = (
    "square units|sq units|units|unit|cubic centimeters|cubic meters|cubic feet|cubic inches|"
    "square centimeters|square meters|square feet|square inches|square miles|"
    "centimeters|centimetres|centimeter|millimeters|millimeter|kilometers|kilometer|meters|metres|"
    "meter|inches|inch|feet|foot|yards|yard|miles|mile|cm\\^2|cm\\^3|m\\^2|m\\^3|cm|mm|km|ft|"
    "kilograms|kilogram|grams|gram|kg|mg|pounds|pound|lbs|lb|ounces|ounce|oz|liters|liter|litres|"
    "ml|mL|seconds|second|sec|minutes|minute|min|hours|hour|hrs|hr|days|day|weeks|week|"
    "months|month|years|year|mph|km/h|m/s|dollars|dollar|cents|cent|euros|euro|degrees|degree|"
    "deg|radians|radian|rad|people|persons|students|apples|ways|times|points|cookies|marbles|"
    "books|pages|cars|boxes|items|pieces|percent|pct|tiles|coins|balls|steps|games|hours|sides|"
    "numbers|integers|digits|values|solutions|cups|eggs|trees|bags|pens|pencils|candies"
)
_TEXT_CMD = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|textsf|texttt|mathrm|mathbf|mathit|mathsf|"
    r"mathtt|mbox|hbox|operatorname|boldsymbol|bm)\s*\{"
)
# One unambiguous run of spacing before the unit (``\s*(?:...)*\s*`` backtracked cubically on
# long runs of spaces; whitespace is also collapsed before this runs).
_TRAILING_UNIT = re.compile(
    r"(?<=[\d}\)\s])(?:\s|\\[,;: ]|~)*(?:" + _UNITS + r")(?:\s?\^\s?\{?[23]\}?)?\.?\s?$"
)
# Single-letter units only after a plain number ("5 m"), never after an expression ("\\pi r^2 h").
_NUMBER_SHORT_UNIT = re.compile(
    r"^(-?[\d.,]+)\s*(?:m|s|h|g|L|in|km|cm|mm)(?:\s?\^\s?\{?[23]\}?)?\.?$"
)  # "36 m^2", "5 cm^3"
# The name an answer assigns to: ``x``, ``a_1``, ``\\alpha``, a function's value ``f(x)``,
# ``f'(2)``, ``f^{-1}(x)``, ``g^{\\prime}(0)``, or a segment ``AB`` (two or three capitals).
_LEADING_VAR = re.compile(
    r"^\s*(?:[A-Z]{2,3}|[a-zA-Z](?:_\{?\w+\}?)?(?:'{1,3}|\^\{?\\prime\}?|\^\{\s?-1\s?\})?"
    r"(?:\([a-zA-Z0-9., ]{1,10}\))?|\\[a-zA-Z]+)\s*=\s*(?=[^=])"
)
_ARROW = re.compile(r"=>|\u21d2|\u27f9|\\(?:Rightarrow|Longrightarrow|implies)(?![a-zA-Z])")
# A clock time: hours, two-digit minutes, an optional AM/PM ("2:30", "12:15 PM")
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)(?:\s?(?:[AaPp]\.?\s?[Mm]\.?|o'clock))?$")
_LIST_PERCENT = re.compile(r"(?<![\d.])(\d{1,30}(?:\.\d{1,30})?)\s?\\?%")
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?![\d,])(?!\.\d*,)")
_THOUSANDS_TEX = re.compile(r"(\d)(?:\{,\}|\\,|\\ |\s)(?=\d{3}(?!\d))")
# Both start only at the first digit of a number and cannot backtrack over a run of zeros
# twice (the lazy form was quadratic in a long number, and a prompt is normalised too).
_TRAILING_ZEROS = re.compile(r"(?<!\d)(\d+\.\d*[1-9])0+(?!\d)|(?<!\d)(\d+\.)0+(?!\d)")
_DANGLING_DOT = re.compile(r"(?<!\d)(\d+)\.(?!\d)")
_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z])")
_DEGREE = r"\^\s?(?:\{\s?\\circ\s?\}|\\circ)"
_DEGREE_ARG = re.compile(r"(\d{1,10}(?:\.\d{1,10})?)\s?" + _DEGREE)
_SPACING = re.compile(
    r"(?<!\\)\\[,;:! ]"
    r"|(?<!\\)\\(?:quad|qquad|displaystyle|textstyle|left|right|big|Big|bigg|Bigg)(?![a-zA-Z])|~"
)


@dataclass(frozen=True)
class Normalized:
    """A normalised answer and what the normalisation removed that may matter."""

    text: str
    percent: bool = False
    full: str = ""  # the text before a leading "x =" was dropped (equations keep their left side)
    clock: str = ""  # a clock time "2:30" (AM/PM dropped), which is also read as the ratio 2/30


def unwrap_braced(text: str, start: int) -> tuple[str, int] | None:
    """The content of the brace group opening at ``text[start] == '{'``, and the index after it."""
    if start >= len(text) or text[start] != "{":
        return None
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "\\":
            continue
        if c == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return None


def _unwrap_text_commands(s: str) -> str:
    """``\\text{abc}`` -> ``abc`` (and \\mathrm, \\textbf...), braces matched properly."""
    for _ in range(50):
        m = _TEXT_CMD.search(s)
        if not m:
            return s
        got = unwrap_braced(s, m.end() - 1)
        if got is None:
            return s[: m.start()] + s[m.end() :]
        inner, end = got
        s = s[: m.start()] + " " + inner + " " + s[end:]
    return s


def _strip_delimiters(s: str) -> str:
    s = s.replace(r"\$", " ").strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left) : len(s) - len(right)].strip()
    return s.replace("$", "")


def _vulgar(m: re.Match[str]) -> str:
    whole, frac = m.group(1), _VULGAR[m.group(2)]
    f = rf"\frac{{{frac[0]}}}{{{frac[1]}}}"
    return f"({whole}+{f})" if whole else f


def normalize(text: str) -> str:
    """Normalised text of an answer (see module docstring)."""
    return normalize_full(text).text


@lru_cache(maxsize=2048)
def normalize_full(text: str) -> Normalized:
    """`normalize`, also telling whether a percent sign was removed (cached: a GRPO group
    repeats its gold answer and prompt)."""
    s = _strip_delimiters(text)
    if "`" in s:
        s = s.replace("`", " ").strip()  # an inline code span: "The answer is `42`."
    for k, v in _UNICODE.items():
        if k in s:
            s = s.replace(k, v)
    if "=>" in s or "\\" in s or "\u21d2" in s or "\u27f9" in s:
        s = _ARROW.sub("=", s)  # "36 + 6 => 42": a chain that ends in its value
    if _SUPERSCRIPT_RE.search(s):  # x² -> x^{2}, 10⁻³ -> 10^{-3}
        s = _SUPERSCRIPT_RE.sub(lambda m: "^{" + "".join(_SUPERSCRIPT[c] for c in m[0]) + "}", s)
    if any(ch in s for ch in _VULGAR):
        s = _VULGAR_RE.sub(_vulgar, s)
    s = notation.rewrite(s)
    s = _unwrap_text_commands(s)
    s = re.sub(r"\\(?:le|leqslant)(?![a-zA-Z])", r"\\leq", s)
    s = re.sub(r"\\(?:ge|geqslant)(?![a-zA-Z])", r"\\geq", s)
    s = re.sub(r"\\ne(?![a-zA-Z])", r"\\neq", s)
    s = s.replace(r"\dots", r"\ldots").replace(r"\cdots", r"\ldots")
    s = _SPACING.sub(" ", s.replace(r"\!", ""))
    s = s.replace(r"\$", " ").replace(r"\#", " ")
    # Degrees: 30^\circ, 30^{\circ}, 30 degrees (the unit list handles words); inside a
    # trigonometric function a degree angle becomes radians (\sin 30^\circ = 1/2).
    if "\\circ" in s and _TRIG.search(s):
        s = _DEGREE_ARG.sub(r"(\1\\pi/180)", s)
    s = re.sub(_DEGREE + r"(?:\s?[CF](?![A-Za-z]))?", " ", s)  # 5^\circ C: Celsius, Fahrenheit
    s = s.replace(r"\circ", " ")
    s = re.sub(r"\s+", " ", s)  # runs of spaces made regexes below backtrack badly
    percent = False
    if "%" in s and re.search(r",|\sor\s", s):  # "0.25, or 25%": each item's own value
        s = _LIST_PERCENT.sub(r"(\1/100)", s)
    if re.search(r"\\?%|\bpercent\b|\bpct\b", s):
        s2 = re.sub(r"\s*(?:\\?%|\bpercent\b|\bpct\b)\s*\.?\s*$", "", s)
        if s2 != s:
            percent = True
            s = s2
    s = words.sets_and_scales(s.strip().rstrip(".").strip())
    for _ in range(3):
        s2 = _TRAILING_UNIT.sub("", s).strip()
        if s2 == s or not s2:
            break
        s = s2
    s = _NUMBER_SHORT_UNIT.sub(r"\1", s)
    s = _THOUSANDS_TEX.sub(r"\1", s)
    if "," in s and not re.search(r"[\[\](){}]", s):
        s = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), s)
    s = _TRAILING_ZEROS.sub(lambda m: m.group(1) or m.group(2), s)
    s = _DANGLING_DOT.sub(r"\1", s)
    s = _strip_braces(re.sub(r"\s+", " ", s).strip())
    t = _CLOCK.match(s)
    clock = f"{int(t.group(1))}:{t.group(2)}" if t else ""
    s = clock or s  # "2:30 PM" -> "2:30"
    s = _strip_braces(notation.whole_answer(s))
    full = s
    if s.count("=") == 1:
        s = _strip_braces(_LEADING_VAR.sub("", s, count=1))
    return Normalized(s, percent, full, clock)


_SIMPLE_VAR = re.compile(r"^\s*([a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+)\s*=")


def leading_variable(n: Normalized) -> str | None:
    """The plain variable of an ``x = ...`` answer whose left side normalisation dropped
    (``x``, ``a_1``, ``\\alpha``; not ``f(x)``), else None."""
    if n.full == n.text:
        return None
    m = _SIMPLE_VAR.match(n.full)
    return re.sub(r"[\s{}]", "", m.group(1)) if m else None


def _strip_braces(s: str) -> str:
    """Redundant outer braces: ``{5}`` -> ``5``."""
    if not (s.startswith("{") and s.endswith("}")):
        return s
    # One pass pairs the braces (peeling a layer at a time rescanned the text: quadratic).
    partner: dict[int, int] = {}
    stack: list[int] = []
    for i, c in enumerate(s):
        if i and s[i - 1] == "\\":
            continue
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            partner[stack.pop()] = i
    i, j = 0, len(s) - 1
    while i < j and s[i] == "{" and s[j] == "}" and partner.get(i) == j:
        i, j = i + 1, j - 1
        while i <= j and s[i].isspace():
            i += 1
        while j >= i and s[j].isspace():
            j -= 1
    return s[i : j + 1]


_MATH_WORD = re.compile(
    r"\\?\b(?:sqrt|sin|cos|tan|cot|sec|csc|log|ln|exp|pi|infty|inf|and|or|frac|cdot|times)\b"
)
_WORD_ANSWER = re.compile(r"^[A-Za-z][A-Za-z '\-]*[A-Za-z]$")


def word_answer(text: str) -> str | None:
    """A normalised answer that is a word or phrase (``Monday``, ``odd``), folded; else None.

    Letters only, with a run of three or more that is not a math name: ``xy`` stays algebra.
    """
    if text.casefold() in _SYNONYMS:
        return _SYNONYMS[text.casefold()]
    if not _WORD_ANSWER.match(text) or not re.search(r"[A-Za-z]{3,}", _MATH_WORD.sub(" ", text)):
        return None
    word = " ".join(text.casefold().split())
    return _SYNONYMS.get(word, word)


# A yes/no answer to a true/false question (and back): the same verdict.
_SYNONYMS = {"yes": "true", "no": "false", "correct": "true", "incorrect": "false"}


_CHOICE = re.compile(r"^\(?\s*([A-J])\s*\)?(?:[.:)]|\s|$)")


def choice_letter(text: str) -> str | None:
    """The multiple-choice letter an answer names (``(B)``, ``B.``, ``B) 12``, ``option C``,
    ``\\text{(C) } 28``, ``（B）``, a lower-case ``(c)``), else None."""
    for s in (_choice_text(text), normalize(text).strip("*").strip()):
        letter = _letter_of(s)
        if letter:
            return letter
    return None


_FULLWIDTH = str.maketrans(
    {"\uff08": "(", "\uff09": ")", "\uff1a": ":", "\uff0e": ".", "\u3002": "."}
)
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|textrm|textnormal|mathrm|mathbf|mbox)\{([^{}]{0,80})\}")
_OPTION_WORD = re.compile(r"^(?:the\s+)?(?:option|choice|answer|\u9009\u9879)\s*[:.]?\s*", re.I)
_LOWER_PAREN = re.compile(r"^\(\s*([a-j])\s*\)(?=\s|[.:]|$)")


def _choice_text(text: str) -> str:
    """The raw answer with only its dress removed (fullwidth brackets, ``\\text{}``, ``$``,
    spacing, "option"): the letter of ``(C) 28`` must be read before normalising drops it."""
    s = _TEXT_WRAP.sub(r"\1", text.translate(_FULLWIDTH))
    s = s.replace("\\ ", " ").replace("~", " ").replace("$", "").strip().strip("*").strip()
    s = _OPTION_WORD.sub("", s)
    m = _LOWER_PAREN.match(s)
    return m.group(1).upper() + s[m.end() :] if m else s


def _letter_of(s: str) -> str | None:
    m = _CHOICE.match(s)
    if not m:
        return None
    rest = s[m.end() :].strip()
    if rest[:1] in ("*", "+", "-", "/", "^", "=", "_", "\\") or re.match(r"[a-z]\b", rest):
        return None  # E*2, B^2, A = 3: an expression, not an option
    if rest and re.search(r"\b(?:or|and)\b|,|[A-J]\)|\b[A-J]\b|\u548c|\u6216|\u53ca|\u3001", rest):
        return None  # "A or B", "A, C": several letters are not one choice
    return m.group(1)
