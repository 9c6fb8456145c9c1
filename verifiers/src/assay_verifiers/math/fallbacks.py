"""The fallbacks of answer extraction, used only when a completion states no answer (see
`extract`): a short completion that is itself an answer (``bare``), the later of the last bold
value and the last math span (``bold`` / ``last_math``), then the last number the text does not
reject or remark on (``last_number``), then the last number in words or a solution set in words.
Every scan is linear in the text (bounded windows, one pass over the numbers from the end).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .number_words import last_number_phrase
from .phrases import MATH_WORDS, NUMBER, WORDY, labelled_parts, reduce_phrase
from .remarks import COMPARATIVE, drop_working
from .spans import Span, math_spans, strip_money
from .words import last_count_word

# Chinese characters that are words, not the "or" / "and" joining values (或, 和)
CJK_WORD = re.compile("[\u3040-\u30ff\u3400-\u548b\u548d-\u6215\u6217-\u9fff]")  # kana too
_CJK_STOP = re.compile("[\uff0c\u3002\uff1b]")  # a Chinese clause or sentence stop

_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z ]{0,30}:\s{0,3}(?=\S)")  # "**Total: 18**"
_HEADING = re.compile(r"(?:step|part|case|stage|method|approach|phase)[ \t]{0,3}\d{1,3}\b", re.I)


def _bold(text: str) -> tuple[int, str] | None:
    last = None
    for m in _BOLD.finditer(text):
        inner = m.group(1).strip()
        if _HEADING.match(inner):
            continue  # "**Step 2: Subtract the eaten ones.**" labels a step, states no value
        if re.search(r"[\d\\=]", inner) or re.fullmatch(r"\(?[A-J]\)?", inner):
            last = (m.start(), inner)
    if last is None:
        return None
    got = reduce_phrase(_LABEL.sub("", last[1]))
    return (last[0], got[-1]) if got else None


def _bare(text: str) -> str | None:
    s = text.strip()
    if not s or len(s) > 120 or "\n" in s or "\\boxed" in s:
        return None
    if WORDY.search(MATH_WORDS.sub(" ", s)) and len(s.split()) > 1:
        return None  # prose; a single word alone ("Tuesday", "No") is an answer
    parts = labelled_parts(s)
    if parts:
        return ", ".join(parts)  # "(a) 5 (b) 6"
    if len(CJK_WORD.findall(s)) >= 3 or (_CJK_STOP.search(s) and CJK_WORD.search(s)):
        return None  # a Chinese sentence ("三角形的面积是 24 平方厘米。"), not an answer itself
    return s.rstrip(".").strip("*").strip() or None  # "**15**": markdown bold


_GLUE = re.compile(
    r"\s{0,3}(?:,|;|and|or|&|\\quad|[\uff0c\u3001\uff1b\u6216\u548c\u53ca])?\s{0,3}(?:and|or)?\s{0,3}"
)  # Chinese glue: fullwidth comma, enumeration comma, semicolon, 或, 和, 及


def _sentence_values(text: str, spans: Sequence[Span]) -> tuple[str, ...]:
    """The math spans holding a digit in the sentence of the last span ("the maximum is $3$,
    the minimum is $-1$": 3, -1): the parts of a multi-part gold, when they are as many."""
    last = spans[-1]
    head = text[max(0, last.start - 300) : last.start]
    ends = list(SENTENCE_END.finditer(head))
    begin = last.start - len(head) + (ends[-1].end() if ends else 0)
    return tuple(s.content for s in spans[-12:] if s.start >= begin and re.search(r"\d", s.content))


def _last_math(text: str) -> tuple[int, str] | None:
    """The last math span, with the values joined to it by only "and", "or" or commas
    (``$x=3$ and $x=5$`` is one answer with two values; a hedge is then judged as one)."""
    spans = math_spans(text)
    if not spans:
        return None
    run = [spans[-1]]
    for s in reversed(spans[:-1]):
        gap = text[s.end : run[0].start]
        if not _GLUE.fullmatch(gap) or not re.search(r"[\d=]", s.content + run[0].content):
            break
        run.insert(0, s)
    return run[0].start, ", ".join(s.content for s in run)


_REJECTED_BEFORE = re.compile(
    r"(?:\bnot(?: equal to| be)?|n't(?: be| equal to)?|\bcannot be|\bnever|\\neq|\u2260)[ \t]{1,3}$",
    re.I,
)
_REJECTED_AFTER = re.compile(
    r"[ \t]{0,3}(?:is|was|would[ \t]be)[ \t]{1,3}(?:wrong|incorrect|not[ \t](?:right|correct|the[ \t]answer))"
    r"|[ \t]{0,3}isn't[ \t](?:right|correct|the[ \t]answer)"
    r"|[ \t]{0,3}\?[ \t\n]{0,3}(?:no|nope)\b",  # "Could the answer be 12? No."
    re.I,
)
_COMPARED_AFTER = re.compile(
    r"[ \t]{1,3}(?:[A-Za-z]{1,15}[ \t]{1,3}){0,2}(?:" + COMPARATIVE + ")", re.I
)
_REMARK_BEFORE = re.compile(
    r"(?:\(|\bwhich[ \t](?:is|was|means)|\bthat(?:'s|[ \t]is|[ \t]was)|\bi\.e\.,?)[^()\n]{0,40}$",
    re.I,
)
_BRACE = re.compile(r"[{}]")
_SET_WORDS = re.compile(
    r"\b(?:all real numbers|every real number|no (?:real )?(?:solutions?|roots))\b", re.I
)
_CLOCK_BEFORE = re.compile(r"(?<![\d:])\d{1,2}:$")
_SCALE_AFTER = re.compile(
    r"[ \t](?:thousand|million|billion|trillion|(?:degrees?[ \t])?below[ \t]zero)\b", re.I
)
_LIST_GLUE = re.compile(r"[ \t]{0,3}(?:,|&|and|,[ \t]{0,3}and)[ \t]{0,3}")
_RANGE_AND = re.compile(r"[ \t]{1,3}and[ \t]{1,3}")
_BETWEEN = re.compile(r"\bbetween[ \t]{1,3}$", re.I)
_OR_BETWEEN = re.compile(
    r"[\s?.,;:!)]{0,6}\b(?:or|maybe|possibly|perhaps)\b[ \t]{0,3}(?:maybe[ \t]{1,3})?", re.I
)


_LONE_NAME = re.compile(r"\s{0,3}[a-zA-Z](?:_\{?\w{1,3}\}?)?\s{0,3}")
_NAMED_VALUE = re.compile(
    r"[ \t]{1,3}(?:equals|is(?:[ \t]equal[ \t]to)?|must[ \t]be|should[ \t]be|=)[ \t]{1,3}(?=\S)",
    re.I,
)
SENTENCE_END = re.compile(r"[.!?\n\u3002](?:\s|$)")


def _span_end(text: str, start: int) -> int:
    """Where the math span opening at ``start`` ends (its closing delimiter included)."""
    for s in math_spans(text[start : start + 300]):
        return start + s.end
    return start


def rest_of_sentence(text: str, start: int) -> str:
    """The rest of the sentence from ``start`` (at most 200 characters)."""
    seg = text[start : start + 200]
    m = SENTENCE_END.search(seg)
    return seg[: m.start()] if m else seg


def _unclosed_from(text: str) -> int:
    """Where the first brace that is never closed opens (the text's length when all close)."""
    opens: list[int] = []
    for m in _BRACE.finditer(text):
        if m.group() == "{":
            opens.append(m.start())
        elif opens:
            opens.pop()
    return opens[0] if opens else len(text)


def _rejected(plain: str, m: re.Match[str]) -> bool:
    """Whether the text rejects the number ``m`` ("not 54", "5 is wrong", "Could it be 12? No.")
    or makes a remark of it ("42 apples, which is 6 more than before")."""
    before = plain[max(0, m.start() - 16) : m.start()]
    if _REJECTED_BEFORE.search(before) or _REJECTED_AFTER.match(plain, m.end(), m.end() + 30):
        return True
    return bool(
        _COMPARED_AFTER.match(plain, m.end(), m.end() + 60)
        and _REMARK_BEFORE.search(plain, max(0, m.start() - 60), m.start())
    )


def _last_number(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The last number the text does not reject ("45, not 54" -> 45; "5 is wrong" -> none),
    with the one before it when "or" joins them (a hedge: "Maybe 12? Or 13?", "6 or 8"); and
    the list of numbers it ends ("2 and 3" -> 2, 3: the parts of a multi-part gold)."""
    plain = strip_money(text)
    plain = plain[: _unclosed_from(plain)]  # "\\boxed{\\boxed{...{7": garbage, not an answer
    plain = drop_working(plain)  # "14 apples (7 red + 7 green)": the working is not the answer
    # Walk back from the last number: only the last two kept ones and the list the text ends
    # with matter, so the per-number checks run on a few numbers, not on all of them.
    numbers = list(NUMBER.finditer(plain))
    kept: list[re.Match[str]] = []  # the kept numbers, last first
    listed: list[str] = []  # the last list "2, 3 and 5" (a multi-part answer, when the gold is)
    open_list = True
    for m in reversed(numbers):
        if _rejected(plain, m):
            continue
        if kept and open_list:
            open_list = len(listed) < 20 and bool(
                _LIST_GLUE.fullmatch(plain, m.end(), kept[-1].start())
            )
            if open_list:
                listed.insert(0, m.group(0))
        elif not kept:
            listed = [m.group(0)]
        kept.append(m)
        if len(kept) >= 2 and not open_list:
            break
    if not kept:
        return (), ()
    kept = kept[:2][::-1]
    last = kept[-1]
    parts = tuple(listed) if len(listed) > 1 else ()
    if len(kept) == 2 and _OR_BETWEEN.fullmatch(plain, kept[0].end(), last.start()):
        return (kept[0].group(0), last.group(0)), parts
    if (
        len(kept) == 2
        and _RANGE_AND.fullmatch(plain, kept[0].end(), last.start())
        and _BETWEEN.search(plain, max(0, kept[0].start() - 12), kept[0].start())
    ):  # "between 7 and 12": a range, both ends (a hedge)
        return (kept[0].group(0), last.group(0)), parts
    scale = _SCALE_AFTER.match(plain, last.end())  # "2.5 million", "5 degrees below zero"
    clock = _CLOCK_BEFORE.search(plain, max(0, last.start() - 3), last.start())
    value = (clock.group(0) if clock else "") + last.group(0)  # "3:45 PM" is 3:45, not 45
    return (value + (scale.group(0) if scale else ""),), parts


# A closing pleasantry ("I hope this helps! Let me know if you have questions about the 3
# items.") is no part of the solution: the fallbacks read the text before it.
_SIGN_OFF = re.compile(
    r"(?:^|(?<=[\n.!?]))[ \t*]{0,3}(?:I[ \t]hope[ \t](?:this|that|it|my)|Hope[ \t](?:this|that)"
    r"|Let[ \t]me[ \t]know[ \t]if|Feel[ \t]free[ \t]to|If[ \t]you[ \t]have[ \t]any"
    r"|Good[ \t]luck|Happy[ \t](?:studying|learning)|Would[ \t]you[ \t]like|Do[ \t]you[ \t]want"
    r"|Shall[ \t]I)\b",
    re.I,
)


def _without_sign_off(text: str) -> str:
    tail = max(0, len(text) - 400)
    m = _SIGN_OFF.search(text, tail)
    return text[: m.start()] if m and text[: m.start()].strip() else text


Found = tuple[tuple[str, ...], str, tuple[str, ...]]  # candidates, method, listed parts


def fallback(text: str, methods: Sequence[str]) -> Found:
    """What a completion that states nothing answers (see the module docstring)."""
    text = _without_sign_off(text)
    if "bare" in methods:
        got = _bare(text)
        if got:
            return (got,), "bare", ()
    late: list[tuple[int, str, str]] = []
    if "bold" in methods:
        b = _bold(text)
        if b:
            late.append((b[0], b[1], "bold"))
    if "last_math" in methods:
        lm = _last_math(text)
        if lm and _LONE_NAME.fullmatch(lm[1]):
            # "Therefore $y$ equals five.": the span names the unknown, its sentence the value
            said = _NAMED_VALUE.match(text, _span_end(text, lm[0]))
            named = reduce_phrase(rest_of_sentence(text, said.end())) if said else ()
            lm = (lm[0], named[-1]) if named else lm
        if lm:
            late.append((lm[0], lm[1], "last_math"))
    if late:
        _, value, method = max(late)
        parts = _sentence_values(text, math_spans(text)) if method == "last_math" else ()
        return (value,), method, parts if len(parts) > 1 else ()
    if "last_number" in methods:
        numbers, parts = _last_number(text)
        if numbers:
            return numbers, "last_number", parts
        count = last_number_phrase(text) or last_count_word(text[-2000:])
        if count:  # "There are twelve eggs left."
            return (count,), "last_number", ()
        sets = _SET_WORDS.findall(text[-2000:])
        if sets:  # "The equation has no solution." states a set in words
            return (sets[-1],), "last_number", ()
    return (), "", ()
